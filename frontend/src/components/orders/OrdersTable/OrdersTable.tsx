import { Link } from "react-router";
import { isCancellable } from "../../../api/orders";
import type { OrderListItem } from "../../../api/types";
import { formatDateTime, formatMoney, formatNumber, humanize, pnlClass } from "../../../lib/format";
import { OrderReason } from "../OrderReason/OrderReason";
import { OrderStatusBadge } from "../OrderStatusBadge/OrderStatusBadge";

/**
 * Orders with why each exists (signal, close, …, a person's: who and their note), status, fills,
 * commission and P&L; "Cancel" only on working orders.
 */
export function OrdersTable({
  orders,
  onCancel,
  cancellingId,
}: {
  orders: readonly OrderListItem[];
  onCancel?: (id: number) => void;
  cancellingId?: number | null;
}) {
  return (
    <div className="table-wrap">
      <table className="orders-table">
        <thead>
          <tr>
            <th>Order</th>
            <th>Created</th>
            <th>Symbol</th>
            <th>Strategy</th>
            <th>Role</th>
            <th>Reason</th>
            <th>Side</th>
            <th className="num">Qty</th>
            <th>Type</th>
            <th>Status</th>
            <th className="num">Fills</th>
            <th className="num">Commission</th>
            <th className="num">P&amp;L</th>
            <th>Run</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {orders.map((o) => (
            <tr key={o.id} data-testid={`order-row-${o.id}`}>
              <td data-label="Order">
                <Link to={`/orders/${o.id}`}>#{o.id}</Link>
                {o.flagged_at && (
                  <span className="badge status-failed" title="Reconciliation: not at the broker">
                    flagged
                  </span>
                )}
              </td>
              <td data-label="Created">{formatDateTime(o.created_at)}</td>
              <td data-label="Symbol">{o.symbol}</td>
              <td data-label="Strategy">
                <Link to={`/strategies/${o.strategy_id}`}>{o.strategy_name}</Link>
              </td>
              <td data-label="Role">{humanize(o.role)}</td>
              <td data-label="Reason">
                <OrderReason reason={o.reason} action={o.action} />
              </td>
              <td data-label="Side">
                <span className={`badge action-${o.side}`}>{o.side}</span>
              </td>
              <td data-label="Qty" className="num">{formatNumber(o.quantity)}</td>
              <td data-label="Type">
                {o.order_type}
                {o.limit_price ? ` ${formatNumber(o.limit_price)}` : ""}
                {o.stop_price ? ` stop ${formatNumber(o.stop_price)}` : ""}
              </td>
              <td data-label="Status">
                <OrderStatusBadge status={o.status} errorMessage={o.error_message} />
              </td>
              <td data-label="Fills" className="num">
                {o.fills_count}
                {o.fills_count > 0 && (
                  <span className="muted small">
                    {" "}
                    ({formatNumber(o.filled_quantity)} @ {formatNumber(o.avg_fill_price)})
                  </span>
                )}
              </td>
              <td data-label="Commission" className="num">{formatMoney(o.commission)}</td>
              <td data-label="P&L" className={`num ${pnlClass(o.realized_pnl)}`}>
                {formatMoney(o.realized_pnl)}
              </td>
              <td data-label="Run">
                {o.run_id !== null ? <Link to={`/runs/${o.run_id}`}>run #{o.run_id}</Link> : "—"}
              </td>
              <td data-label="">
                {onCancel && isCancellable(o.status) && (
                  <button
                    type="button"
                    className="danger"
                    disabled={cancellingId === o.id}
                    onClick={() => onCancel(o.id)}
                  >
                    {cancellingId === o.id ? "Cancelling…" : "Cancel"}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
