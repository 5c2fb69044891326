import { Link } from "react-router";
import { useRuns } from "../../../api/runs";
import type { Strategy } from "../../../api/types";
import { formatDateTime } from "../../../lib/format";
import { StatusBadge } from "../../ui/StatusBadge/StatusBadge";

/** Active strategies with their symbol, last run status and next schedule slot. */
export function ActiveStrategies({ strategies }: { strategies: readonly Strategy[] }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Strategy</th>
            <th>Symbol</th>
            <th>Last run</th>
            <th>Next slot</th>
          </tr>
        </thead>
        <tbody>
          {strategies.map((s) => (
            <StrategyRow key={s.id} strategy={s} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function StrategyRow({ strategy: s }: { strategy: Strategy }) {
  const runs = useRuns({ strategy: s.id, page_size: 1 });
  const last = runs.data?.results[0];
  return (
    <tr>
      <td data-label="Strategy">
        <Link to={`/strategies/${s.id}`}>{s.name}</Link>
      </td>
      <td data-label="Symbol">
        {/* One element: stacked phone cards spread a cell's children apart. */}
        <span>
          {s.symbol_code} <span className="muted small">{s.bar_size}</span>
        </span>
      </td>
      <td data-label="Last run">
        {runs.isPending ? (
          "…"
        ) : runs.isError ? (
          <span className="text-error">error</span>
        ) : last ? (
          <Link to={`/runs/${last.id}`}>
            <StatusBadge status={last.status} /> <span className="small">{formatDateTime(last.as_of)}</span>
          </Link>
        ) : (
          <span className="muted">never</span>
        )}
      </td>
      <td data-label="Next slot">{formatDateTime(s.next_run_at)}</td>
    </tr>
  );
}
