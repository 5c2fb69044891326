import { formatDateTime } from "../../../lib/format";
import type { PromptScore } from "../../../api/prompts";
import { formatR, formatShare, rClass } from "../scoreFormat";

/**
 * Performance of each scored version of one template, newest version first.
 * Input: that template's rows from `GET /prompt-templates/scores/`; `latestVersion` marks
 * the current version's row.
 */
export function ScoresTable({
  scores,
  latestVersion,
}: {
  scores: readonly PromptScore[];
  latestVersion?: number;
}) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Version</th>
            <th>Computed</th>
            <th className="num">Signals</th>
            <th className="num">Accepted</th>
            <th className="num">Filled</th>
            <th className="num">Closed trades</th>
            <th className="num">Win rate</th>
            <th className="num">Avg R</th>
          </tr>
        </thead>
        <tbody>
          {scores.map((s) => (
            <tr key={s.template_id} data-testid={`score-row-${s.template_version}`}>
              <td data-label="Version">
                v{s.template_version}
                {s.template_version === latestVersion && (
                  <span className="muted small"> (latest)</span>
                )}
              </td>
              <td data-label="Computed">{formatDateTime(s.computed_at)}</td>
              <td data-label="Signals" className="num">
                {s.signals}
              </td>
              <td data-label="Accepted" className="num">
                {formatShare(s.accepted_share)}
              </td>
              <td data-label="Filled" className="num">
                {formatShare(s.filled_share)}
              </td>
              <td data-label="Closed trades" className="num">
                {s.closed_trades}
              </td>
              <td data-label="Win rate" className="num">
                {formatShare(s.win_rate)}
              </td>
              <td data-label="Avg R" className={`num ${rClass(s.avg_r_multiple)}`}>
                {formatR(s.avg_r_multiple)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
