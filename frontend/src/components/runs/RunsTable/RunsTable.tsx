import { Link } from "react-router";
import type { RunListItem } from "../../../api/types";
import { formatDateTime, formatDuration } from "../../../lib/format";
import { StatusBadge } from "../../ui/StatusBadge/StatusBadge";

/** Runs, newest first as given; `showStrategy` adds a column linking each run's strategy. */
export function RunsTable({
  runs,
  showStrategy = false,
}: {
  runs: readonly RunListItem[];
  showStrategy?: boolean;
}) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Run</th>
            {showStrategy && <th>Strategy</th>}
            <th>As of</th>
            <th>Trigger</th>
            <th>Status</th>
            <th>Step</th>
            <th>Signal</th>
            <th className="num">Duration</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td data-label="Run">
                <Link to={`/runs/${r.id}`}>#{r.id}</Link>
              </td>
              {showStrategy && (
                <td data-label="Strategy">
                  <Link to={`/strategies/${r.strategy.id}`}>{r.strategy.name}</Link>
                </td>
              )}
              <td data-label="As of">{formatDateTime(r.as_of)}</td>
              <td data-label="Trigger">{r.trigger}</td>
              <td data-label="Status">
                <StatusBadge status={r.status} />
              </td>
              <td data-label="Step">
                {r.current_step || "—"}
                {r.error_message && (
                  <div className="text-error small" title={r.error_message}>
                    {r.error_message.slice(0, 120)}
                  </div>
                )}
              </td>
              <td data-label="Signal">{r.signal_action ?? "—"}</td>
              <td data-label="Duration" className="num">{formatDuration(r.duration_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
