import { Link } from "react-router";
import type { PositionAction } from "../../../api/types";
import { formatDateTime, humanize } from "../../../lib/format";
import { REASON_LABEL } from "../../orders/OrderReason/OrderReason";

/**
 * Position actions, newest first: what was asked (close, reverse, scale-in, trail, end-of-day,
 * a person's close or close-all), of what (a position, a strategy, a symbol, the account), by
 * whom (a user with their note, or a run), when, and how it ended (with the error, if any).
 */
export function PositionActions({ actions }: { actions: readonly PositionAction[] }) {
  return (
    <div className="table-wrap">
      <table aria-label="Position actions">
        <thead>
          <tr>
            <th>Action</th>
            <th>Kind</th>
            <th>Of</th>
            <th>Asked by</th>
            <th>Note</th>
            <th>When</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {actions.map((a) => (
            <tr key={a.id} data-testid={`position-action-${a.id}`}>
              <td data-label="Action">#{a.id}</td>
              <td data-label="Kind">
                <span className={`badge reason-${a.kind}`}>{REASON_LABEL[a.kind]}</span>
              </td>
              <td data-label="Of">
                {a.strategy_position_id !== null
                  ? `position #${a.strategy_position_id}`
                  : [a.strategy, a.symbol].filter(Boolean).join(" ") || "whole account"}
              </td>
              <td data-label="Asked by">
                {a.requested_by ??
                  (a.run_id !== null ? <Link to={`/runs/${a.run_id}`}>run #{a.run_id}</Link> : "schedule")}
              </td>
              <td data-label="Note">{a.note || "—"}</td>
              <td data-label="When">{formatDateTime(a.created_at)}</td>
              <td data-label="Status">
                <span className={`badge status-${a.status === "done" ? "succeeded" : a.status}`}>
                  {humanize(a.status)}
                </span>
                {a.error_message && <div className="step-error small">{a.error_message}</div>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
