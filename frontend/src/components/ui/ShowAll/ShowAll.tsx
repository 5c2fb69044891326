import { Link } from "react-router";

/** How many rows a dashboard list shows; the rest are one click away on the list's own page. */
export const DASHBOARD_LIST_CAP = 10;

/**
 * The first `cap` items of a list (a dashboard list stays short however much the day produced).
 * `more` is true when items were left out, or the API says there is a further page.
 */
export function capList<T>(
  items: readonly T[],
  { cap = DASHBOARD_LIST_CAP, count, next }: { cap?: number; count?: number; next?: string | null } = {},
): { shown: T[]; more: boolean; total: number | undefined } {
  const shown = items.slice(0, cap);
  const total = count ?? (next ? undefined : items.length);
  return { shown, more: items.length > shown.length || Boolean(next) || (count ?? 0) > shown.length, total };
}

/**
 * The link under a capped dashboard list to its full page: "Show all 50 signals" when rows were
 * left out (the total when known), otherwise "All signals".
 */
export function ShowAll({
  to,
  noun,
  more,
  total,
}: {
  to: string;
  /** Plural noun of the list's items, e.g. "signals". */
  noun: string;
  more: boolean;
  total?: number;
}) {
  return (
    <p className="show-all small">
      <Link to={to}>
        {more ? `Show all${total !== undefined ? ` ${total}` : ""} ${noun}` : `All ${noun}`} →
      </Link>
    </p>
  );
}
