import { Link } from "react-router";
import { formatDateTime } from "../../../lib/format";
import { formatR, formatShare, rClass } from "../scoreFormat";
import type { TemplateSummary } from "./templateSummary";

/**
 * The template names, one row per owner and name: owner (and "published"), latest version,
 * number of versions, when it was last saved, and the newest score (signals, accepted share,
 * win rate, average R). A name that several owners have links with `?owner=`.
 * Input: rows from `summarizeTemplates`; `scoresPending` shows "…" while scores load.
 */
export function TemplatesTable({
  rows,
  scoresPending = false,
}: {
  rows: readonly TemplateSummary[];
  scoresPending?: boolean;
}) {
  const blank = scoresPending ? "…" : "—";
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Template</th>
            <th className="num">Latest</th>
            <th className="num">Versions</th>
            <th>Last saved</th>
            <th>Scored version</th>
            <th className="num">Signals</th>
            <th className="num">Accepted</th>
            <th className="num">Win rate</th>
            <th className="num">Avg R</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr
              key={`${r.owner}/${r.name}`}
              data-testid={
                r.sharedName ? `template-row-${r.name}-${r.owner}` : `template-row-${r.name}`
              }
            >
              <td data-label="Template">
                <Link
                  to={
                    `/prompts/${encodeURIComponent(r.name)}` +
                    (r.sharedName ? `?owner=${encodeURIComponent(r.owner)}` : "")
                  }
                >
                  {r.name}
                </Link>{" "}
                <span className="muted small">{r.latest.owner_username ?? "operator"}</span>
                {r.latest.is_published && (
                  <>
                    {" "}
                    <span className="badge">published</span>
                  </>
                )}
              </td>
              <td data-label="Latest" className="num">
                v{r.latest.version}
              </td>
              <td data-label="Versions" className="num">
                {r.versions}
              </td>
              <td data-label="Last saved">{formatDateTime(r.latest.created_at)}</td>
              <td data-label="Scored version">
                {r.score ? `v${r.score.template_version}` : blank}
              </td>
              <td data-label="Signals" className="num">
                {r.score ? r.score.signals : blank}
              </td>
              <td data-label="Accepted" className="num">
                {r.score ? formatShare(r.score.accepted_share) : blank}
              </td>
              <td data-label="Win rate" className="num">
                {r.score ? formatShare(r.score.win_rate) : blank}
              </td>
              <td data-label="Avg R" className={`num ${rClass(r.score?.avg_r_multiple)}`}>
                {r.score ? formatR(r.score.avg_r_multiple) : blank}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
