import { Link } from "react-router";
import type { AccountPortfolio as Portfolio, StrategyBook } from "../../../api/types";
import { formatMoney, formatNumber, pnlClass } from "../../../lib/format";

const percent = (rate: string | null) =>
  rate === null ? "—" : `${formatNumber(Number(rate) * 100, 0, 1)}%`;

function StrategyRow({ s }: { s: StrategyBook }) {
  return (
    <tr data-testid={`portfolio-${s.currency}-strategy-${s.strategy_id}`}>
      <td data-label="Strategy" className="indent">
        <Link to={`/strategies/${s.strategy_id}`}>{s.strategy_name}</Link>
      </td>
      <td data-label="Starting cash" className="num" />
      <td data-label="Open" className="num">
        {s.open_positions}
        {s.open_positions > 0 && (
          <span className="muted small"> ({formatNumber(s.open_quantity)})</span>
        )}
      </td>
      <td data-label="Realized" className={`num ${pnlClass(s.realized_pnl)}`}>
        {formatMoney(s.realized_pnl)}
      </td>
      <td data-label="Unrealized" className={`num ${pnlClass(s.unrealized_pnl)}`}>
        {formatMoney(s.unrealized_pnl)}
        {s.unpriced_positions > 0 && (
          <span className="muted small"> ({s.unpriced_positions} unpriced)</span>
        )}
      </td>
      <td data-label="Commission" className="num">
        {formatMoney(s.commission)}
      </td>
      <td data-label="Closed" className="num">
        {s.closed_positions}
      </td>
      <td data-label="Win rate" className="num">
        {percent(s.win_rate)}
      </td>
      <td data-label="Avg R" className="num">
        {s.average_r === null ? "—" : formatNumber(s.average_r, 2, 2)}
      </td>
    </tr>
  );
}

/**
 * The account's portfolio, one block per currency (amounts in different currencies are never
 * added or converted): starting cash, open and closed lifetimes, realized and unrealized P&L,
 * commissions and win rate, then each strategy trading in that currency.
 */
export function AccountPortfolio({ portfolio }: { portfolio: Portfolio }) {
  if (portfolio.currencies.length === 0)
    return <p className="state-empty">No cash and no positions on this account.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Portfolio by currency">
        <thead>
          <tr>
            <th>Currency / strategy</th>
            <th className="num">Starting cash</th>
            <th className="num">Open</th>
            <th className="num">Realized</th>
            <th className="num">Unrealized</th>
            <th className="num">Commission</th>
            <th className="num">Closed</th>
            <th className="num">Win rate</th>
            <th className="num">Avg R</th>
          </tr>
        </thead>
        {portfolio.currencies.map((c) => {
          const strategies = portfolio.strategies.filter((s) => s.currency === c.currency);
          return (
            <tbody key={c.currency} data-testid={`portfolio-${c.currency}`}>
              <tr className="net-row">
                <td data-label="Currency">{c.currency}</td>
                <td data-label="Starting cash" className="num">
                  {c.starting_cash === null ? "—" : `${formatMoney(c.starting_cash)} ${c.currency}`}
                </td>
                <td data-label="Open" className="num">
                  {c.open_positions}
                </td>
                <td data-label="Realized" className={`num ${pnlClass(c.realized_pnl)}`}>
                  {formatMoney(c.realized_pnl)}
                </td>
                <td data-label="Unrealized" className={`num ${pnlClass(c.unrealized_pnl)}`}>
                  {formatMoney(c.unrealized_pnl)}
                  {c.unpriced_positions > 0 && (
                    <span className="muted small"> ({c.unpriced_positions} unpriced)</span>
                  )}
                </td>
                <td data-label="Commission" className="num">
                  {formatMoney(c.commission)}
                </td>
                <td data-label="Closed" className="num">
                  {c.closed_positions}
                </td>
                <td data-label="Win rate" className="num">
                  {percent(c.win_rate)}
                </td>
                <td data-label="Avg R" className="num">
                  —
                </td>
              </tr>
              {strategies.map((s) => (
                <StrategyRow key={s.strategy_id} s={s} />
              ))}
            </tbody>
          );
        })}
      </table>
    </div>
  );
}
