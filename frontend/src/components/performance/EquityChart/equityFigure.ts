import type { CurrencyPerformance } from "../../../api/performance";
import type { Figure } from "../../lineage/ChartView/PlotlyFigure";

/** Pixel height of one currency's block (equity above, drawdown below) in the figure. */
export const BLOCK_HEIGHT = 400;
/** Pixels for the legend above and the date axis below (one currency: 480 px, the card's). */
const FRAME_HEIGHT = 80;

/**
 * The Plotly figure of the equity curves: for each currency (in the input's order), its equity
 * (a line, in that currency) and its drawdown below it (≥ 0, on a reversed axis so it hangs
 * from zero like an underwater chart, filled), on
 * the currency's own y axes — currencies are never added nor share an axis. All blocks share
 * the date axis. Input: the API's currencies (decimal strings); values are converted to numbers
 * for drawing only. Currencies without equity points draw nothing.
 */
export function equityFigure(currencies: readonly CurrencyPerformance[]): Figure {
  const drawn = currencies.filter((c) => c.equity.length > 0);
  const n = drawn.length;
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    height: Math.max(1, n) * BLOCK_HEIGHT + FRAME_HEIGHT,
    showlegend: true,
    legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom" },
    hovermode: "x unified",
    xaxis: { type: "date", anchor: n > 0 ? `y${2 * n}` : "y" },
  };
  drawn.forEach((c, i) => {
    const eq = 2 * i + 1;
    const dd = 2 * i + 2;
    const ref = (k: number) => (k === 1 ? "y" : `y${k}`);
    const axis = (k: number) => (k === 1 ? "yaxis" : `yaxis${k}`);
    // Block i of n, from the top: equity on its upper 60%, drawdown on the next 25%.
    const h = 1 / n;
    const bottom = 1 - (i + 1) * h;
    const dates = c.equity.map((p) => p.date);
    data.push({
      type: "scatter",
      mode: "lines",
      name: `Equity ${c.currency}`,
      legendgroup: c.currency,
      x: dates,
      y: c.equity.map((p) => Number(p.equity)),
      xaxis: "x",
      yaxis: ref(eq),
      hovertemplate: `%{y:,.2f} ${c.currency}<extra>Equity ${c.currency}</extra>`,
    });
    data.push({
      type: "scatter",
      mode: "lines",
      name: `Drawdown ${c.currency}`,
      legendgroup: c.currency,
      x: dates,
      y: c.equity.map((p) => Number(p.drawdown)),
      fill: "tozeroy",
      line: { color: "#c0392b", width: 1 },
      xaxis: "x",
      yaxis: ref(dd),
      hovertemplate: `%{y:,.2f} ${c.currency}<extra>Drawdown ${c.currency}</extra>`,
    });
    layout[axis(eq)] = {
      title: { text: `Equity (${c.currency})` },
      domain: [bottom + 0.4 * h, bottom + (i === 0 ? h : 0.95 * h)],
      anchor: "x",
      automargin: true,
    };
    layout[axis(dd)] = {
      title: { text: `Drawdown (${c.currency})` },
      domain: [bottom + (i === n - 1 ? 0 : 0.1 * h), bottom + 0.35 * h],
      anchor: "x",
      automargin: true,
      rangemode: "tozero",
      autorange: "reversed",
    };
  });
  return { data, layout };
}
