import type { Account } from "../../../api/types";
import { formatMoney, formatNumber } from "../../../lib/format";

/**
 * An account's automatic triggers: `daily_loss_limit` (base currency) and `max_drawdown_pct`
 * (null is off). A breached limit halts the account; the halt shows in its trading state with
 * the reason (the limit and the figures). Only an operator resumes it.
 */
export function AccountLimits({ account: a }: { account: Account }) {
  const rows: [string, string][] = [
    [
      "Daily loss limit",
      a.daily_loss_limit != null ? `${formatMoney(a.daily_loss_limit)} ${a.base_currency}` : "off",
    ],
    ["Max drawdown", a.max_drawdown_pct != null ? `${formatNumber(a.max_drawdown_pct)} %` : "off"],
  ];
  return (
    <div>
      <dl className="kv" aria-label="Automatic triggers">
        {rows.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <p className="muted small">
        A breached limit halts the account (P&amp;L since 00:00 UTC, realized + unrealized at the
        last price, in {a.base_currency}; drawdown from the equity&apos;s high-water mark).
      </p>
    </div>
  );
}
