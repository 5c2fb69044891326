import { Link } from "react-router";
import type { StrategyPosition } from "../../../api/types";
import { formatDateTime, formatMoney, formatNumber, pnlClass } from "../../../lib/format";

/** A lifetime's length, from opened to closed (or to `now` while open): "2 d 3 h", "45 min". */
export function formatLifetime(openedAt: string, closedAt: string | null, now = Date.now()): string {
  const ms = (closedAt ? new Date(closedAt).getTime() : now) - new Date(openedAt).getTime();
  if (!Number.isFinite(ms) || ms < 0) return "—";
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes % 60} min`;
  return `${minutes} min`;
}

function Outcome({ p }: { p: StrategyPosition }) {
  if (p.status === "open") return <span className="badge status-running">open</span>;
  if (!p.outcome) return <span className="muted">—</span>;
  return <span className={`badge outcome-${p.outcome}`}>{p.outcome}</span>;
}

/**
 * Strategy position lifetimes, one row each: strategy, symbol, side, quantity (units: the
 * entries' total; while open, what is still held of it), entry and exit average prices
 * (commissions excluded), opened/closed (UTC shown in local time), duration, realized P&L (net
 * of commissions, in the symbol's currency), R multiple (realized / initial risk) and outcome.
 * The strategy links to the run that opened the lifetime (its lineage) when there is one.
 */
export function LifetimesTable({ positions }: { positions: readonly StrategyPosition[] }) {
  return (
    <div className="table-wrap">
      <table aria-label="Position lifetimes">
        <thead>
          <tr>
            <th>Strategy</th>
            <th>Symbol</th>
            <th>Side</th>
            <th className="num">Quantity</th>
            <th className="num">Entry</th>
            <th className="num">Exit</th>
            <th>Opened</th>
            <th>Closed</th>
            <th>Duration</th>
            <th className="num">Realized P&amp;L</th>
            <th className="num">R</th>
            <th>Outcome</th>
            <th>Run</th>
          </tr>
        </thead>
        <tbody>
          {positions.map((p) => (
            <tr key={p.id} data-testid={`lifetime-${p.id}`}>
              <td data-label="Strategy">
                <Link to={`/strategies/${p.strategy_id}`}>{p.strategy_name || p.strategy}</Link>
              </td>
              <td data-label="Symbol">{p.symbol}</td>
              <td data-label="Side">
                <span className={`badge side-${p.side}`}>{p.side}</span>
              </td>
              <td data-label="Quantity" className="num">
                {p.status === "open" && p.quantity !== p.entry_quantity
                  ? `${formatNumber(p.quantity)} of ${formatNumber(p.entry_quantity)}`
                  : formatNumber(p.entry_quantity)}
              </td>
              <td data-label="Entry" className="num">
                {formatNumber(p.entry_price, 2)}
              </td>
              <td data-label="Exit" className="num">
                {formatNumber(p.exit_price, 2)}
              </td>
              <td data-label="Opened">{formatDateTime(p.opened_at)}</td>
              <td data-label="Closed">{formatDateTime(p.closed_at)}</td>
              <td data-label="Duration">
                {formatLifetime(p.opened_at, p.closed_at)}
                {p.status === "open" && <span className="muted small"> so far</span>}
              </td>
              <td data-label="Realized P&L" className={`num ${pnlClass(p.realized_pnl)}`}>
                {formatMoney(p.realized_pnl)} <span className="muted small">{p.currency}</span>
              </td>
              <td data-label="R" className={`num ${pnlClass(p.r_multiple)}`}>
                {p.r_multiple === null ? "—" : `${formatNumber(p.r_multiple, 2, 2)} R`}
              </td>
              <td data-label="Outcome">
                <Outcome p={p} />
              </td>
              <td data-label="Run">
                {p.opening_run_id === null ? (
                  <span className="muted">—</span>
                ) : (
                  <Link to={`/runs/${p.opening_run_id}`}>run #{p.opening_run_id}</Link>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
