import type { BacktestSeries } from "../../../api/backtests";
import type { Figure } from "../../lineage/ChartView/PlotlyFigure";

/** A line color per variant (buy-and-hold is grey and dashed). */
export const VARIANT_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];
const REFERENCE_COLOR = "#7f7f7f";

/**
 * The Plotly figure of a backtest: every curve's daily equity on the upper axis and its
 * drawdown (≥ 0, money, on a reversed axis so it hangs from zero) on the lower one, sharing
 * the date axis; the variants overlaid in their order, buy-and-hold (``variant`` null) dashed
 * grey. Money in ``series.currency``; decimal strings become numbers for drawing only.
 * Curves without points draw nothing.
 */
export function backtestFigure(series: BacktestSeries): Figure {
  const data: Record<string, unknown>[] = [];
  let colorIndex = 0;
  for (const curve of series.series) {
    if (curve.points.length === 0) continue;
    const reference = curve.variant === null;
    const color = reference ? REFERENCE_COLOR : VARIANT_COLORS[colorIndex++ % VARIANT_COLORS.length];
    const name = reference ? curve.label : `${curve.variant}. ${curve.label}`;
    const days = curve.points.map((p) => p.day);
    const line = { color, width: reference ? 1.5 : 2, ...(reference ? { dash: "dash" } : {}) };
    data.push({
      type: "scatter",
      mode: "lines",
      name,
      legendgroup: name,
      x: days,
      y: curve.points.map((p) => Number(p.equity)),
      xaxis: "x",
      yaxis: "y",
      line,
      hovertemplate: `%{y:,.2f} ${series.currency}<extra>${name}</extra>`,
    });
    data.push({
      type: "scatter",
      mode: "lines",
      name: `${name} drawdown`,
      legendgroup: name,
      showlegend: false,
      x: days,
      y: curve.points.map((p) => Number(p.drawdown)),
      xaxis: "x",
      yaxis: "y2",
      line: { ...line, width: 1 },
      hovertemplate: `%{y:,.2f} ${series.currency}<extra>${name} drawdown</extra>`,
    });
  }
  return {
    data,
    layout: {
      height: 560,
      showlegend: true,
      legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom" },
      hovermode: "x unified",
      xaxis: { type: "date", anchor: "y2" },
      yaxis: { title: { text: `Equity (${series.currency})` }, domain: [0.38, 1], anchor: "x", automargin: true },
      yaxis2: {
        title: { text: `Drawdown (${series.currency})` },
        domain: [0, 0.3],
        anchor: "x",
        automargin: true,
        rangemode: "tozero",
        autorange: "reversed",
      },
    },
  };
}
