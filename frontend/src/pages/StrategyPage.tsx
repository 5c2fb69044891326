import { useState } from "react";
import { Link, useParams } from "react-router";
import { useRuns } from "../api/runs";
import { useRunStrategyNow, useStrategy } from "../api/strategies";
import { RunsTable } from "../components/runs/RunsTable/RunsTable";
import { StrategySettings } from "../components/strategies/StrategySettings/StrategySettings";
import { CursorPager } from "../components/ui/CursorPager/CursorPager";
import { ErrorState, QueryState } from "../components/ui/QueryState/QueryState";
import { useNumericParam } from "./params";

export function StrategyPage() {
  const id = useNumericParam(useParams().id);
  const strategy = useStrategy(id);
  const [cursor, setCursor] = useState<string | undefined>();
  const runs = useRuns({ strategy: id, page_size: 25, cursor });
  const runNow = useRunStrategyNow(id);
  return (
    <div className="page">
      <QueryState query={strategy} errorTitle="Could not load the strategy">
        {(s) => (
          <>
            <div className="page-head">
              <h1>
                {s.name} <span className="muted small mono">{s.slug}</span>
              </h1>
              <div className="actions">
                <button
                  type="button"
                  className="primary"
                  disabled={runNow.isPending}
                  onClick={() => runNow.mutate()}
                >
                  {runNow.isPending ? "Starting…" : "Run now"}
                </button>
              </div>
            </div>
            {runNow.isSuccess && (
              <p className="notice" role="status">
                Run <Link to={`/runs/${runNow.data.run_id}`}>#{runNow.data.run_id}</Link> enqueued (
                {runNow.data.status}).
              </p>
            )}
            {runNow.isError && <ErrorState error={runNow.error} title="Could not start a run" />}
            <section>
              <h2>Run history</h2>
              <QueryState query={runs} isEmpty={(d) => d.results.length === 0} empty="No runs yet.">
                {(d) => (
                  <>
                    <RunsTable runs={d.results} />
                    <CursorPager next={d.next} previous={d.previous} onCursor={setCursor} />
                  </>
                )}
              </QueryState>
            </section>
            <section>
              <h2>Settings</h2>
              <StrategySettings strategy={s} />
            </section>
          </>
        )}
      </QueryState>
    </div>
  );
}
