import { humanize } from "../../../lib/format";

/** How an order ended, for display: its badge text and whether its message is an error. */
export interface OrderOutcome {
  /** Badge text, e.g. "filled" or "cancelled (OCA: take profit filled)". */
  label: string;
  /**
   * True when the order was cancelled as a bracket meant it to be: its OCA sibling filled
   * (message "OCA: <ref> filled", from the paper broker's fill simulation) or its parent was
   * cancelled (message "parent cancelled"). Such a message is the normal outcome, not an error.
   */
  expectedCancel: boolean;
}

/** "sibyl-42-take_profit" → "take profit" (refs end in the order's role); other refs as given. */
const refRole = (ref: string) => {
  const match = /^sibyl-\d+-(\w+)$/.exec(ref);
  return match ? humanize(match[1]!) : ref;
};

/**
 * Classify an order's status and error message (`error_message` of the orders API). Any other
 * message is left to be shown as an error; the label is then the humanized status.
 */
export function orderOutcome(status: string, errorMessage: string | null | undefined): OrderOutcome {
  const message = (errorMessage ?? "").trim();
  if (status === "cancelled" && message.startsWith("OCA:")) {
    const detail = message.slice("OCA:".length).trim();
    const filled = /^(\S+) filled$/.exec(detail);
    const reason = filled ? `${refRole(filled[1]!)} filled` : detail || "sibling filled";
    return { label: `cancelled (OCA: ${reason})`, expectedCancel: true };
  }
  if (status === "cancelled" && message.toLowerCase() === "parent cancelled")
    return { label: "cancelled (parent cancelled)", expectedCancel: true };
  return { label: humanize(status), expectedCancel: false };
}
