import { useMemo, useState } from "react";
import { Link } from "react-router";
import { ApiError } from "../../../api/client";
import { errorCodeOf, usePreviewPrompt, type PromptTemplate } from "../../../api/prompts";
import { useRuns } from "../../../api/runs";
import { useStrategies } from "../../../api/strategies";
import type { RunListItem } from "../../../api/types";
import { formatDateTime } from "../../../lib/format";
import { Empty, ErrorState, Loading } from "../../ui/QueryState/QueryState";
import { splitRunChoices } from "./runChoices";

const RECENT_RUNS = 50;

function runLabel(run: RunListItem): string {
  return `#${run.id} · ${run.strategy.name} · ${formatDateTime(run.as_of)} · ${run.status}`;
}

/** A template or data failure, shown big: it is the answer to "does my template work?". */
function PreviewError({ error, title }: { error: unknown; title: string }) {
  if (error instanceof ApiError && error.needsLogin)
    return <ErrorState error={error} title={title} />;
  const code = errorCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="preview-error" role="alert">
      <div className="preview-error-head">
        <strong>{title}</strong>
        {code && <span className="badge status-failed">{code}</span>}
      </div>
      <pre>{message}</pre>
    </div>
  );
}

/**
 * Renders a saved version against a recent run's data (`POST /prompt-templates/{id}/preview/`).
 *
 * Inputs: `versions` of one template (newest first); `versionId`, the version to render, and
 * `onVersionId` to pick another (the page moves it to a newly saved version). The run picker
 * lists recent runs, those of strategies using this template first.
 * Output: the rendered prompt text, or the API's error (e.g. a Jinja syntax error) with its code.
 */
export function PromptPreview({
  versions,
  versionId,
  onVersionId,
}: {
  versions: readonly PromptTemplate[];
  versionId: number;
  onVersionId: (id: number) => void;
}) {
  const runs = useRuns({ page_size: RECENT_RUNS });
  const strategies = useStrategies({ page_size: 200 });
  const versionIds = useMemo(() => new Set(versions.map((v) => v.id)), [versions]);
  const choices = useMemo(
    () => splitRunChoices(runs.data?.results ?? [], strategies.data?.results ?? [], versionIds),
    [runs.data, strategies.data, versionIds],
  );
  const [pickedRun, setPickedRun] = useState<number | null>(null);
  const runId = pickedRun ?? (choices.usingTemplate[0] ?? choices.others[0])?.id ?? null;
  const preview = usePreviewPrompt();
  const version = versions.find((v) => v.id === versionId);

  // A result belongs to the version and run it was asked for; once either changes it would
  // mislead, so it is shown only while the selection still matches.
  const asked = preview.variables;
  const current = asked !== undefined && asked.templateId === versionId && asked.runId === runId;
  const noRuns = runs.isSuccess && runs.data.results.length === 0;

  return (
    <div className="prompt-preview">
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (runId !== null) preview.mutate({ templateId: versionId, runId });
        }}
      >
        <label>
          Version
          <select value={versionId} onChange={(e) => onVersionId(Number(e.target.value))}>
            {versions.map((v) => (
              <option key={v.id} value={v.id}>
                v{v.version}
              </option>
            ))}
          </select>
        </label>
        <label className="run-picker">
          Run
          <select
            value={runId ?? ""}
            disabled={runId === null}
            onChange={(e) => setPickedRun(Number(e.target.value))}
          >
            {runId === null && (
              <option value="">{runs.isPending ? "Loading runs…" : "No runs"}</option>
            )}
            {choices.usingTemplate.length > 0 && (
              <optgroup label="Strategies using this template">
                {choices.usingTemplate.map((r) => (
                  <option key={r.id} value={r.id}>
                    {runLabel(r)}
                  </option>
                ))}
              </optgroup>
            )}
            {choices.others.length > 0 && (
              <optgroup label="Other recent runs">
                {choices.others.map((r) => (
                  <option key={r.id} value={r.id}>
                    {runLabel(r)}
                  </option>
                ))}
              </optgroup>
            )}
          </select>
        </label>
        <div className="filters-action">
          <button type="submit" className="primary" disabled={runId === null || preview.isPending}>
            {preview.isPending ? "Rendering…" : "Render preview"}
          </button>
        </div>
      </form>
      <p className="muted small">
        The preview renders a saved version with the chosen run's data (its strategy and as-of
        time); no model is called. Save the editor's text as a new version to preview it.
      </p>
      {runs.isError && <ErrorState error={runs.error} title="Could not load runs" />}
      {noRuns && <Empty>No runs yet: run a strategy first, then preview against its data.</Empty>}
      {preview.isPending && <Loading label="Rendering…" />}
      {current && preview.isError && (
        <PreviewError
          error={preview.error}
          title={`Could not render v${version?.version ?? "?"} against run #${asked.runId}`}
        />
      )}
      {current && preview.isSuccess && (
        <>
          <p className="small">
            v{version?.version} rendered against{" "}
            <Link to={`/runs/${asked.runId}`}>run #{asked.runId}</Link>:
          </p>
          <pre className="preview-text" data-testid="preview-text">
            {preview.data.prompt}
          </pre>
        </>
      )}
      {!current && (preview.isSuccess || preview.isError) && (
        <p className="muted small">The selection changed: render again to see it.</p>
      )}
    </div>
  );
}
