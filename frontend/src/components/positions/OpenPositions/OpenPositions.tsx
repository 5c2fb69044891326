import { Link } from "react-router";
import type { StrategyPosition } from "../../../api/types";
import { formatDateTime, formatMoney, formatNumber, pnlClass } from "../../../lib/format";
import { ClosePositionButton } from "../ClosePositions/ClosePositions";
import { isClosing, WorkingOrders } from "../WorkingOrders/WorkingOrders";

/**
 * Open strategy positions (lifetimes from `GET /strategy-positions/?status=open`): account,
 * side, quantity (units), average cost and realized P&L in the symbol's currency, when opened,
 * the working stop and target, and a Close button (it confirms first, with an optional note).
 */
export function OpenPositions({ positions }: { positions: readonly StrategyPosition[] }) {
  return (
    <div className="table-wrap">
      <table aria-label="Open positions">
        <thead>
          <tr>
            <th>Position</th>
            <th>Account</th>
            <th>Side</th>
            <th>Symbol</th>
            <th className="num">Quantity</th>
            <th className="num">Avg cost</th>
            <th className="num">Realized P&amp;L</th>
            <th>Opened</th>
            <th>Stop / target</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {positions.map((p) => (
            <tr key={p.id} data-testid={`open-position-${p.id}`}>
              <td data-label="Position">
                <Link to={`/positions/history?strategy=${p.strategy_id}`}>#{p.id}</Link>
              </td>
              <td data-label="Account">
                <Link to={`/accounts/${p.account_id}`}>{p.account}</Link>
              </td>
              <td data-label="Side">
                <span className={`badge side-${p.side}`}>{p.side}</span>
              </td>
              <td data-label="Symbol">
                {p.symbol} <span className="muted small">{p.currency}</span>
              </td>
              <td data-label="Quantity" className="num">
                {formatNumber(p.quantity)}
              </td>
              <td data-label="Avg cost" className="num">
                {formatNumber(p.average_cost, 2)}
              </td>
              <td data-label="Realized P&L" className={`num ${pnlClass(p.realized_pnl)}`}>
                {formatMoney(p.realized_pnl)}
              </td>
              <td data-label="Opened">{formatDateTime(p.opened_at)}</td>
              <td data-label="Stop / target">
                <WorkingOrders orders={p.working_orders} />
              </td>
              <td data-label="">
                <ClosePositionButton
                  position={{ ...p, strategy: p.strategy_name }}
                  disabled={isClosing(p.working_orders)}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
