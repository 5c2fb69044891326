import { Fragment } from "react";
import { Link } from "react-router";
import type { Position } from "../../../api/types";
import { formatDateTime, formatMoney, formatNumber, pnlClass } from "../../../lib/format";
import { CloseAllButton, ClosePositionButton } from "../ClosePositions/ClosePositions";
import { isClosing, WorkingOrders } from "../WorkingOrders/WorkingOrders";
import { groupPositions, netSide } from "./groupPositions";

const COLUMNS = 11;

function StrategyRow({ p, name, closable }: { p: Position; name: string; closable: boolean }) {
  return (
    <tr>
      <td data-label="Strategy">
        <Link to={`/strategies/${p.strategy_id}`}>{name}</Link>
      </td>
      <td data-label="Side">
        <span className={`badge side-${p.side}`}>{p.side}</span>
      </td>
      <td data-label="Symbol">{p.symbol}</td>
      <td data-label="Quantity" className="num">
        {formatNumber(p.quantity)}
      </td>
      <td data-label="Avg cost" className="num">
        {formatNumber(p.average_cost, 2)}
      </td>
      <td
        data-label="Last price"
        className="num"
        title={p.last_price_at ? `as of ${formatDateTime(p.last_price_at)}` : "no stored bar"}
      >
        {formatNumber(p.last_price, 2)}
      </td>
      <td data-label="Unrealized P&L" className={`num ${pnlClass(p.unrealized_pnl)}`}>
        {formatMoney(p.unrealized_pnl)}
      </td>
      <td data-label="Realized P&L" className={`num ${pnlClass(p.realized_pnl)}`}>
        {formatMoney(p.realized_pnl)}
      </td>
      <td data-label="Currency">{p.currency}</td>
      <td data-label="Stop / target">
        <WorkingOrders orders={p.working_orders} />
      </td>
      <td data-label="">
        {closable && (
          <ClosePositionButton
            position={{ ...p, strategy: name }}
            disabled={isClosing(p.working_orders)}
          />
        )}
      </td>
    </tr>
  );
}

/**
 * Open strategy positions, one table per account (captioned with the account's name). Per symbol
 * the strategies' rows (quantity signed, negative is short) are followed by the account's net: the
 * sum of the strategies' signed quantities, what the broker holds. Each account's P&L totals are
 * per currency: amounts in different currencies never add.
 * A shortened list must cut only between symbols (see `capPositions`), or a net is partial.
 * Each position shows its working stop and target; with `closable`, each has a Close button
 * and each account a Close all button (both confirm first, with an optional note).
 */
export function PositionsTable({
  positions,
  totals = true,
  strategyNames,
  closable = true,
}: {
  /** Offer Close per position and Close all per account. */
  closable?: boolean;
  positions: readonly Position[];
  /**
   * Strategy names by id: the positions API names a strategy by its slug (`strategy`); a name
   * found here is shown instead.
   */
  strategyNames?: ReadonlyMap<number, string>;
  /** Show each account's P&L totals per currency (off when the list is cut short). */
  totals?: boolean;
}) {
  const accounts = groupPositions(positions);
  return (
    <div className="positions-accounts">
      {accounts.map((a) => (
        <div className="table-wrap" key={a.accountId}>
          <table aria-label={`Positions on ${a.account}`}>
            <caption className="account-caption">
              <span className="muted">Account</span> {a.account}{" "}
              {closable && (
                <CloseAllButton scope={{ account: a.accountId }} what={`account ${a.account}`} />
              )}
            </caption>
            <thead>
              <tr>
                <th>Strategy</th>
                <th>Side</th>
                <th>Symbol</th>
                <th className="num">Quantity</th>
                <th className="num">Avg cost</th>
                <th className="num">Last price</th>
                <th className="num">Unrealized P&amp;L</th>
                <th className="num">Realized P&amp;L</th>
                <th>Currency</th>
                <th>Stop / target</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {a.symbols.map((g) => {
                const side = netSide(g.netQuantity);
                const last = g.positions[0]?.last_price;
                return (
                  <Fragment key={g.symbolId}>
                    {g.positions.map((p) => (
                      <StrategyRow
                        key={p.id}
                        p={p}
                        name={strategyNames?.get(p.strategy_id) ?? p.strategy}
                        closable={closable}
                      />
                    ))}
                    <tr className="net-row" aria-label={`${g.symbol} account net`}>
                      <td data-label="Strategy">
                        <em>Account net</em>
                      </td>
                      <td data-label="Side">
                        <span className={`badge side-${side}`}>{side}</span>
                      </td>
                      <td data-label="Symbol">{g.symbol}</td>
                      <td data-label="Net quantity" className="num">
                        {formatNumber(g.netQuantity)}
                      </td>
                      <td data-label="Avg cost" className="num">
                        —
                      </td>
                      <td data-label="Last price" className="num">
                        {formatNumber(last, 2)}
                      </td>
                      <td data-label="Unrealized P&L" className={`num ${pnlClass(g.unrealized)}`}>
                        {g.unrealized === null ? "—" : formatMoney(g.unrealized)}
                      </td>
                      <td data-label="Realized P&L" className={`num ${pnlClass(g.realized)}`}>
                        {formatMoney(g.realized)}
                      </td>
                      <td data-label="Currency">{g.currency}</td>
                      <td colSpan={2} />
                    </tr>
                  </Fragment>
                );
              })}
            </tbody>
            <tfoot>
              {totals && a.totals.map((t) => (
                <tr key={t.currency} aria-label={`Total ${t.currency}`}>
                  <td colSpan={COLUMNS - 5} data-label="">
                    Total {t.currency}
                  </td>
                  <td data-label="Unrealized P&L" className={`num ${pnlClass(t.unrealized)}`}>
                    {t.unrealized === null ? "—" : formatMoney(t.unrealized)}
                  </td>
                  <td data-label="Realized P&L" className={`num ${pnlClass(t.realized)}`}>
                    {formatMoney(t.realized)}
                  </td>
                  <td data-label="Currency">{t.currency}</td>
                  <td colSpan={2} />
                </tr>
              ))}
            </tfoot>
          </table>
        </div>
      ))}
    </div>
  );
}
