import { lazy, Suspense, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError } from "../../../api/client";
import { fieldErrorsOf, useCreatePromptVersion } from "../../../api/prompts";
import { ErrorState, Loading } from "../../ui/QueryState/QueryState";

// CodeMirror loads only when the form is opened (as on the template page).
const JinjaEditor = lazy(() =>
  import("../JinjaEditor/JinjaEditor").then((m) => ({ default: m.JinjaEditor })),
);

const NAME_ID = "new-template-name";
const BODY_ID = "new-template-body";

/**
 * A brand-new prompt template: a name and a Jinja2 body, saved as its version 1
 * (`POST /prompt-templates/`), then opened at `/prompts/<name>`.
 *
 * Inputs: `existingNames`, your own names (saving under one of those would add a version to
 * that template instead, so it is refused here with a link to it); `onCancel`.
 * The API's 400 messages sit beside their fields; anything else is shown on top.
 */
export function NewTemplateForm({
  existingNames,
  onCancel,
}: {
  existingNames: ReadonlySet<string>;
  onCancel: () => void;
}) {
  const create = useCreatePromptVersion();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [body, setBody] = useState("");
  const [clientErrors, setClientErrors] = useState<Record<string, string[]> | null>(null);

  const apiErrors = fieldErrorsOf(create.error);
  const errors = clientErrors ?? apiErrors;
  const nameErrors = errors.name ?? [];
  const bodyErrors = errors.body ?? [];
  const otherErrors = clientErrors
    ? []
    : Object.entries(apiErrors)
        .filter(([field]) => field !== "name" && field !== "body")
        .flatMap(([field, messages]) =>
          field === "non_field_errors" ? messages : messages.map((m) => `${field}: ${m}`),
        );
  const isFieldError = create.error instanceof ApiError && create.error.status === 400;
  const taken = existingNames.has(name.trim()) ? name.trim() : null;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    const found: Record<string, string[]> = {};
    if (!trimmed) found.name = ["Give the template a name."];
    else if (existingNames.has(trimmed))
      found.name = ["A template with this name exists: open it to save a new version."];
    if (!body.trim()) found.body = ["The body cannot be empty."];
    if (Object.keys(found).length) {
      setClientErrors(found);
      return;
    }
    setClientErrors(null);
    create.mutate(
      { name: trimmed, body },
      { onSuccess: ({ template }) => navigate(`/prompts/${encodeURIComponent(template.name)}`) },
    );
  };

  return (
    <form
      className="card form new-template-form"
      onSubmit={submit}
      noValidate
      aria-label="New template"
    >
      <h2>New template</h2>
      {otherErrors.length > 0 && (
        <div className="form-error" role="alert">
          {otherErrors.map((m) => (
            <p key={m}>{m}</p>
          ))}
        </div>
      )}
      {create.isError && !isFieldError && (
        <ErrorState error={create.error} title="Could not create the template" />
      )}
      <div className={`field${nameErrors.length ? " has-error" : ""}`}>
        <label htmlFor={NAME_ID}>Name</label>
        <input
          id={NAME_ID}
          name="name"
          className="mono"
          value={name}
          maxLength={64}
          required
          spellCheck={false}
          autoCapitalize="none"
          onChange={(e) => setName(e.target.value)}
          aria-invalid={nameErrors.length ? true : undefined}
          aria-describedby={`${NAME_ID}-hint${nameErrors.length ? ` ${NAME_ID}-error` : ""}`}
        />
        <p className="field-hint" id={`${NAME_ID}-hint`}>
          Letters, digits, - and _ (at most 64); strategies refer to the template by it.
        </p>
        {nameErrors.length > 0 && (
          <p className="field-error" id={`${NAME_ID}-error`}>
            {nameErrors.join(" ")}
            {taken && (
              <>
                {" "}
                <Link to={`/prompts/${encodeURIComponent(taken)}`}>Open {taken}</Link>
              </>
            )}
          </p>
        )}
      </div>
      <div className={`field${bodyErrors.length ? " has-error" : ""}`}>
        <span className="field-label">Body</span>
        <Suspense fallback={<Loading label="Loading editor…" />}>
          <JinjaEditor
            value={body}
            onChange={setBody}
            label="Template body"
            describedBy={`${BODY_ID}-hint${bodyErrors.length ? ` ${BODY_ID}-error` : ""}`}
            invalid={bodyErrors.length > 0}
          />
        </Suspense>
        <p className="field-hint" id={`${BODY_ID}-hint`}>
          Jinja2, rendered with a run's data (for example <code>{"{{ symbol.symbol }}"}</code>,{" "}
          <code>{"{{ bar_size }}"}</code>). Saved as version 1; later versions are saved from the
          template's page.
        </p>
        {bodyErrors.length > 0 && (
          <p className="field-error" id={`${BODY_ID}-error`}>
            {bodyErrors.join(" ")}
          </p>
        )}
      </div>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create template"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
