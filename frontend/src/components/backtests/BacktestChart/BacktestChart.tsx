import { lazy, Suspense, useMemo } from "react";
import type { BacktestSeries } from "../../../api/backtests";
import { Empty, Loading } from "../../ui/QueryState/QueryState";
import { backtestFigure } from "./backtestFigure";

const PlotlyFigure = lazy(() => import("../../lineage/ChartView/PlotlyFigure"));

/** Equity curves and drawdowns of a backtest's variants and buy-and-hold, overlaid (Plotly). */
export function BacktestChart({ series }: { series: BacktestSeries }) {
  const figure = useMemo(() => backtestFigure(series), [series]);
  if (!series.series.some((s) => s.points.length > 0))
    return <Empty>No trading day in the window yet: no equity curve.</Empty>;
  return (
    <Suspense fallback={<Loading label="Loading Plotly…" />}>
      <PlotlyFigure figure={figure} />
    </Suspense>
  );
}
