// plotly.js-finance-dist-min (scatter, bar, candlestick, ohlc, …: the trace types the charts
// step stores) ships no types; it has the same API as the full bundle.
declare module "plotly.js-finance-dist-min" {
  import Plotly = require("plotly.js-dist-min");
  export = Plotly;
}
