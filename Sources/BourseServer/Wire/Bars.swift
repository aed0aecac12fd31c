import BourseCore
import BourseMarketData

extension Bar {
    /// Alpaca's bar object; prices as exact JSON numbers.
    var json: String {
        #"{"t":"\#(API.time(Timestamp(nanos: start)))","o":\#(API.decimal(open)),"h":\#(API.decimal(high)),"l":\#(API.decimal(low)),"c":\#(API.decimal(close)),"v":\#(volume),"n":\#(trades),"vw":\#(API.decimal(vwap))}"#
    }
}
