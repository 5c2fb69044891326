import { useState } from "react";
import { Link, useParams } from "react-router";
import { useStrategyPerformance } from "../api/performance";
import { useRuns } from "../api/runs";
import { useRunStrategyNow, useSetStrategyActive, useStrategy } from "../api/strategies";
import { useStrategyPositions } from "../api/strategyPositions";
import { PerformancePanel } from "../components/performance/PerformancePanel/PerformancePanel";
import { CloseAllButton } from "../components/positions/ClosePositions/ClosePositions";
import { OpenPositions } from "../components/positions/OpenPositions/OpenPositions";
import { RunsTable } from "../components/runs/RunsTable/RunsTable";
import { LiveConfirm } from "../components/strategies/LiveConfirm/LiveConfirm";
import {
  StrategyLimits,
  StrategyLlmBudget,
} from "../components/strategies/StrategyLimits/StrategyLimits";
import { StrategySettings } from "../components/strategies/StrategySettings/StrategySettings";
import { CursorPager } from "../components/ui/CursorPager/CursorPager";
import { ErrorState, QueryState } from "../components/ui/QueryState/QueryState";
import { formatDateTime } from "../lib/format";
import { useNumericParam } from "./params";

/**
 * A strategy: Edit, Activate/Deactivate, Run now, its performance (P&L per currency and equity
 * curve, `GET /strategies/{id}/performance/`), its open positions with their stop and target
 * (Close each, or Close all of the strategy, confirmed first with an optional note), its run
 * history and its settings; its automatic triggers (daily loss, drawdown, failed runs in a row)
 * with its latest automatic deactivation and why, and its LLM budgets' use and remainder
 * (`GET /strategies/{id}/llm-budget/`). For a live strategy, Run now and Activate ask for an explicit
 * confirmation first.
 */
export function StrategyPage() {
  const id = useNumericParam(useParams().id);
  const strategy = useStrategy(id);
  const [cursor, setCursor] = useState<string | undefined>();
  const runs = useRuns({ strategy: id, page_size: 25, cursor });
  const performance = useStrategyPerformance(id);
  const open = useStrategyPositions({ strategy: id, status: "open", page_size: 50 });
  const runNow = useRunStrategyNow(id);
  const setActive = useSetStrategyActive(id);
  // A live strategy's "Run now" and "Activate" send real orders: each asks first.
  const [confirming, setConfirming] = useState<"run" | "activate" | null>(null);
  const live = strategy.data?.trading_mode === "live";
  return (
    <div className="page">
      <QueryState query={strategy} errorTitle="Could not load the strategy">
        {(s) => (
          <>
            <div className="page-head">
              <h1>
                {s.name} <span className="muted small mono">{s.slug}</span>{" "}
                <span className={`badge ${s.is_active ? "status-succeeded" : "status-skipped"}`}>
                  {s.is_active ? "active" : "inactive"}
                </span>
                {s.trading_mode === "live" && <span className="badge mode-live">live</span>}
              </h1>
              <div className="actions">
                <Link className="button" to={`/strategies/${s.id}/edit`}>
                  Edit
                </Link>
                <Link className="button" to={`/backtests/new?strategy=${s.id}`}>
                  Backtest…
                </Link>
                <Link className="button" to={`/backtests/replay?strategy=${s.id}`}>
                  Replay runs…
                </Link>
                <button
                  type="button"
                  className={live && !s.is_active ? "live" : undefined}
                  disabled={setActive.isPending}
                  aria-expanded={live && !s.is_active ? confirming === "activate" : undefined}
                  onClick={() =>
                    // Deactivating is always safe; activating a live strategy is confirmed.
                    live && !s.is_active ? setConfirming("activate") : setActive.mutate(!s.is_active)
                  }
                >
                  {setActive.isPending
                    ? s.is_active
                      ? "Deactivating…"
                      : "Activating…"
                    : s.is_active
                      ? "Deactivate"
                      : live
                        ? "Activate…"
                        : "Activate"}
                </button>
                <button
                  type="button"
                  className={live ? "primary live" : "primary"}
                  disabled={runNow.isPending}
                  aria-expanded={live ? confirming === "run" : undefined}
                  onClick={() => (live ? setConfirming("run") : runNow.mutate())}
                >
                  {runNow.isPending ? "Starting…" : live ? "Run now…" : "Run now"}
                </button>
              </div>
            </div>
            {live && (confirming === "run" || (confirming === "activate" && !s.is_active)) && (
              <LiveConfirm
                key={confirming}
                question={
                  confirming === "run"
                    ? "This sends real orders to the live broker. Run now with real money?"
                    : "Once active, every scheduled run sends real orders to the live broker. " +
                      "Activate with real money?"
                }
                onConfirm={() => {
                  if (confirming === "run") runNow.mutate();
                  else setActive.mutate(true);
                  setConfirming(null);
                }}
                onCancel={() => setConfirming(null)}
              />
            )}
            {runNow.isSuccess && (
              <p className="notice" role="status">
                Run <Link to={`/runs/${runNow.data.run_id}`}>#{runNow.data.run_id}</Link> enqueued (
                {runNow.data.status}).
              </p>
            )}
            {runNow.isError && <ErrorState error={runNow.error} title="Could not start a run" />}
            {setActive.isError && (
              <ErrorState
                error={setActive.error}
                title={s.is_active ? "Could not deactivate" : "Could not activate"}
              />
            )}
            <p className="muted small">
              {s.symbol_code} · {s.bar_size} ·{" "}
              {s.is_active
                ? `next run ${formatDateTime(s.next_run_at)}`
                : "not scheduled while inactive"}
            </p>
            <section>
              <h2>Automatic triggers</h2>
              <StrategyLimits strategy={s} />
            </section>
            <section>
              <h2>LLM budget</h2>
              <StrategyLlmBudget strategyId={s.id} />
            </section>
            <section>
              <h2>Performance</h2>
              <QueryState
                query={performance}
                loadingLabel="Loading performance…"
                errorTitle="Could not load the performance"
              >
                {(p) => (
                  <PerformancePanel
                    currencies={p.currencies}
                    label="Strategy performance by currency"
                    empty="No positions yet: the figures appear once the strategy has opened a position."
                  />
                )}
              </QueryState>
            </section>
            <section>
              <h2>Open positions</h2>
              <QueryState
                query={open}
                loadingLabel="Loading positions…"
                errorTitle="Could not load the open positions"
                isEmpty={(d) => d.results.length === 0}
                empty="No open position."
              >
                {(d) => (
                  <>
                    <OpenPositions positions={d.results} />
                    <div className="actions">
                      <CloseAllButton
                        scope={{ strategy: s.id }}
                        what={`strategy ${s.name}`}
                        label="Close all of this strategy"
                      />
                    </div>
                  </>
                )}
              </QueryState>
            </section>
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
