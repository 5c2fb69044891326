import type { OrderAction, OrderReason as Reason } from "../../../api/types";
import { formatDateTime } from "../../../lib/format";

export const REASON_LABEL: Record<Reason, string> = {
  signal: "signal",
  close: "close",
  reverse: "reverse",
  scale_in: "scale-in",
  trail: "trail",
  end_of_day: "end-of-day",
  person: "person",
};

/**
 * Why an order exists: a run's signal (its bracket), a position action a run or the schedule
 * asked for (close, reverse, scale-in, trail, end-of-day), or a person's action — then who
 * asked and their note.
 */
export function OrderReason({
  reason,
  action,
}: {
  reason: Reason;
  action: OrderAction | null;
}) {
  const who = action?.requested_by;
  return (
    <span
      className="order-reason"
      title={action ? `position action #${action.id}, asked ${formatDateTime(action.created_at)}` : undefined}
    >
      <span className={`badge reason-${reason}`}>{REASON_LABEL[reason]}</span>
      {who && <span className="small"> by {who}</span>}
      {action?.note && <span className="muted small"> — “{action.note}”</span>}
    </span>
  );
}
