import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { backtestOrigin, type BacktestStatus, useBacktests } from "../api/backtests";
import { useStrategies } from "../api/strategies";
import { percentDone } from "../components/backtests/BacktestProgress/BacktestProgress";
import { QueryState } from "../components/ui/QueryState/QueryState";
import { StatusBadge } from "../components/ui/StatusBadge/StatusBadge";
import { formatDateTime } from "../lib/format";

const STATUSES: readonly BacktestStatus[] = ["pending", "running", "done", "failed", "cancelled"];

/** A window's days (UTC dates) as "2012-03-01 → 2012-06-30". */
export const windowText = (start: string, end: string) =>
  `${start.slice(0, 10)} → ${end.slice(0, 10)}`;

/**
 * Backtests and replays of your strategies (staff: all), newest first, 50 a page; filters
 * status and strategy (`?strategy=<id>` preselects one). A replay says what it replays
 * ("Replay of backtest N" or "of <strategy>'s runs"); an anonymised one says so. Polls while
 * one is pending or running.
 */
export function BacktestsPage() {
  const [params, setParams] = useSearchParams();
  const strategy = Number(params.get("strategy")) || undefined;
  const [status, setStatus] = useState<BacktestStatus | "">("");
  const [page, setPage] = useState(1);
  const strategies = useStrategies({ page_size: 200 });
  const backtests = useBacktests({
    page,
    page_size: 50,
    ...(status ? { status } : {}),
    ...(strategy ? { strategy } : {}),
  });
  return (
    <div className="page">
      <div className="page-head">
        <h1>Backtests</h1>
        <div className="actions">
          <Link
            className="button"
            to={strategy ? `/backtests/replay?strategy=${strategy}` : "/backtests/replay"}
          >
            Replay runs…
          </Link>
          <Link
            className="button primary"
            to={strategy ? `/backtests/new?strategy=${strategy}` : "/backtests/new"}
          >
            New backtest
          </Link>
        </div>
      </div>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select
            value={status}
            onChange={(e) => {
              setStatus(e.target.value as BacktestStatus | "");
              setPage(1);
            }}
          >
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Strategy
          <select
            value={strategy ?? ""}
            onChange={(e) => {
              setParams(e.target.value ? { strategy: e.target.value } : {});
              setPage(1);
            }}
          >
            <option value="">all</option>
            {strategies.data?.results.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
      </form>
      <QueryState
        query={backtests}
        isEmpty={(d) => d.results.length === 0}
        empty="No backtests yet."
        errorTitle="Could not load backtests"
      >
        {(d) => (
          <>
            <div className="table-wrap">
              <table aria-label="Backtests">
                <thead>
                  <tr>
                    <th>Backtest</th>
                    <th>Strategy</th>
                    <th>Window</th>
                    <th>Variants</th>
                    <th className="num">Progress</th>
                    <th>Status</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {d.results.map((b) => {
                    const done = b.variants.reduce((n, v) => n + v.slots_done, 0);
                    const total = b.variants.reduce((n, v) => n + v.slots_total, 0);
                    return (
                      <tr key={b.id} data-testid={`backtest-row-${b.id}`}>
                        <td data-label="Backtest">
                          <Link to={`/backtests/${b.id}`}>#{b.id}</Link>
                          {b.kind === "replay" && (
                            <>
                              {" "}
                              <span className="badge kind-replay">replay</span>
                              <div className="muted small">{backtestOrigin(b)}</div>
                            </>
                          )}
                          {b.anonymise && (
                            <div className="muted small" title="No ticker or date shown to the model">
                              anonymised
                            </div>
                          )}
                        </td>
                        <td data-label="Strategy">
                          <Link to={`/strategies/${b.strategy}`}>{b.strategy_name}</Link>{" "}
                          <span className="muted small">{b.symbol}</span>
                        </td>
                        <td data-label="Window">{windowText(b.start, b.end)}</td>
                        <td data-label="Variants">{b.variants.map((v) => v.label).join(", ")}</td>
                        <td data-label="Progress" className="num">
                          {done} / {total} ({percentDone(done, total)}%)
                        </td>
                        <td data-label="Status">
                          <StatusBadge status={b.status} />
                        </td>
                        <td data-label="Created">{formatDateTime(b.created_at)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            <div className="pager">
              <button type="button" disabled={!d.previous} onClick={() => setPage((p) => p - 1)}>
                Previous
              </button>
              <button type="button" disabled={!d.next} onClick={() => setPage((p) => p + 1)}>
                Next
              </button>
            </div>
          </>
        )}
      </QueryState>
    </div>
  );
}
