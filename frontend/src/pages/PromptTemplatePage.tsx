import { lazy, Suspense, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import {
  fieldErrorsOf,
  usePromptScores,
  usePromptTemplates,
  useSavePromptVersion,
  type PromptTemplate,
} from "../api/prompts";
import { useStrategies } from "../api/strategies";
import { PromptPreview } from "../components/prompts/PromptPreview/PromptPreview";
import { ScoresTable } from "../components/prompts/ScoresTable/ScoresTable";
import { ownerKey } from "../components/prompts/TemplatesTable/templateSummary";
import { UseLatestVersion } from "../components/prompts/UseLatestVersion/UseLatestVersion";
import { VersionDiff } from "../components/prompts/VersionDiff/VersionDiff";
import { VersionsTable } from "../components/prompts/VersionsTable/VersionsTable";
import { Empty, ErrorState, Loading, QueryState } from "../components/ui/QueryState/QueryState";
import { formatDateTime } from "../lib/format";

// CodeMirror, with the HTML/CSS/JS grammars Jinja builds on, is most of this page's code;
// as its own chunk it loads only when a template is opened (as Plotly does for run charts).
const JinjaEditor = lazy(() =>
  import("../components/prompts/JinjaEditor/JinjaEditor").then((m) => ({ default: m.JinjaEditor })),
);

/** The diff's right side: a saved version number, or the editor's unsaved text. */
type DiffTarget = number | "draft";

/**
 * The versions of one owner among those of a name: the owner `wanted` (`?owner=`: a user id or
 * "operator"), else the one you may write (your own), else the first listed.
 */
function oneOwner(versions: PromptTemplate[], wanted: string | null): PromptTemplate[] {
  const keys = versions.map(ownerKey);
  const writable = versions.find((v) => v.can_write);
  const key =
    wanted && keys.includes(wanted) ? wanted : writable ? ownerKey(writable) : keys[0];
  return versions.filter((v) => ownerKey(v) === key);
}

/**
 * `/prompts/:name[?owner=]`: one template's versions (with "Use vN in…" to move strategies on
 * older versions to the latest), diff, editor (only when you may save versions of it: your
 * own), preview and scores. Names are per owner; `?owner=` picks one when you may read several
 * templates of that name.
 */
export function PromptTemplatePage() {
  const name = useParams().name ?? "";
  const wantedOwner = useSearchParams()[0].get("owner");
  const versions = usePromptTemplates({ name });
  return (
    <div className="page">
      <p className="small">
        <Link to="/prompts">← All prompts</Link>
      </p>
      <QueryState
        query={versions}
        isEmpty={(d) => d.length === 0}
        empty={
          <>
            No template named <code>{name}</code>.
          </>
        }
        loadingLabel="Loading template…"
        errorTitle="Could not load the template"
      >
        {(d) => {
          const own = oneOwner(d, wantedOwner);
          return (
            // Keyed by owner and name: opening another template starts from its latest body.
            <TemplateWorkbench
              key={`${ownerKey(own[0]!)}/${name}`}
              name={name}
              versions={own}
            />
          );
        }}
      </QueryState>
    </div>
  );
}

function TemplateWorkbench({ name, versions }: { name: string; versions: PromptTemplate[] }) {
  // Newest first, whatever order the API used.
  const sorted = useMemo(() => [...versions].sort((a, b) => b.version - a.version), [versions]);
  const latest = sorted[0]!;
  const byVersion = (n: number) => sorted.find((v) => v.version === n);

  const strategies = useStrategies({ page_size: 200 });
  const scores = usePromptScores();
  const save = useSavePromptVersion();

  // null = follow the default (previous vs latest), so a new version shows up on its own.
  const [diffPick, setDiffPick] = useState<{ from: number; to: DiffTarget } | null>(null);
  const diff = diffPick ?? { from: sorted[1]?.version ?? latest.version, to: latest.version };

  const [draft, setDraft] = useState(latest.body);
  const [draftBase, setDraftBase] = useState(latest.version);
  const [previewPick, setPreviewPick] = useState<number | null>(null);
  const previewId = previewPick ?? latest.id;
  const [notice, setNotice] = useState<string | null>(null);

  const baseBody = byVersion(draftBase)?.body ?? latest.body;
  const dirty = draft !== baseBody;
  const sameAsLatest = draft === latest.body;
  const fieldErrors = fieldErrorsOf(save.error);
  const hasFieldErrors = Object.keys(fieldErrors).length > 0;

  // "Edit from vN" over unsaved changes asks first (they would be lost).
  const [replacing, setReplacing] = useState<PromptTemplate | null>(null);
  const editFrom = (v: PromptTemplate) => {
    setDraft(v.body);
    setDraftBase(v.version);
    setNotice(null);
    setReplacing(null);
  };
  const askEditFrom = (v: PromptTemplate) => {
    if (dirty && draft !== v.body) setReplacing(v);
    else editFrom(v);
  };

  const onSave = () => {
    const previousLatest = latest;
    setNotice(null);
    save.mutate(
      { templateId: latest.id, body: draft },
      {
        onSuccess: ({ template, created }) => {
          setDraftBase(template.version);
          setPreviewPick(template.id);
          if (created) {
            setDiffPick({ from: previousLatest.version, to: template.version });
            setNotice(`Saved as v${template.version}.`);
          } else {
            setNotice(`Nothing new: the text equals v${template.version}, which is kept.`);
          }
        },
      },
    );
  };

  const oldText = byVersion(diff.from)?.body ?? "";
  const newText = diff.to === "draft" ? draft : (byVersion(diff.to)?.body ?? "");
  const newLabel = diff.to === "draft" ? "Editor (unsaved)" : versionLabel(byVersion(diff.to));
  const versionIds = new Set(sorted.map((v) => v.id));
  const ownScores = (scores.data ?? []).filter((s) => versionIds.has(s.template_id));

  return (
    <>
      <div className="page-head">
        <h1>
          {name} <span className="badge">v{latest.version}</span>
        </h1>
        <span className="muted small">
          {latest.owner_username ?? "operator"}
          {latest.is_published ? " · published" : ""} · {sorted.length} version
          {sorted.length === 1 ? "" : "s"} · last saved {formatDateTime(latest.created_at)}
        </span>
      </div>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}

      <section>
        <h2>Versions</h2>
        {strategies.isError && (
          <ErrorState
            error={strategies.error}
            title="Could not load the strategies using these versions"
          />
        )}
        <VersionsTable
          versions={sorted}
          strategies={strategies.data?.results ?? []}
          strategiesStatus={strategies.status}
          onCompare={(v) => {
            const before = sorted.find((o) => o.version < v.version);
            setDiffPick({ from: before?.version ?? v.version, to: v.version });
          }}
          onEdit={askEditFrom}
        />
        {strategies.isSuccess && (
          <UseLatestVersion
            versions={sorted}
            latest={latest}
            strategies={strategies.data.results}
            onSwitched={(s, v) => setNotice(`${s.name} now uses v${v.version}.`)}
          />
        )}
        {replacing && (
          <ConfirmReplace
            question={
              `The editor has unsaved changes (from v${draftBase}). ` +
              `Replace them with the text of v${replacing.version}?`
            }
            onReplace={() => editFrom(replacing)}
            onKeep={() => setReplacing(null)}
          />
        )}
      </section>

      <section>
        <h2>Compare</h2>
        <form className="filters" onSubmit={(e) => e.preventDefault()}>
          <label>
            From
            <select
              value={diff.from}
              onChange={(e) => setDiffPick({ ...diff, from: Number(e.target.value) })}
            >
              {sorted.map((v) => (
                <option key={v.id} value={v.version}>
                  v{v.version}
                </option>
              ))}
            </select>
          </label>
          <label>
            To
            <select
              value={diff.to}
              onChange={(e) =>
                setDiffPick({
                  ...diff,
                  to: e.target.value === "draft" ? "draft" : Number(e.target.value),
                })
              }
            >
              {sorted.map((v) => (
                <option key={v.id} value={v.version}>
                  v{v.version}
                </option>
              ))}
              <option value="draft">Editor (unsaved)</option>
            </select>
          </label>
        </form>
        {sorted.length === 1 && diff.to !== "draft" ? (
          <Empty>
            Only one version so far: save a new one, or compare with the editor's text (To →
            Editor).
          </Empty>
        ) : (
          <VersionDiff
            oldText={oldText}
            newText={newText}
            oldLabel={versionLabel(byVersion(diff.from))}
            newLabel={newLabel}
          />
        )}
      </section>

      {latest.can_write ? (
        <section>
          <h2>Edit</h2>
          <p className="muted small">
            Editing from v{draftBase}
            {dirty ? " — unsaved changes" : ""}.{" "}
            {`Saving stores the text as v${latest.version + 1}; earlier versions stay as they are.`}
          </p>
          <Suspense fallback={<Loading label="Loading editor…" />}>
            <JinjaEditor value={draft} onChange={setDraft} label={`Template body of ${name}`} />
          </Suspense>
          {hasFieldErrors && (
            <ul className="field-errors" role="alert" aria-label="Field errors">
              {Object.entries(fieldErrors).map(([field, messages]) => (
                <li key={field}>
                  <strong>{field}</strong>: {messages.join(" ")}
                </li>
              ))}
            </ul>
          )}
          {save.isError && !hasFieldErrors && (
            <ErrorState error={save.error} title="Could not save the version" />
          )}
          <div className="editor-actions">
            <button
              type="button"
              className="primary"
              disabled={save.isPending || draft === "" || sameAsLatest}
              onClick={onSave}
            >
              {save.isPending ? "Saving…" : `Save as v${latest.version + 1}`}
            </button>
            <button type="button" disabled={!dirty} onClick={() => setDraft(baseBody)}>
              Discard changes
            </button>
            {sameAsLatest && <span className="muted small">Same text as v{latest.version}.</span>}
            {draft === "" && <span className="muted small">The body cannot be empty.</span>}
          </div>
        </section>
      ) : (
        <section>
          <h2>Edit</h2>
          <p className="muted small" data-testid="read-only">
            Read-only: this template is {latest.owner_username ?? "the operator"}
            {"'s"}
            {latest.is_published ? ", published for everyone to read and use" : ""}. To change
            it, save the text as a new template of your own on the Prompts page.
          </p>
        </section>
      )}

      <section>
        <h2>Preview</h2>
        <PromptPreview versions={sorted} versionId={previewId} onVersionId={setPreviewPick} />
      </section>

      <section>
        <h2>Performance</h2>
        <QueryState
          query={scores}
          isEmpty={() => ownScores.length === 0}
          empty="No scores yet: they are computed daily from each version's signals and trades."
          loadingLabel="Loading scores…"
          errorTitle="Could not load scores"
        >
          {() => <ScoresTable scores={ownScores} latestVersion={latest.version} />}
        </QueryState>
      </section>
    </>
  );
}

/** The inline question before unsaved editor text is replaced: Replace, or Keep my changes. */
function ConfirmReplace({
  question,
  onReplace,
  onKeep,
}: {
  question: string;
  onReplace: () => void;
  onKeep: () => void;
}) {
  const keepRef = useRef<HTMLButtonElement>(null);
  // Focus moves to the question, on its safe side.
  useEffect(() => keepRef.current?.focus(), []);
  return (
    <div className="notice notice-warning" role="alertdialog" aria-label="Replace unsaved changes">
      <p>{question}</p>
      <div className="actions">
        <button type="button" onClick={onReplace}>
          Replace
        </button>
        <button ref={keepRef} type="button" onClick={onKeep}>
          Keep my changes
        </button>
      </div>
    </div>
  );
}

function versionLabel(v: PromptTemplate | undefined): string {
  return v ? `v${v.version} · ${formatDateTime(v.created_at)}` : "—";
}
