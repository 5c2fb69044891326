import type { CurrencyPerformance } from "../../../api/performance";
import { formatMoney, pnlClass } from "../../../lib/format";
import { formatR, formatShare, rClass } from "../../prompts/scoreFormat";
import { Empty } from "../../ui/QueryState/QueryState";
import { EquityChart } from "../EquityChart/EquityChart";

/** A decimal string (or null) as a number for the share/R formatters; null stays null. */
export const ratio = (value: string | null | undefined): number | null =>
  value === null || value === undefined ? null : Number(value);

/**
 * Performance of a strategy or an account: a row of figures per currency (realized P&L net of
 * commissions, unrealized P&L of open positions, commissions, closed trades, win rate, average
 * R, max drawdown in money and as a share of the peak) and the equity curve with its drawdown.
 * Money is in each row's currency; rows are never added together. `empty`: the text shown when
 * there are no positions (no currencies) yet.
 */
export function PerformancePanel({
  currencies,
  label,
  empty = "No positions yet.",
}: {
  currencies: readonly CurrencyPerformance[];
  /** Accessible name of the figures table, e.g. "Performance by currency". */
  label: string;
  empty?: string;
}) {
  if (currencies.length === 0) return <Empty>{empty}</Empty>;
  return (
    <>
      <div className="table-wrap">
        <table aria-label={label}>
          <thead>
            <tr>
              <th>Currency</th>
              <th className="num">Realized</th>
              <th className="num">Unrealized</th>
              <th className="num">Commissions</th>
              <th className="num">Trades</th>
              <th className="num">Win rate</th>
              <th className="num">Avg R</th>
              <th className="num">Max drawdown</th>
            </tr>
          </thead>
          <tbody>
            {currencies.map((c) => (
              <tr key={c.currency} data-testid={`performance-${c.currency}`}>
                <td data-label="Currency">{c.currency}</td>
                <td data-label="Realized" className={`num ${pnlClass(c.realized_pnl)}`}>
                  {formatMoney(c.realized_pnl)}
                </td>
                <td data-label="Unrealized" className={`num ${pnlClass(c.unrealized_pnl)}`}>
                  {formatMoney(c.unrealized_pnl)}
                  {c.unpriced_positions > 0 && (
                    <span
                      className="muted small"
                      title="Open positions whose symbol has no bar are not marked."
                    >
                      {" "}
                      ({c.unpriced_positions} not marked)
                    </span>
                  )}
                </td>
                <td data-label="Commissions" className="num">
                  {formatMoney(c.commission)}
                </td>
                <td data-label="Trades" className="num">
                  {c.trades}
                  {c.open_positions > 0 && (
                    <span className="muted small"> (+{c.open_positions} open)</span>
                  )}
                </td>
                <td data-label="Win rate" className="num">
                  {formatShare(ratio(c.win_rate))}
                </td>
                <td data-label="Avg R" className={`num ${rClass(ratio(c.average_r))}`}>
                  {formatR(ratio(c.average_r))}
                </td>
                <td data-label="Max drawdown" className="num">
                  {formatMoney(c.max_drawdown)}
                  {c.max_drawdown_fraction !== null && (
                    <span className="muted small">
                      {" "}
                      ({formatShare(ratio(c.max_drawdown_fraction))})
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <EquityChart currencies={currencies} />
    </>
  );
}
