import type { BacktestReport, BacktestReportRow } from "../../../api/backtests";
import { formatMoney, formatNumber, formatUsd, pnlClass } from "../../../lib/format";
import { formatR, formatShare } from "../../prompts/scoreFormat";

const ratio = (v: string | number | null | undefined) =>
  v === null || v === undefined ? null : Number(v);

const isRow = (value: unknown): value is BacktestReportRow =>
  typeof value === "object" &&
  value !== null &&
  "label" in value &&
  "final_equity" in value &&
  "max_drawdown" in value;

/**
 * The reference rows of a report after its variants: the baseline analyst when it ran as an
 * added reference (a compared baseline variant is already among the variants), buy-and-hold,
 * then any other row-shaped entry the report carries, in the report's key order.
 */
export function referenceRows(report: BacktestReport): BacktestReportRow[] {
  const baseline = report.baseline_analyst;
  const rows: BacktestReportRow[] = baseline?.reference ? [baseline] : [];
  rows.push(report.buy_and_hold);
  for (const [key, value] of Object.entries(report as unknown as Record<string, unknown>)) {
    if (key === "variants" || key === "buy_and_hold" || key === "baseline_analyst") continue;
    if (isRow(value)) rows.push(value);
    else if (Array.isArray(value)) rows.push(...value.filter(isRow));
  }
  return rows;
}

const fixed = (v: number | null | undefined) => (v === null || v === undefined ? "—" : v.toFixed(2));

/**
 * The report's summary: one row per variant, then the reference rows (buy-and-hold and any
 * baseline). Money in the report's currency; win rate, exposure and drawdown as shares; LLM
 * cost in USD (reference rows have no LLM use: dashes). Capital: what the sizing risks a share
 * of (buy-and-hold: all of it in at the first slot, with its shares and entry price). Leakage: a variant whose model's knowledge
 * cutoff falls in the window is marked "the model may have seen this period" with the span.
 */
export function ReportTable({ report }: { report: BacktestReport }) {
  const rows = [
    ...report.variants.map((row) => ({ row, reference: false })),
    ...referenceRows(report).map((row) => ({ row, reference: true })),
  ];
  return (
    <div className="table-wrap">
      <table aria-label="Backtest report">
        <thead>
          <tr>
            <th>Variant</th>
            <th className="num">Capital</th>
            <th className="num">Trades</th>
            <th className="num">Win rate</th>
            <th className="num">Avg R</th>
            <th className="num">Realized P&amp;L</th>
            <th className="num">Final equity</th>
            <th className="num">Max drawdown</th>
            <th className="num">Sharpe</th>
            <th className="num">Sortino</th>
            <th className="num">Exposure</th>
            <th className="num">LLM calls</th>
            <th className="num">Tokens (in / out)</th>
            <th className="num">LLM cost</th>
            <th>Leakage</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ row, reference }, i) => (
            <tr
              key={`${row.variant ?? "ref"}-${i}`}
              className={reference ? "reference-row" : undefined}
              data-testid={reference ? `report-reference-${i - report.variants.length}` : `report-variant-${row.variant}`}
            >
              <td data-label="Variant">
                {reference ? <em>{row.label}</em> : `${row.variant}. ${row.label}`}
              </td>
              <td data-label="Capital" className="num">
                {row.capital ? formatMoney(row.capital) : "—"}
                {reference && row.quantity ? (
                  <div className="muted small">
                    {formatNumber(row.quantity)} shares
                    {row.entry_price ? ` at ${formatMoney(row.entry_price)}` : ""}
                  </div>
                ) : null}
              </td>
              <td data-label="Trades" className="num">
                {row.trades}
                {row.open_positions ? <span className="muted small"> (+{row.open_positions} open)</span> : null}
              </td>
              <td data-label="Win rate" className="num">
                {formatShare(ratio(row.win_rate))}
              </td>
              <td data-label="Avg R" className="num">
                {formatR(ratio(row.average_r))}
              </td>
              <td data-label="Realized P&L" className={`num ${pnlClass(row.realized_pnl)}`}>
                {formatMoney(row.realized_pnl)}
              </td>
              <td data-label="Final equity" className="num">
                {formatMoney(row.final_equity)}
              </td>
              <td data-label="Max drawdown" className="num">
                {formatMoney(row.max_drawdown)}
                {row.max_drawdown_fraction !== null && (
                  <span className="muted small"> ({formatShare(ratio(row.max_drawdown_fraction))})</span>
                )}
              </td>
              <td data-label="Sharpe" className="num">
                {fixed(row.sharpe)}
              </td>
              <td data-label="Sortino" className="num">
                {fixed(row.sortino)}
              </td>
              <td data-label="Exposure" className="num">
                {formatShare(row.exposure)}
              </td>
              <td data-label="LLM calls" className="num">
                {reference ? "—" : (row.llm_calls ?? 0)}
              </td>
              <td data-label="Tokens (in / out)" className="num">
                {reference ? "—" : `${formatNumber(row.prompt_tokens ?? 0)} / ${formatNumber(row.completion_tokens ?? 0)}`}
              </td>
              <td data-label="LLM cost" className="num">
                {reference ? "—" : formatUsd(row.llm_cost_usd)}
              </td>
              <td data-label="Leakage">
                {row.leakage_warning ? (
                  <span className="leakage-warning" role="note">
                    ⚠ {row.leakage_warning}
                    {row.leakage_span && (
                      <span className="small"> ({row.leakage_span.start} → {row.leakage_span.end})</span>
                    )}
                  </span>
                ) : reference ? (
                  "—"
                ) : row.knowledge_cutoff ? (
                  <span className="muted small">cutoff {row.knowledge_cutoff}: before the window</span>
                ) : (
                  <span className="muted small">cutoff unknown</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
