import { lazy, Suspense, useMemo } from "react";
import type { CurrencyPerformance } from "../../../api/performance";
import { Empty, Loading } from "../../ui/QueryState/QueryState";
import { equityFigure } from "./equityFigure";

const PlotlyFigure = lazy(() => import("../../lineage/ChartView/PlotlyFigure"));

/**
 * The daily equity curve and drawdown of each currency, drawn with Plotly (loaded on demand,
 * as the run page's chart is). Currencies stay apart: one equity and one drawdown trace each,
 * on their own axes.
 */
export function EquityChart({ currencies }: { currencies: readonly CurrencyPerformance[] }) {
  const figure = useMemo(() => equityFigure(currencies), [currencies]);
  if (!currencies.some((c) => c.equity.length > 0))
    return <Empty>No equity curve yet.</Empty>;
  return (
    <Suspense fallback={<Loading label="Loading Plotly…" />}>
      <PlotlyFigure figure={figure} />
    </Suspense>
  );
}
