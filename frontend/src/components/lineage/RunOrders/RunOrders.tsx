import { Link } from "react-router";
import type { RunOrder } from "../../../api/types";
import { formatMoney, formatNumber, humanize, pnlClass } from "../../../lib/format";
import { FillsTable } from "../../orders/FillsTable/FillsTable";
import { OrderReason } from "../../orders/OrderReason/OrderReason";
import { Empty } from "../../ui/QueryState/QueryState";
import { OrderMessage, OrderStatusBadge } from "../../orders/OrderStatusBadge/OrderStatusBadge";

/**
 * The run's orders (its bracket, or the close / reverse / scale-in / trail it asked for): each
 * (linking to /orders/:id) with why it exists and its fills.
 */
export function RunOrders({ orders }: { orders: readonly RunOrder[] }) {
  if (orders.length === 0) return <Empty>No orders: the run placed none.</Empty>;
  return (
    <ul className="run-orders">
      {orders.map((o) => (
        <li key={o.id} className="card">
          <div className="run-order-head">
            <Link to={`/orders/${o.id}`}>Order #{o.id}</Link>
            <span>{humanize(o.role)}</span>
            <OrderReason reason={o.reason} action={o.action} />
            <span className={`badge action-${o.side}`}>{o.side}</span>
            <span>
              {formatNumber(o.quantity)} {o.order_type}
              {o.limit_price && <> @ {formatNumber(o.limit_price)}</>}
              {o.stop_price && <> stop {formatNumber(o.stop_price)}</>}
            </span>
            <OrderStatusBadge status={o.status} errorMessage={o.error_message} />
            <span className="muted">commission {formatMoney(o.commission)}</span>
            <span className={pnlClass(o.realized_pnl)}>P&amp;L {formatMoney(o.realized_pnl)}</span>
          </div>
          <OrderMessage status={o.status} errorMessage={o.error_message} />
          <FillsTable fills={o.fills} />
        </li>
      ))}
    </ul>
  );
}
