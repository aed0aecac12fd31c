"""What the alpaca-py scripts share: the venue's address and keys from the environment AlpacaSDKTests
sets, and the checks, which stop the script at the first failure with what was found."""

import os
import sys

from alpaca.common.exceptions import APIError

URL = os.environ["BOURSE_URL"]
TRADER = (os.environ["TRADER_KEY"], os.environ["TRADER_SECRET"])
MAKER = (os.environ["MAKER_KEY"], os.environ["MAKER_SECRET"])
BROKER = (os.environ["BROKER_KEY"], os.environ["BROKER_SECRET"])


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)


class Coverage:
    """The SDK methods a script used, printed as it goes and summed up at the end."""

    def __init__(self, client):
        self.client, self.methods = client, []

    def covers(self, method):
        self.methods.append(method)
        print(f"covered {self.client}.{method}", flush=True)

    def summary(self):
        print(f"{self.client} methods covered: {len(self.methods)}: {', '.join(self.methods)}", flush=True)


def refused(call, status, words):
    """The call raises the SDK's APIError with this status and a message containing `words`."""
    try:
        call()
    except APIError as error:
        check(error.status_code == status and words in str(error.message), f"{status} {words!r}: got {error.status_code} {error.message!r}")
        return
    check(False, f"expected {status} {words!r}, the call succeeded")
