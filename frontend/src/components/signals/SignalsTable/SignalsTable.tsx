import { Link } from "react-router";
import type { Signal } from "../../../api/types";
import { formatDateTime, formatNumber } from "../../../lib/format";
import { StatusBadge } from "../../ui/StatusBadge/StatusBadge";

/** Signals with their strategy and symbol by name, decision, status and run. */
export function SignalsTable({ signals }: { signals: readonly Signal[] }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Time</th>
            <th>Strategy</th>
            <th>Symbol</th>
            <th>Action</th>
            <th className="num">Confidence</th>
            <th className="num">Entry / stop / target</th>
            <th>Status</th>
            <th>Run</th>
          </tr>
        </thead>
        <tbody>
          {signals.map((s) => (
            <tr key={s.id}>
              <td data-label="Time">{formatDateTime(s.created_at)}</td>
              <td data-label="Strategy">
                <Link to={`/strategies/${s.strategy_id}`}>{s.strategy_name}</Link>
              </td>
              <td data-label="Symbol">{s.symbol}</td>
              <td data-label="Action">
                <span className={`badge action-${s.action}`}>{s.action}</span>
              </td>
              <td data-label="Confidence" className="num">{formatNumber(s.confidence, 2, 2)}</td>
              <td data-label="Entry / stop / target" className="num">
                {formatNumber(s.entry)} / {formatNumber(s.stop_loss)} / {formatNumber(s.take_profit)}
              </td>
              <td data-label="Status">
                <StatusBadge status={s.status} />
              </td>
              <td data-label="Run">
                <Link to={`/runs/${s.run_id}`}>run #{s.run_id}</Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
