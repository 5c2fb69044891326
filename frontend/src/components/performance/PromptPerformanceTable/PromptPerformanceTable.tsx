import { Link } from "react-router";
import type { PromptPerformance } from "../../../api/performance";
import { formatMoney, pnlClass } from "../../../lib/format";
import { formatR, formatShare, rClass } from "../../prompts/scoreFormat";
import { ratio } from "../PerformancePanel/PerformancePanel";

/**
 * P&L per prompt version and model, one row per currency (amounts in different currencies are
 * never added): closed trades, win rate, average R and realized P&L net of commissions of the
 * positions each (version, model) opened. Input: `GET /performance/prompts/` rows in the API's
 * order (template name, version, model, currency). A row without a tracked template is
 * "untracked"; a blank model is the baseline analyst.
 */
export function PromptPerformanceTable({ rows }: { rows: readonly PromptPerformance[] }) {
  return (
    <div className="table-wrap">
      <table aria-label="Prompt performance">
        <thead>
          <tr>
            <th>Prompt version</th>
            <th>Model</th>
            <th>Currency</th>
            <th className="num">Trades</th>
            <th className="num">Win rate</th>
            <th className="num">Avg R</th>
            <th className="num">Realized</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr
              key={`${r.template ?? "untracked"}|${r.llm_model}|${r.currency}`}
              data-testid={`prompt-performance-${r.template ?? "untracked"}-${r.llm_model || "baseline"}-${r.currency}`}
            >
              <td data-label="Prompt version">
                {r.template === null ? (
                  <span className="muted">untracked</span>
                ) : (
                  <Link to={`/prompts/${encodeURIComponent(r.template_name)}`}>
                    {r.template_name} v{r.template_version}
                  </Link>
                )}
              </td>
              <td data-label="Model">
                {r.llm_model ? (
                  <span className="mono">{r.llm_model}</span>
                ) : (
                  <span className="muted">baseline analyst</span>
                )}
              </td>
              <td data-label="Currency">{r.currency}</td>
              <td data-label="Trades" className="num">
                {r.trades}
              </td>
              <td data-label="Win rate" className="num">
                {formatShare(ratio(r.win_rate))}
              </td>
              <td data-label="Avg R" className={`num ${rClass(ratio(r.average_r))}`}>
                {formatR(ratio(r.average_r))}
              </td>
              <td data-label="Realized" className={`num ${pnlClass(r.realized_pnl)}`}>
                {formatMoney(r.realized_pnl)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
