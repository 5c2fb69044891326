import { Link } from "react-router";
import type { PromptTemplate } from "../../../api/prompts";
import type { Strategy } from "../../../api/types";
import { formatDateTime } from "../../../lib/format";

const lineCount = (body: string) => (body === "" ? 0 : body.replace(/\n$/, "").split("\n").length);

/**
 * The versions of one template, newest first, with the strategies pinned to each.
 * Inputs: `versions`; `strategies` (the caller's, to show which use which version) and
 * `strategiesStatus` (while they load "Used by" shows "…", if they failed "unknown" rather
 * than a misleading "—"); `onCompare(version)`, diff that version against the one before it;
 * `onEdit(version)`, load its body into the editor.
 */
export function VersionsTable({
  versions,
  strategies,
  strategiesStatus = "success",
  onCompare,
  onEdit,
}: {
  versions: readonly PromptTemplate[];
  strategies: readonly Pick<Strategy, "id" | "name" | "prompt_template">[];
  strategiesStatus?: "pending" | "error" | "success";
  onCompare: (version: PromptTemplate) => void;
  onEdit: (version: PromptTemplate) => void;
}) {
  const oldest = Math.min(...versions.map((v) => v.version));
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Version</th>
            <th>Saved</th>
            <th className="num">Lines</th>
            <th>Used by</th>
            <th>
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => {
            const users = strategies.filter((s) => s.prompt_template === v.id);
            return (
              <tr key={v.id} data-testid={`version-row-${v.version}`}>
                <td data-label="Version">
                  <strong>v{v.version}</strong>
                </td>
                <td data-label="Saved">{formatDateTime(v.created_at)}</td>
                <td data-label="Lines" className="num">
                  {lineCount(v.body)}
                </td>
                <td data-label="Used by">
                  {strategiesStatus === "pending" ? (
                    <span className="muted" title="Loading the strategies…">
                      …
                    </span>
                  ) : strategiesStatus === "error" ? (
                    <span className="muted" title="The strategies could not be loaded.">
                      unknown
                    </span>
                  ) : users.length === 0
                    ? "—"
                    : users.map((s, i) => (
                        <span key={s.id}>
                          {i > 0 && ", "}
                          <Link to={`/strategies/${s.id}`}>{s.name}</Link>
                        </span>
                      ))}
                </td>
                <td data-label="">
                  <div className="row-actions">
                    {v.version > oldest && (
                      <button type="button" className="link-button" onClick={() => onCompare(v)}>
                        Diff with previous
                      </button>
                    )}
                    <button type="button" className="link-button" onClick={() => onEdit(v)}>
                      Edit from v{v.version}
                    </button>
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
