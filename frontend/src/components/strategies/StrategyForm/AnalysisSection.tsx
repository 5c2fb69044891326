import { useEffect, useMemo, useState } from "react";
import { usePromptTemplates } from "../../../api/prompts";
import {
  CheckboxField,
  NumberField,
  SelectField,
  TextField,
  useStrategyForm,
  type SelectOption,
} from "./fields";
import { ANALYSTS, latestVersions, RESPONSE_FORMATS } from "./strategyForm";

/** The fields inside "Model settings" (collapsed at first). */
const MODEL_FIELDS = [
  "llm_model", "llm_temperature", "llm_max_tokens", "llm_base_url", "llm_api_key_env",
  "llm_timeout_s", "llm_accepts_images", "llm_response_format", "llm_fallback_model",
];

/** The prompt template (latest versions, or every version to pin one), analyst and model. */
export function AnalysisSection() {
  const { values, errors } = useStrategyForm();
  const templates = usePromptTemplates();
  const [allVersions, setAllVersions] = useState(false);
  const [modelOpen, setModelOpen] = useState(false);

  // Errors in the collapsed model settings must not go unseen.
  const modelHasErrors = MODEL_FIELDS.some((f) => errors[f]?.length);
  useEffect(() => {
    if (modelHasErrors) setModelOpen(true);
  }, [modelHasErrors]);

  const versionList = useMemo(() => templates.data ?? [], [templates.data]);
  const latestIds = useMemo(
    () => new Set(latestVersions(versionList).map((v) => v.id)),
    [versionList],
  );
  const templateOptions = useMemo((): SelectOption[] => {
    const shown = allVersions ? [...versionList] : latestVersions(versionList);
    // Keep the strategy's own version selectable when it is not the latest (a pinned one).
    const current = Number(values.prompt_template);
    if (current && !shown.some((v) => v.id === current)) {
      const pinned = versionList.find((v) => v.id === current);
      if (pinned) shown.push(pinned);
    }
    return shown.map((t) => ({
      value: String(t.id),
      label: `${t.name} v${t.version}${latestIds.has(t.id) ? "" : " (pinned, not the latest)"}`,
    }));
  }, [allVersions, versionList, values.prompt_template, latestIds]);

  return (
    <fieldset className="form-section">
      <legend>Analysis</legend>
      <div className="form-grid">
        <SelectField
          name="prompt_template"
          label="Prompt template"
          placeholder="Choose…"
          loading={templates.isPending}
          options={templateOptions}
          hint={
            templates.isError
              ? `Could not load templates: ${templates.error.message}`
              : templates.isSuccess && versionList.length === 0
                ? "No prompt templates yet: create one first."
                : undefined
          }
        />
        <div className="field field-check field-inline">
          <label>
            <input
              type="checkbox"
              checked={allVersions}
              onChange={(e) => setAllVersions(e.target.checked)}
            />
            Show every version (pin an older one)
          </label>
        </div>
        <SelectField name="analyst" label="Analyst" options={ANALYSTS} />
      </div>
      <details
        className="model-settings"
        open={modelOpen}
        onToggle={(e) => setModelOpen(e.currentTarget.open)}
      >
        <summary>
          Model settings
          {values.analyst === "baseline" && (
            <span className="muted small"> (used by the openai analyst only)</span>
          )}
        </summary>
        <div className="form-grid">
          <TextField
            name="llm_model"
            label="Model"
            hint="Blank: the LLM_MODEL setting."
            maxLength={128}
            spellCheck={false}
          />
          <NumberField
            name="llm_temperature"
            label="Temperature"
            hint="0–2."
            min={0}
            max={2}
            step={0.1}
          />
          <NumberField
            name="llm_max_tokens"
            label="Max tokens"
            hint="16–32000."
            integer
            min={16}
            max={32000}
          />
          <TextField
            name="llm_base_url"
            label="Base URL"
            hint="OpenAI-compatible endpoint; blank: LLM_BASE_URL."
            type="url"
            placeholder="https://…/v1"
            spellCheck={false}
          />
          <TextField
            name="llm_api_key_env"
            label="API key variable"
            hint="The name of the environment variable holding the key, never the key; blank: LLM_API_KEY."
            className="mono"
            placeholder="OPENROUTER_API_KEY"
            spellCheck={false}
            autoCapitalize="characters"
          />
          <NumberField
            name="llm_timeout_s"
            label="Timeout (s)"
            hint="Per attempt, up to 600; blank: LLM_TIMEOUT_S."
            min={0}
            max={600}
          />
          <SelectField
            name="llm_response_format"
            label="Response format"
            options={RESPONSE_FORMATS}
          />
          <TextField
            name="llm_fallback_model"
            label="Fallback model"
            hint="Tried once the main model's attempts are used up; blank: none."
            maxLength={128}
            spellCheck={false}
          />
          <CheckboxField
            name="llm_accepts_images"
            label="Send the chart image"
            hint="Off: a text summary of the chart, for text-only models."
          />
        </div>
      </details>
    </fieldset>
  );
}
