import { StatusBadge } from "../../ui/StatusBadge/StatusBadge";
import { orderOutcome } from "./orderOutcome";

/**
 * An order's status pill. An order cancelled because its OCA sibling filled, or because its
 * bracket parent was cancelled, reads as the neutral outcome it is: "cancelled (OCA: take profit
 * filled)", in the plain cancelled style, with the broker's message as its title.
 */
export function OrderStatusBadge({
  status,
  errorMessage,
}: {
  status: string;
  errorMessage?: string | null;
}) {
  const outcome = orderOutcome(status, errorMessage);
  if (!outcome.expectedCancel) return <StatusBadge status={status} />;
  return (
    <span className="badge status-cancelled" title={errorMessage ?? undefined}>
      {outcome.label}
    </span>
  );
}

/**
 * An order's error message: an error box, except for an expected bracket cancellation (OCA,
 * parent cancelled), shown as a plain note. Nothing when there is no message.
 */
export function OrderMessage({
  status,
  errorMessage,
}: {
  status: string;
  errorMessage?: string | null;
}) {
  if (!errorMessage) return null;
  if (orderOutcome(status, errorMessage).expectedCancel)
    return <div className="order-note muted small">{errorMessage}</div>;
  return <div className="step-error">{errorMessage}</div>;
}
