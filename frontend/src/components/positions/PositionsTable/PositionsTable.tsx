import type { Position } from "../../../api/types";
import { formatDateTime, formatMoney, formatNumber, pnlClass } from "../../../lib/format";

/** Positions: quantity (negative is short), average cost, last price, unrealized/realized P&L. */
export function PositionsTable({ positions }: { positions: readonly Position[] }) {
  const totalUnrealized = positions.reduce((s, p) => s + Number(p.unrealized_pnl ?? 0), 0);
  const totalRealized = positions.reduce((s, p) => s + Number(p.realized_pnl ?? 0), 0);
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Symbol</th>
            <th className="num">Quantity</th>
            <th className="num">Avg cost</th>
            <th className="num">Last price</th>
            <th className="num">Unrealized P&amp;L</th>
            <th className="num">Realized P&amp;L</th>
            <th>Currency</th>
          </tr>
        </thead>
        <tbody>
          {positions.map((p) => (
            <tr key={p.id}>
              <td data-label="Symbol">{p.symbol}</td>
              <td data-label="Quantity" className="num">{formatNumber(p.quantity)}</td>
              <td data-label="Avg cost" className="num">{formatNumber(p.average_cost, 2)}</td>
              <td data-label="Last price" className="num" title={p.last_price_at ? `as of ${formatDateTime(p.last_price_at)}` : "no stored bar"}>
                {formatNumber(p.last_price, 2)}
              </td>
              <td data-label="Unrealized P&L" className={`num ${pnlClass(p.unrealized_pnl)}`}>
                {formatMoney(p.unrealized_pnl)}
              </td>
              <td data-label="Realized P&L" className={`num ${pnlClass(p.realized_pnl)}`}>
                {formatMoney(p.realized_pnl)}
              </td>
              <td data-label="Currency">{p.currency}</td>
            </tr>
          ))}
        </tbody>
        {/* Amounts in different currencies never add; the dashboard's P&L splits by currency. */}
        {positions.length > 1 && new Set(positions.map((p) => p.currency)).size === 1 && (
          <tfoot>
            <tr>
              <td colSpan={4}>Total</td>
              <td className={`num ${pnlClass(totalUnrealized)}`}>{formatMoney(totalUnrealized)}</td>
              <td className={`num ${pnlClass(totalRealized)}`}>{formatMoney(totalRealized)}</td>
              <td />
            </tr>
          </tfoot>
        )}
      </table>
    </div>
  );
}
