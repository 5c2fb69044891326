import type { FillListItem, Position } from "../../../api/types";
import { formatMoney, pnlClass } from "../../../lib/format";
import { pnlByCurrency } from "./pnlByCurrency";

/**
 * P&L per currency: today's realized P&L and commissions (from today's fills), unrealized P&L
 * of open positions at their last price, and realized P&L to date.
 */
export function PnlSummary({
  fillsToday,
  positions,
}: {
  fillsToday: readonly FillListItem[];
  positions: readonly Position[];
}) {
  const rows = pnlByCurrency(fillsToday, positions);
  return (
    <div className="table-wrap">
      <table aria-label="P&L by currency">
        <thead>
          <tr>
            <th>Currency</th>
            <th className="num">Realized today</th>
            <th className="num">Commission today</th>
            <th className="num">Fills today</th>
            <th className="num">Unrealized</th>
            <th className="num">Realized to date</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.currency}>
              <td data-label="Currency">{r.currency}</td>
              <td data-label="Realized today" className={`num ${pnlClass(r.realizedToday)}`}>
                {formatMoney(r.realizedToday)}
              </td>
              <td data-label="Commission today" className="num">
                {formatMoney(r.commissionToday)}
              </td>
              <td data-label="Fills today" className="num">
                {r.fillsToday}
              </td>
              <td data-label="Unrealized" className={`num ${pnlClass(r.unrealized)}`}>
                {r.unrealized === null ? "—" : formatMoney(r.unrealized)}
              </td>
              <td data-label="Realized to date" className={`num ${pnlClass(r.realizedTotal)}`}>
                {formatMoney(r.realizedTotal)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
