import { humanize } from "../../../lib/format";

/** A status word in a colored pill; the color comes from the CSS class `status-<value>`. */
export function StatusBadge({ status }: { status: string | null | undefined }) {
  const value = status || "none";
  return <span className={`badge status-${value}`}>{humanize(value)}</span>;
}
