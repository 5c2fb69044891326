import type { WorkingOrder } from "../../../api/types";
import { formatNumber, humanize } from "../../../lib/format";

const LABEL: Record<WorkingOrder["role"], string> = {
  stop_loss: "Stop",
  take_profit: "Target",
  exit: "Closing",
  entry: "Entry",
};

/** Stop first, then target, then a close on its way. */
const ORDER: Record<WorkingOrder["role"], number> = { stop_loss: 0, take_profit: 1, exit: 2, entry: 3 };

/**
 * A position's working orders, one chip each: its stop and target (price in the symbol's
 * currency × quantity in units, and status) and any close on its way ("Closing": market or at
 * its limit). "Unprotected" when an open position has neither stop nor target working.
 */
export function WorkingOrders({ orders }: { orders: readonly WorkingOrder[] }) {
  if (orders.length === 0) {
    return (
      <span className="muted small" title="No stop or target is working for this position">
        unprotected
      </span>
    );
  }
  const sorted = [...orders].sort((a, b) => ORDER[a.role] - ORDER[b.role]);
  return (
    <span className="working-orders">
      {sorted.map((o) => (
        <span
          key={o.id}
          className={`badge working-${o.role}`}
          data-testid={`working-order-${o.id}`}
          title={`order #${o.id}: ${o.side} ${o.order_type}, ${humanize(o.status)}`}
        >
          {LABEL[o.role]} {o.price === null ? o.order_type : formatNumber(o.price)} ×{" "}
          {formatNumber(o.quantity)}{" "}
          <span className="muted">({humanize(o.status)})</span>
        </span>
      ))}
    </span>
  );
}

/** Whether a close of the position is already on its way (its Close button is then disabled). */
export const isClosing = (orders: readonly WorkingOrder[]) => orders.some((o) => o.role === "exit");
