/// The FIX 4.4 tags Bourse reads or writes, by their specification names.
public enum Tag {
    public static let account = 1
    public static let avgPx = 6
    public static let beginSeqNo = 7
    public static let beginString = 8
    public static let bodyLength = 9
    public static let checkSum = 10
    public static let clOrdID = 11
    public static let cumQty = 14
    public static let currency = 15
    public static let endSeqNo = 16
    public static let execID = 17
    public static let execInst = 18
    public static let handlInst = 21
    public static let securityIDSource = 22
    public static let lastMkt = 30
    public static let lastPx = 31
    public static let lastQty = 32
    public static let msgSeqNum = 34
    public static let msgType = 35
    public static let newSeqNo = 36
    public static let orderID = 37
    public static let orderQty = 38
    public static let ordStatus = 39
    public static let ordType = 40
    public static let origClOrdID = 41
    public static let possDupFlag = 43
    public static let price = 44
    public static let refSeqNum = 45
    public static let securityID = 48
    public static let senderCompID = 49
    public static let senderSubID = 50
    public static let sendingTime = 52
    public static let side = 54
    public static let symbol = 55
    public static let targetCompID = 56
    public static let targetSubID = 57
    public static let text = 58
    public static let timeInForce = 59
    public static let transactTime = 60
    public static let settlType = 63
    public static let settlDate = 64
    public static let tradeDate = 75
    public static let possResend = 97
    public static let encryptMethod = 98
    public static let stopPx = 99
    public static let cxlRejReason = 102
    public static let ordRejReason = 103
    public static let heartBtInt = 108
    public static let minQty = 110
    public static let maxFloor = 111
    public static let testReqID = 112
    public static let onBehalfOfCompID = 115
    public static let origSendingTime = 122
    public static let gapFillFlag = 123
    public static let expireTime = 126
    public static let deliverToCompID = 128
    public static let resetSeqNumFlag = 141
    public static let execType = 150
    public static let leavesQty = 151
    public static let cashOrderQty = 152
    public static let securityType = 167
    public static let secondaryExecID = 527
    public static let massCancelRequestType = 530
    public static let massCancelResponse = 531
    public static let massCancelRejectReason = 532
    public static let totalAffectedOrders = 533
    public static let username = 553
    public static let password = 554
    public static let noSides = 552
    public static let tradeReportID = 571
    public static let previouslyReported = 570
    public static let matchStatus = 573
    public static let tradeReportTransType = 487
    public static let tradeReportType = 856
    public static let trdRptStatus = 939
    public static let tradeReportRejectReason = 751
    public static let subscriptionRequestType = 263
    public static let tradeRequestID = 568
    public static let tradeRequestType = 569
    public static let refTagID = 371
    public static let refMsgType = 372
    public static let sessionRejectReason = 373
    public static let businessRejectRefID = 379
    public static let businessRejectReason = 380
    public static let cxlRejResponseTo = 434
    public static let massStatusReqID = 584
    public static let ordStatusReqID = 790
    public static let lastRptRequested = 912
    public static let totNumReports = 911
    public static let execRestatementReason = 378
    public static let noPartyIDs = 453
    public static let partyID = 448
    public static let partyIDSource = 447
    public static let partyRole = 452
    public static let lastLiquidityInd = 851
    public static let commission = 12
    public static let commType = 13
    /// Bourse's own: how an order meets a resting order of its own account (see `SelfTradePrevention`).
    /// In the user-defined range the specification leaves to counterparties (5000–9999).
    public static let selfTradePrevention = 7928
    /// Bourse's own: a trailing stop's offset, in dollars (`7929`) or in basis points of the best price (`7930`).
    public static let trailingOffset = 7929
    public static let trailingOffsetBasisPoints = 7930
}

/// MsgType (35) values.
public enum MsgType {
    public static let heartbeat = "0"
    public static let testRequest = "1"
    public static let resendRequest = "2"
    public static let reject = "3"
    public static let sequenceReset = "4"
    public static let logout = "5"
    public static let executionReport = "8"
    public static let orderCancelReject = "9"
    public static let logon = "A"
    public static let newOrderSingle = "D"
    public static let orderCancelRequest = "F"
    public static let orderCancelReplaceRequest = "G"
    public static let orderStatusRequest = "H"
    public static let businessMessageReject = "j"
    public static let orderMassCancelRequest = "q"
    public static let orderMassCancelReport = "r"
    public static let tradeCaptureReport = "AE"
    public static let tradeCaptureReportAck = "AR"

    /// Session-level messages: never resent, a gap fill stands for them.
    public static func isAdministrative(_ type: String) -> Bool {
        type.utf8.count == 1 && "0123457A".contains(type)
    }
}

/// SessionRejectReason (373) values, as the Reject message names them.
public enum SessionRejectReason: Int, Sendable {
    case invalidTagNumber = 0
    case requiredTagMissing = 1
    case tagNotDefinedForMessageType = 2
    case undefinedTag = 3
    case tagWithoutValue = 4
    case valueIncorrect = 5
    case incorrectDataFormat = 6
    case compIDProblem = 9
    case sendingTimeAccuracyProblem = 10
    case invalidMsgType = 11
    case tagAppearsMoreThanOnce = 13
    case tagOutOfOrder = 14
    case repeatingGroupOutOfOrder = 15
    case incorrectNumInGroupCount = 16
    case other = 99
}
