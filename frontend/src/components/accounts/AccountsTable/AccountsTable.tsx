import { Link } from "react-router";
import type { Account } from "../../../api/accounts";
import { formatMoney, formatNumber, humanize } from "../../../lib/format";
import { AccountTradingStateCell } from "../../tradingState/TradingState";

/** How the account treats a strategy opening the side opposite another strategy's position. */
const opposite = (a: Account) =>
  a.position_mode === "hedge"
    ? "allowed (hedge: sides held apart)"
    : a.opposite_policy === "allow"
      ? "allowed (nets at the broker)"
      : "rejected";

const SAME_DIRECTION: Record<string, string> = {
  accumulate: "accumulate",
  reject_duplicates: "reject duplicates",
  strongest_wins: "strongest wins",
};

/**
 * Trading accounts: kind (a live account stands out), trading state (its own, the effective
 * one when the global state is more restrictive, and a control to change it), broker and its account id, base currency,
 * position mode (netting/hedge), the policies for strategies meeting in one symbol, the account's
 * max position per symbol, and starting cash per currency (never added across currencies).
 */
export function AccountsTable({ accounts }: { accounts: readonly Account[] }) {
  return (
    <div className="table-wrap">
      <table aria-label="Accounts">
        <thead>
          <tr>
            <th>Account</th>
            <th>Kind</th>
            <th>Trading</th>
            <th>Broker</th>
            <th>Base</th>
            <th>Position mode</th>
            <th>Opposite side</th>
            <th>Same direction</th>
            <th className="num">Max per symbol</th>
            <th className="num">Starting cash</th>
          </tr>
        </thead>
        <tbody>
          {accounts.map((a) => (
            <tr key={a.id} data-testid={`account-row-${a.id}`}>
              <td data-label="Account">
                <Link to={`/accounts/${a.id}`}>{a.name}</Link>
              </td>
              <td data-label="Kind">
                <span className={`badge mode-${a.kind}`}>{a.kind}</span>
              </td>
              <td data-label="Trading">
                <AccountTradingStateCell accountId={a.id} name={a.name} state={a.trading_state} />
              </td>
              <td data-label="Broker">
                {a.broker}
                {a.broker_account_id && <span className="muted small"> {a.broker_account_id}</span>}
              </td>
              <td data-label="Base">{a.base_currency}</td>
              <td data-label="Position mode">{a.position_mode}</td>
              <td data-label="Opposite side">{opposite(a)}</td>
              <td data-label="Same direction">
                {SAME_DIRECTION[a.same_direction_policy] ?? humanize(a.same_direction_policy)}
              </td>
              <td data-label="Max per symbol" className="num">
                {a.max_position_per_symbol === null ? "no limit" : formatNumber(a.max_position_per_symbol)}
              </td>
              <td data-label="Starting cash" className="num">
                {a.cash.length === 0
                  ? "—"
                  : a.cash.map((c) => (
                      <div key={c.currency}>
                        {formatMoney(c.starting_cash)} {c.currency}
                      </div>
                    ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
