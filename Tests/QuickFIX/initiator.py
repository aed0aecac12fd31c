"""QuickFIX's own initiator (the quickfix-ssl wheel) against a running Bourse, unchanged.

Three sessions log on to the venue: TRADER1 and TRADER2 trade (accounts 1 and 2), DROPCOPY follows every
account. TRADER1 places, replaces and cancels orders of several types and has them filled by TRADER2; then
TRADER1 and DROPCOPY disconnect, TRADER1 forgets the last messages it received (as a client that crashed
before processing them), trades happen while both are away, and on reconnecting TRADER1 asks for and gets
the resends, and both get the executions they missed. Exits non-zero naming the first expectation that
failed.

usage: initiator.py PORT CREDENTIALS_JSON FIX44_XML WORK_DIR
"""
import json
import os
import sys
import threading
import time

import quickfix as fix
import quickfix44 as fix44

port, credentials, dictionary, work = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
passwords = {c["fix_session"]: c["password"] for c in json.load(open(credentials)) if "fix_session" in c}


class Venue(fix.Application):
    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()
        self.received = {"TRADER1": [], "TRADER2": [], "DROPCOPY": []}
        self.logged_on = set()
        self.sessions = {}

    def onCreate(self, session):
        self.sessions[session.getSenderCompID().getValue()] = session

    def onLogon(self, session):
        with self.lock:
            self.logged_on.add(session.getSenderCompID().getValue())

    def onLogout(self, session):
        with self.lock:
            self.logged_on.discard(session.getSenderCompID().getValue())

    def toAdmin(self, message, session):
        if message.getHeader().getField(35) == "A":
            message.setField(fix.StringField(554, passwords[session.getSenderCompID().getValue()]))

    def fromAdmin(self, message, session):
        pass

    def toApp(self, message, session):
        pass

    def fromApp(self, message, session):
        fields = {}
        for tag in (35, 11, 41, 17, 150, 39, 14, 151, 32, 31, 1, 103, 102, 434, 58, 37):
            header = message.getHeader() if tag == 35 else message
            if header.isSetField(tag):
                fields[tag] = header.getField(tag)
        fields["possdup"] = message.getHeader().isSetField(43) and message.getHeader().getField(43) == "Y"
        with self.lock:
            self.received[session.getSenderCompID().getValue()].append(fields)


def settings_file():
    path = os.path.join(work, "initiator.cfg")
    sessions = "".join(f"[SESSION]\nSenderCompID={name}\n" for name in ("TRADER1", "TRADER2", "DROPCOPY"))
    open(path, "w").write(f"""[DEFAULT]
ConnectionType=initiator
BeginString=FIX.4.4
TargetCompID=BOURSE
SocketConnectHost=127.0.0.1
SocketConnectPort={port}
HeartBtInt=30
ReconnectInterval=1
StartTime=00:00:00
EndTime=00:00:00
FileStorePath={work}/store
FileLogPath={work}/log
UseDataDictionary=Y
DataDictionary={dictionary}
{sessions}""")
    return path


def fail(text):
    print("FAIL: " + text, flush=True)
    # QuickFIX's threads are still running: leave without tearing them down.
    os._exit(1)


def wait(condition, what, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with app.lock:
            if condition():
                return
        time.sleep(0.05)
    with app.lock:
        fail(f"timed out waiting for {what}; TRADER1 received {app.received['TRADER1'][-5:]}")


def now():
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime())


def send(session, message):
    fix.Session.sendToTarget(message, app.sessions[session])


def new_order(session, clordid, side, ordtype, qty, price=None, stop=None, tif="0", extra=()):
    m = fix44.NewOrderSingle()
    m.setField(fix.StringField(11, clordid))
    m.setField(fix.StringField(55, "AAPL"))
    m.setField(fix.StringField(54, side))
    m.setField(fix.StringField(60, now()))
    m.setField(fix.StringField(40, ordtype))
    m.setField(fix.StringField(38, str(qty)))
    m.setField(fix.StringField(59, tif))
    if price:
        m.setField(fix.StringField(44, price))
    if stop:
        m.setField(fix.StringField(99, stop))
    for tag, value in extra:
        m.setField(fix.StringField(tag, value))
    send(session, m)


def reports(session, clordid):
    return [r for r in app.received[session] if r.get(35) == "8" and r.get(11) == clordid]


def exec_types(session, clordid):
    return [r[150] for r in reports(session, clordid) if not r["possdup"]]


def expect(condition, text):
    if not condition:
        fail(text)


app = Venue()
settings = fix.SessionSettings(settings_file())
initiator = fix.SocketInitiator(app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings))
initiator.start()
wait(lambda: len(app.logged_on) == 3, "the three sessions to log on")

# Orders of several types, each acknowledged.
new_order("TRADER1", "L1", "1", "2", 100, price="185", tif="1")
wait(lambda: exec_types("TRADER1", "L1") == ["0"], "L1 new")
r = fix44.OrderCancelReplaceRequest()
for tag, value in ((41, "L1"), (11, "L1R"), (55, "AAPL"), (54, "1"), (60, now()), (40, "2"), (38, "150"), (44, "186"), (59, "1")):
    r.setField(fix.StringField(tag, value))
send("TRADER1", r)
wait(lambda: exec_types("TRADER1", "L1R") == ["5"], "L1 replaced by L1R")
expect(reports("TRADER1", "L1R")[0].get(41) == "L1", "the replace names OrigClOrdID L1")
c = fix44.OrderCancelRequest()
for tag, value in ((41, "L1R"), (11, "C1"), (55, "AAPL"), (54, "1"), (60, now())):
    c.setField(fix.StringField(tag, value))
send("TRADER1", c)
wait(lambda: exec_types("TRADER1", "C1") == ["4"], "L1R cancelled")
new_order("TRADER1", "STOP1", "2", "3", 10, stop="170")
new_order("TRADER1", "STOPLIMIT1", "1", "4", 10, price="201", stop="200")
new_order("TRADER1", "ICE1", "1", "2", 500, price="184", extra=((111, "100"),))
new_order("TRADER1", "POST1", "1", "2", 10, price="183", extra=((18, "6"),))
new_order("TRADER1", "GTD1", "1", "2", 10, price="182", tif="6",
          extra=((126, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(time.time() + 3600))),))
new_order("TRADER1", "FOK1", "1", "2", 10, price="150", tif="4")
new_order("TRADER1", "PEG1", "1", "P", 10)
for clordid in ("STOP1", "STOPLIMIT1", "ICE1", "POST1", "GTD1"):
    wait(lambda: exec_types("TRADER1", clordid) == ["0"], f"{clordid} new")
wait(lambda: exec_types("TRADER1", "FOK1") == ["0", "4"], "FOK1 new, then cancelled")
wait(lambda: exec_types("TRADER1", "PEG1") == ["8"], "PEG1 rejected")
expect("OrdType(40) P" in reports("TRADER1", "PEG1")[0].get(58, ""), "the rejection names OrdType(40)")
c = fix44.OrderCancelRequest()
for tag, value in ((41, "NO-SUCH-ORDER"), (11, "C2"), (55, "AAPL"), (54, "1"), (60, now())):
    c.setField(fix.StringField(tag, value))
send("TRADER1", c)
wait(lambda: any(r.get(35) == "9" and r.get(11) == "C2" for r in app.received["TRADER1"]), "the cancel of an unknown order refused")
refusal = [r for r in app.received["TRADER1"] if r.get(35) == "9" and r.get(11) == "C2"][0]
expect(refusal.get(102) == "1" and refusal.get(434) == "1", f"OrderCancelReject names an unknown order: {refusal}")

# TRADER2 sells into the iceberg: TRADER1's order fills in part.
new_order("TRADER2", "SELL1", "2", "2", 150, price="184")
wait(lambda: exec_types("TRADER2", "SELL1")[-1:] == ["F"] and reports("TRADER2", "SELL1")[-1].get(39) == "2", "SELL1 filled")
wait(lambda: sum(int(r.get(32, 0)) for r in reports("TRADER1", "ICE1") if r[150] == "F") == 150, "ICE1 filled 150")
expect(reports("TRADER1", "ICE1")[-1].get(39) == "1" and reports("TRADER1", "ICE1")[-1].get(14) == "150", "ICE1 partly filled")

# TRADER1 and DROPCOPY go away; TRADER1 forgets the last three messages it received.
received_before = len(app.received["TRADER1"])
for name in ("TRADER1", "DROPCOPY"):
    fix.Session.lookupSession(app.sessions[name]).logout()
wait(lambda: "TRADER1" not in app.logged_on and "DROPCOPY" not in app.logged_on, "TRADER1 and DROPCOPY logged out")
trader1 = fix.Session.lookupSession(app.sessions["TRADER1"])
trader1.setNextTargetMsgSeqNum(trader1.getExpectedTargetNum() - 3)

# Trades while they are away: the rest of the iceberg fills.
new_order("TRADER2", "SELL2", "2", "2", 350, price="184")
wait(lambda: reports("TRADER2", "SELL2") and reports("TRADER2", "SELL2")[-1].get(39) == "2", "SELL2 filled")

for name in ("TRADER1", "DROPCOPY"):
    fix.Session.lookupSession(app.sessions[name]).logon()
wait(lambda: "TRADER1" in app.logged_on and "DROPCOPY" in app.logged_on, "TRADER1 and DROPCOPY back")
wait(lambda: reports("TRADER1", "ICE1")[-1].get(39) == "2", "ICE1's fills from while TRADER1 was away")
resent = [r for r in app.received["TRADER1"][received_before:] if r["possdup"]]
expect(len(resent) >= 1, "TRADER1 got no resent messages after forgetting three")
expect(reports("TRADER1", "ICE1")[-1].get(14) == "500", "ICE1's cumulative quantity is 500")

# The drop copy saw every execution report of account 1 that TRADER1 was told by the venue, in the journal's
# order (ExecID is the entry and the report's place in it); TRADER1 is told of its own new orders at once, so
# its order may differ where two orders' reports interleave.
time.sleep(0.5)
with app.lock:
    def venue_reports(session, account):
        seen, out = set(), []
        for r in app.received[session]:
            exec_id = r.get(17, "")
            if r.get(35) == "8" and r.get(1) == account and not exec_id.startswith("R-") and exec_id not in seen:
                seen.add(exec_id)
                out.append(exec_id)
        return out
    traded = venue_reports("TRADER1", "1")
    copied = venue_reports("DROPCOPY", "1")
    def journal_order(ids):
        return sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")))
    expect(copied == journal_order(copied), f"the drop copy's reports are not in the journal's order: {copied}")
    expect(sorted(copied) == sorted(traded), f"the drop copy's reports of account 1 differ: {copied} vs {traded}")
    expect(sorted(venue_reports("DROPCOPY", "2")) == sorted(venue_reports("TRADER2", "2")), "the drop copy's reports of account 2 differ")
    summary = {name: len(app.received[name]) for name in app.received}
initiator.stop()
print(f"PASS: {summary} messages; {len(traded)} reports of account 1 on both sessions; {len(resent)} resent to TRADER1")
