import { Link, useParams } from "react-router";
import { isCancellable, useCancelOrder, useOrder } from "../api/orders";
import { FillsTable } from "../components/orders/FillsTable/FillsTable";
import { OrderReason } from "../components/orders/OrderReason/OrderReason";
import { ErrorState, QueryState } from "../components/ui/QueryState/QueryState";
import {
  OrderMessage,
  OrderStatusBadge,
} from "../components/orders/OrderStatusBadge/OrderStatusBadge";
import { formatDateTime, formatMoney, formatNumber, humanize, pnlClass } from "../lib/format";
import { useNumericParam } from "./params";

export function OrderPage() {
  const id = useNumericParam(useParams().id);
  const order = useOrder(id);
  const cancel = useCancelOrder();
  return (
    <div className="page">
      <p>
        <Link to="/orders">← Orders</Link>
      </p>
      <QueryState query={order} errorTitle="Could not load the order">
        {(o) => (
          <>
            <div className="page-head">
              <h1>
                Order #{o.id} <OrderStatusBadge status={o.status} errorMessage={o.error_message} />
              </h1>
              {isCancellable(o.status) && (
                <button
                  type="button"
                  className="danger"
                  disabled={cancel.isPending}
                  onClick={() => cancel.mutate(o.id)}
                >
                  {cancel.isPending ? "Cancelling…" : "Cancel order"}
                </button>
              )}
            </div>
            {cancel.isError && <ErrorState error={cancel.error} title="Could not cancel" />}
            <p>
              Reason: <OrderReason reason={o.reason} action={o.action} />
            </p>
            <p>
              {o.run_id !== null ? (
                <>
                  From <Link to={`/runs/${o.run_id}`}>run #{o.run_id}</Link> of{" "}
                </>
              ) : (
                "For "
              )}
              <Link to={`/strategies/${o.strategy_id}`}>{o.strategy_name}</Link>
              {o.parent_id && (
                <>
                  , child of <Link to={`/orders/${o.parent_id}`}>order #{o.parent_id}</Link>
                </>
              )}
            </p>
            <OrderMessage status={o.status} errorMessage={o.error_message} />
            {o.flagged_at && (
              <div className="step-error">
                Flagged by reconciliation at {formatDateTime(o.flagged_at)}: the broker does not
                hold this order.
              </div>
            )}
            <dl className="facts">
              {(
                [
                  ["Symbol", o.symbol],
                  ["Role", humanize(o.role)],
                  ["Side", o.side],
                  ["Type", o.order_type],
                  ["Quantity", formatNumber(o.quantity)],
                  ["Limit", formatNumber(o.limit_price)],
                  ["Stop", formatNumber(o.stop_price)],
                  ["Time in force", o.time_in_force],
                  ["Filled", `${formatNumber(o.filled_quantity)} @ ${formatNumber(o.avg_fill_price)}`],
                  ["Commission", formatMoney(o.commission)],
                  ["Broker", `${o.broker} ${o.broker_order_id}`],
                  ["Client ref", o.client_order_ref],
                  ["OCA group", o.oca_group || "—"],
                  ["Created", formatDateTime(o.created_at)],
                  ["Submitted", formatDateTime(o.submitted_at)],
                  ["Filled at", formatDateTime(o.filled_at)],
                  ["Cancelled at", formatDateTime(o.cancelled_at)],
                ] as const
              ).map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>{v}</dd>
                </div>
              ))}
              <div>
                <dt>Realized P&amp;L</dt>
                <dd className={pnlClass(o.realized_pnl)}>{formatMoney(o.realized_pnl)}</dd>
              </div>
            </dl>
            <h2>Fills</h2>
            <FillsTable fills={o.fills} />
          </>
        )}
      </QueryState>
    </div>
  );
}
