import { Link } from "react-router";
import type { BacktestTrade } from "../../../api/backtests";
import { formatDateTime, formatMoney, formatNumber, humanize, pnlClass } from "../../../lib/format";
import { formatR, rClass } from "../../prompts/scoreFormat";
import { Empty } from "../../ui/QueryState/QueryState";
import { StatusBadge } from "../../ui/StatusBadge/StatusBadge";

const ratio = (v: string | null) => (v === null ? null : Number(v));

/**
 * A variant's trades (round trips) in opening order: side, entry and exit time and price,
 * quantity, P&L (net of commissions, in `currency`), R, outcome, and links to the lineage of
 * the runs that opened and closed each.
 */
export function TradesTable({
  trades,
  currency,
  label,
}: {
  trades: readonly BacktestTrade[];
  currency: string;
  label: string;
}) {
  if (trades.length === 0) return <Empty>No trades.</Empty>;
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            <th>Side</th>
            <th>Entry</th>
            <th className="num">Entry price</th>
            <th>Exit</th>
            <th className="num">Exit price</th>
            <th className="num">Quantity</th>
            <th className="num">P&amp;L ({currency})</th>
            <th className="num">R</th>
            <th>Outcome</th>
            <th>Runs</th>
          </tr>
        </thead>
        <tbody>
          {trades.map((t) => (
            <tr key={t.position_id} data-testid={`trade-${t.position_id}`}>
              <td data-label="Side">
                <span className={`badge action-${t.side === "LONG" ? "BUY" : "SELL"}`}>{t.side}</span>
              </td>
              <td data-label="Entry">{formatDateTime(t.opened_at)}</td>
              <td data-label="Entry price" className="num">
                {formatNumber(t.entry_price)}
              </td>
              <td data-label="Exit">
                {t.closed_at ? formatDateTime(t.closed_at) : <StatusBadge status="open" />}
                {t.exit_reason && <span className="muted small"> {humanize(t.exit_reason)}</span>}
              </td>
              <td data-label="Exit price" className="num">
                {formatNumber(t.exit_price)}
              </td>
              <td data-label="Quantity" className="num">
                {formatNumber(t.quantity)}
              </td>
              <td data-label="P&L" className={`num ${pnlClass(t.realized_pnl)}`}>
                {formatMoney(t.realized_pnl)}
              </td>
              <td data-label="R" className={`num ${rClass(ratio(t.r_multiple))}`}>
                {formatR(ratio(t.r_multiple))}
              </td>
              <td data-label="Outcome">{t.outcome || "—"}</td>
              <td data-label="Runs">
                {t.opening_run_id !== null ? (
                  <Link to={`/runs/${t.opening_run_id}`}>opened by #{t.opening_run_id}</Link>
                ) : (
                  "—"
                )}
                {t.closing_run_id !== null && (
                  <>
                    {", "}
                    <Link to={`/runs/${t.closing_run_id}`}>closed by #{t.closing_run_id}</Link>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
