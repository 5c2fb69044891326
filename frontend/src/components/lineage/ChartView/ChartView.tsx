import { lazy, Suspense } from "react";
import { useArtifactJson } from "../../../api/runs";
import type { Artifact } from "../../../api/types";
import { Empty, ErrorState, Loading } from "../../ui/QueryState/QueryState";
import type { Figure } from "./PlotlyFigure";

const PlotlyFigure = lazy(() => import("./PlotlyFigure"));

/** The charts step's `chart_json` artifact, fetched and drawn with Plotly. */
export function ChartView({ artifact }: { artifact: Artifact | undefined }) {
  const query = useArtifactJson<Figure>(artifact?.id);
  if (!artifact) return <Empty>No chart for this run (the charts step did not produce one).</Empty>;
  if (query.isPending) return <Loading label="Loading chart…" />;
  if (query.isError) return <ErrorState error={query.error} title="Could not load the chart" />;
  return (
    <Suspense fallback={<Loading label="Loading Plotly…" />}>
      <PlotlyFigure figure={query.data} />
    </Suspense>
  );
}
