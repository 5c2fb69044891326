import { Fragment } from "react";
import { Link } from "react-router";
import type { AccountPosition, AccountPositions as Positions, Position } from "../../../api/types";
import { formatDateTime, formatMoney, formatNumber, pnlClass } from "../../../lib/format";
import { ClosePositionButton } from "../../positions/ClosePositions/ClosePositions";
import { isClosing, WorkingOrders } from "../../positions/WorkingOrders/WorkingOrders";

/** One line of the broker level: a symbol (and, in hedge mode, a side) with its strategies. */
interface Line {
  key: string;
  symbol: string;
  currency: string;
  /** `NET` (netting) or `LONG`/`SHORT` (hedge: sides held apart); null: the broker never reported. */
  side: AccountPosition["side"] | null;
  broker: AccountPosition | null;
  /** Strategies' signed sum (units): the reconciled figure, or the open positions' own sum. */
  strategyQuantity: string;
  positions: Position[];
}

/**
 * Both levels side by side. Every broker row (`account_positions`) is a line with the open
 * strategy positions of its symbol (of its side, when the broker holds LONG and SHORT apart);
 * a symbol the strategies hold but the broker has not reported gets a line with broker "—".
 */
function lines(data: Positions): Line[] {
  const bySymbol = new Map(data.symbols.map((s) => [s.symbol_id, s]));
  const reported = new Set<number>();
  const out: Line[] = data.account_positions.map((a) => {
    reported.add(a.symbol_id);
    const open = bySymbol.get(a.symbol_id)?.positions ?? [];
    return {
      key: `ap-${a.id}`,
      symbol: a.symbol,
      currency: a.currency,
      side: a.side,
      broker: a,
      strategyQuantity: a.strategy_quantity,
      positions: a.side === "NET" ? open : open.filter((p) => p.side === a.side),
    };
  });
  for (const s of data.symbols) {
    if (reported.has(s.symbol_id)) continue;
    out.push({
      key: `sym-${s.symbol_id}`,
      symbol: s.symbol,
      currency: s.currency,
      side: null,
      broker: null,
      strategyQuantity: s.net_quantity,
      positions: s.positions,
    });
  }
  return out.sort((x, y) => x.symbol.localeCompare(y.symbol));
}

const COLUMNS = 9;

/**
 * The account's positions at both levels: per symbol the broker's position (signed units,
 * negative is short) beside the sum of the strategies' positions, and an unattributed flag
 * (broker − strategies, with since when) whenever they differ; under each line the strategies'
 * open positions in it, each with its working stop and target and a Close button (it confirms
 * first, with an optional note). Money in the symbol's currency; never added across currencies.
 */
export function AccountPositions({
  data,
  strategyNames,
}: {
  data: Positions;
  /** Strategy names by id (the positions carry the slug); a name found here is shown. */
  strategyNames?: ReadonlyMap<number, string>;
}) {
  const rows = lines(data);
  if (rows.length === 0) return <p className="state-empty">No positions on this account.</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Account positions">
        <thead>
          <tr>
            <th>Symbol / strategy</th>
            <th>Side</th>
            <th className="num">Broker</th>
            <th className="num">Strategies</th>
            <th>Unattributed</th>
            <th className="num">Avg cost</th>
            <th className="num">Unrealized P&amp;L</th>
            <th>Stop / target</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((l) => {
            const unattributed = l.broker ? Number(l.broker.unattributed_quantity) : 0;
            return (
              <Fragment key={l.key}>
                <tr
                  className={`net-row${unattributed !== 0 ? " unattributed-row" : ""}`}
                  data-testid={`account-position-${l.symbol}${l.side && l.side !== "NET" ? `-${l.side}` : ""}`}
                >
                  <td data-label="Symbol">
                    {l.symbol} <span className="muted small">{l.currency}</span>
                  </td>
                  <td data-label="Side">{l.side ?? "—"}</td>
                  <td
                    data-label="Broker"
                    className="num"
                    title={
                      l.broker?.reported_at
                        ? `reported ${formatDateTime(l.broker.reported_at)}`
                        : "not reported by the broker"
                    }
                  >
                    {l.broker ? formatNumber(l.broker.broker_quantity) : "—"}
                  </td>
                  <td data-label="Strategies" className="num">
                    {formatNumber(l.strategyQuantity)}
                  </td>
                  <td data-label="Unattributed">
                    {unattributed !== 0 && l.broker ? (
                      <span className="badge unattributed" role="status">
                        ⚠ Unattributed {formatNumber(l.broker.unattributed_quantity)}
                        {l.broker.flagged_at && ` since ${formatDateTime(l.broker.flagged_at)}`}
                      </span>
                    ) : l.broker ? (
                      <span className="muted">matches</span>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td data-label="Avg cost" className="num">
                    {formatNumber(l.broker?.broker_average_cost, 2)}
                  </td>
                  <td data-label="Unrealized P&L" className="num">
                    —
                  </td>
                  <td colSpan={2} />
                </tr>
                {l.positions.map((p) => (
                  <tr key={p.id} data-testid={`strategy-position-${p.id}`}>
                    <td data-label="Strategy" className="indent">
                      <Link to={`/strategies/${p.strategy_id}`}>
                        {strategyNames?.get(p.strategy_id) ?? p.strategy}
                      </Link>
                    </td>
                    <td data-label="Side">
                      <span className={`badge side-${p.side}`}>{p.side}</span>
                    </td>
                    <td data-label="Broker" className="num" />
                    <td data-label="Quantity" className="num">
                      {formatNumber(p.quantity)}
                    </td>
                    <td data-label="Unattributed" />
                    <td data-label="Avg cost" className="num">
                      {formatNumber(p.average_cost, 2)}
                    </td>
                    <td data-label="Unrealized P&L" className={`num ${pnlClass(p.unrealized_pnl)}`}>
                      {formatMoney(p.unrealized_pnl)}
                    </td>
                    <td data-label="Stop / target">
                      <WorkingOrders orders={p.working_orders} />
                    </td>
                    <td data-label="">
                      <ClosePositionButton
                        position={{ ...p, strategy: strategyNames?.get(p.strategy_id) ?? p.strategy }}
                        disabled={isClosing(p.working_orders)}
                      />
                    </td>
                  </tr>
                ))}
                {l.positions.length === 0 && (
                  <tr>
                    <td colSpan={COLUMNS} className="muted indent">
                      No strategy holds it.
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
