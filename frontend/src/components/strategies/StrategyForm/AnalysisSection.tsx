import { useEffect, useMemo, useState } from "react";
import { offeredModels, useLlmEndpoints, type LlmEndpoint } from "../../../api/llmEndpoints";
import { usePromptTemplates } from "../../../api/prompts";
import type { Strategy } from "../../../api/types";
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
  "llm_model", "llm_temperature", "llm_max_tokens", "llm_endpoint",
  "llm_timeout_s", "llm_accepts_images", "llm_response_format", "llm_fallback_model",
];

/** The first choice of the endpoint select: no endpoint object, the LLM_BASE_URL setting. */
export const DEFAULT_ENDPOINT_LABEL = "Operator default (LLM_BASE_URL)";

/** The id of the datalist of the chosen endpoint's models (offered while typing a model). */
const MODELS_LIST_ID = "strategy-llm-offered-models";

/**
 * The endpoint select's choices: the operator default (""), then the active endpoints, and the
 * strategy's saved one even when inactive or not listed (so that editing keeps it as it is).
 */
export function endpointOptions(
  endpoints: readonly LlmEndpoint[],
  saved: string,
  savedName: string | null | undefined,
): SelectOption[] {
  const options: SelectOption[] = [{ value: "", label: DEFAULT_ENDPOINT_LABEL }];
  for (const e of endpoints) {
    const isSaved = saved !== "" && String(e.id) === saved;
    if (!e.is_active && !isSaved) continue;
    options.push({ value: String(e.id), label: e.is_active ? e.name : `${e.name} (inactive)` });
  }
  if (saved !== "" && !endpoints.some((e) => String(e.id) === saved)) {
    options.push({ value: saved, label: `${savedName ?? `Endpoint #${saved}`} (not listed)` });
  }
  return options;
}

/** The prompt template (latest versions, or every version to pin one), analyst and model. */
export function AnalysisSection({ strategy }: { strategy?: Strategy }) {
  const { values, errors } = useStrategyForm();
  const templates = usePromptTemplates();
  const endpoints = useLlmEndpoints();
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

  const endpointList = useMemo(() => endpoints.data ?? [], [endpoints.data]);
  const savedEndpoint = strategy?.llm_endpoint == null ? "" : String(strategy.llm_endpoint);
  const endpointChoices = useMemo(
    () => endpointOptions(endpointList, savedEndpoint, strategy?.llm_endpoint_name),
    [endpointList, savedEndpoint, strategy?.llm_endpoint_name],
  );
  const chosenEndpoint = endpointList.find((e) => String(e.id) === values.llm_endpoint);
  const models = offeredModels(chosenEndpoint);

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
          <SelectField
            name="llm_endpoint"
            label="LLM endpoint"
            loading={endpoints.isPending}
            options={endpointChoices}
            hint={
              endpoints.isError
                ? `Could not load endpoints: ${endpoints.error.message}`
                : chosenEndpoint
                  ? chosenEndpoint.base_url +
                    (chosenEndpoint.has_api_key ? "" : " (no API key stored)")
                  : values.llm_endpoint === ""
                    ? "The LLM_BASE_URL setting, with the LLM_API_KEY key."
                    : undefined
            }
          />
          <TextField
            name="llm_model"
            label="Model"
            hint={
              chosenEndpoint && models.length > 0
                ? `${chosenEndpoint.name} offers ${models.join(", ")}. ` +
                  "Blank: the LLM_MODEL setting."
                : "Blank: the LLM_MODEL setting."
            }
            maxLength={128}
            spellCheck={false}
            list={models.length > 0 ? MODELS_LIST_ID : undefined}
          />
          {models.length > 0 && (
            <datalist id={MODELS_LIST_ID}>
              {models.map((m) => (
                <option key={m} value={m} />
              ))}
            </datalist>
          )}
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
            list={models.length > 0 ? MODELS_LIST_ID : undefined}
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
