import type { Fill } from "../../../api/types";
import { formatDateTime, formatMoney, formatNumber, pnlClass } from "../../../lib/format";

export function FillsTable({ fills }: { fills: readonly Fill[] }) {
  if (fills.length === 0) return <p className="muted small">No fills.</p>;
  return (
    <div className="table-wrap">
      <table className="compact">
        <thead>
          <tr>
            <th>Executed</th>
            <th className="num">Quantity</th>
            <th className="num">Price</th>
            <th className="num">Commission</th>
            <th className="num">Realized P&amp;L</th>
            <th>Execution id</th>
          </tr>
        </thead>
        <tbody>
          {fills.map((f) => (
            <tr key={f.id}>
              <td data-label="Executed">{formatDateTime(f.executed_at)}</td>
              <td data-label="Quantity" className="num">{formatNumber(f.quantity)}</td>
              <td data-label="Price" className="num">{formatNumber(f.price)}</td>
              <td data-label="Commission" className="num">{formatMoney(f.commission)}</td>
              <td data-label="Realized P&L" className={`num ${pnlClass(f.realized_pnl)}`}>
                {formatMoney(f.realized_pnl)}
              </td>
              <td data-label="Execution id" className="mono small">{f.execution_id}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
