import { useEffect, useId, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Link } from "react-router";
import { ApiError } from "../../../api/client";
import { usePromptTemplates } from "../../../api/prompts";
import { useSymbols } from "../../../api/symbols";
import type { Strategy, StrategyInput } from "../../../api/types";
import { ErrorState } from "../../ui/QueryState/QueryState";
import {
  ANALYSTS,
  BAR_SIZES,
  buildStrategyInput,
  CATCH_UPS,
  defaultFormValues,
  errorsFromApi,
  formValuesFromStrategy,
  indicatorsFromValues,
  INDICATOR_PRESETS,
  latestVersions,
  newRowId,
  ORDER_TYPES,
  RESPONSE_FORMATS,
  rowFromSpec,
  rowsFromIndicators,
  slugify,
  TALIB_FUNCTIONS,
  TIMES_IN_FORCE,
  type FieldErrors,
  type IndicatorRow,
  type StrategyFormValues,
} from "./strategyForm";

// Every field the API takes: a 400 for one of these is shown beside it, anything else on top.
const FORM_FIELDS: ReadonlySet<string> = new Set<keyof StrategyInput>([
  "name", "slug", "symbol", "bar_size", "lookback", "indicators", "prompt_template", "analyst",
  "llm_model", "llm_temperature", "llm_max_tokens", "llm_base_url", "llm_api_key_env",
  "llm_timeout_s", "llm_accepts_images", "llm_response_format", "llm_fallback_model",
  "schedule_cron", "schedule_timezone", "is_active", "catch_up", "skip_closed_market",
  "capital", "risk_per_trade_pct", "max_position_quantity", "max_order_notional",
  "min_confidence", "min_reward_risk", "max_entry_deviation_pct", "order_type",
  "time_in_force", "trading_mode",
]);

const MODEL_FIELDS = [
  "llm_model", "llm_temperature", "llm_max_tokens", "llm_base_url", "llm_api_key_env",
  "llm_timeout_s", "llm_accepts_images", "llm_response_format", "llm_fallback_model",
];

let timeZones: string[] | undefined;
/** IANA zones the browser knows, for the timezone field's suggestions. */
function knownTimeZones(): string[] {
  if (!timeZones) {
    let zones: string[] = [];
    try {
      zones = Intl.supportedValuesOf?.("timeZone") ?? [];
    } catch {
      zones = [];
    }
    timeZones = ["UTC", ...zones.filter((z) => z !== "UTC")];
  }
  return timeZones;
}

type FieldProps = {
  id: string;
  name: string;
  "aria-invalid": true | undefined;
  "aria-describedby": string | undefined;
};

/** A labelled control with its hint and its error messages, tied by `aria-describedby`. */
function Field({
  name,
  label,
  hint,
  errors,
  className,
  children,
}: {
  name: string;
  label: ReactNode;
  hint?: ReactNode;
  errors: FieldErrors;
  className?: string;
  children: (props: FieldProps) => ReactNode;
}) {
  const id = `strategy-${name}`;
  const messages = errors[name] ?? [];
  const describedBy = [hint ? `${id}-hint` : "", messages.length ? `${id}-error` : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <div className={`field ${className ?? ""}${messages.length ? " has-error" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        name,
        "aria-invalid": messages.length ? true : undefined,
        "aria-describedby": describedBy || undefined,
      })}
      {hint && (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {messages.length > 0 && (
        <p className="field-error" id={`${id}-error`}>
          {messages.join(" ")}
        </p>
      )}
    </div>
  );
}

/** A checkbox with its label after it, and its error messages. */
function CheckField({
  name,
  label,
  hint,
  errors,
  checked,
  onChange,
}: {
  name: string;
  label: ReactNode;
  hint?: ReactNode;
  errors: FieldErrors;
  checked: boolean;
  onChange: (checked: boolean) => void;
}) {
  const id = `strategy-${name}`;
  const messages = errors[name] ?? [];
  const describedBy = [hint ? `${id}-hint` : "", messages.length ? `${id}-error` : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <div className={`field field-check${messages.length ? " has-error" : ""}`}>
      <label htmlFor={id}>
        <input
          id={id}
          name={name}
          type="checkbox"
          checked={checked}
          onChange={(e) => onChange(e.target.checked)}
          aria-invalid={messages.length ? true : undefined}
          aria-describedby={describedBy || undefined}
        />
        {label}
      </label>
      {hint && (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {messages.length > 0 && (
        <p className="field-error" id={`${id}-error`}>
          {messages.join(" ")}
        </p>
      )}
    </div>
  );
}

/**
 * Create or edit a strategy: basics, indicators, analysis, schedule and risk, with the API's
 * 400 messages beside their fields. `strategy` switches to edit mode (prefilled); `onSubmit`
 * gets the full body, the caller decides what to send (POST all, PATCH the changes).
 */
export function StrategyForm({
  strategy,
  submitLabel,
  pendingLabel,
  onSubmit,
  isPending,
  error,
  cancelTo,
}: {
  strategy?: Strategy;
  submitLabel: string;
  pendingLabel: string;
  onSubmit: (input: StrategyInput) => void;
  isPending: boolean;
  error: unknown;
  cancelTo: string;
}) {
  const editing = strategy !== undefined;
  const [values, setValues] = useState<StrategyFormValues>(() =>
    strategy ? formValuesFromStrategy(strategy) : defaultFormValues(),
  );
  // A new strategy's slug follows its name until the user types a slug of their own.
  const [slugEdited, setSlugEdited] = useState(editing);
  const [clientErrors, setClientErrors] = useState<FieldErrors | null>(null);
  const [jsonModeError, setJsonModeError] = useState<string | null>(null);
  const [allVersions, setAllVersions] = useState(false);
  const [modelOpen, setModelOpen] = useState(false);
  const [liveConfirmed, setLiveConfirmed] = useState(false);

  const symbols = useSymbols({ page_size: 200 });
  const templates = usePromptTemplates();
  const datalistId = useId();
  // ~400 zones: built once, so typing elsewhere in the form does not re-render them.
  const timeZoneList = useMemo(
    () => (
      <datalist id={`${datalistId}-tz`}>
        {knownTimeZones().map((z) => (
          <option key={z} value={z} />
        ))}
      </datalist>
    ),
    [datalistId],
  );

  const api = useMemo(() => errorsFromApi(error, FORM_FIELDS), [error]);
  const errors = clientErrors ?? api.fields;
  const isFieldError = error instanceof ApiError && error.status === 400;

  // Errors in the collapsed model settings must not go unseen.
  const modelHasErrors = MODEL_FIELDS.some((f) => errors[f]?.length);
  useEffect(() => {
    if (modelHasErrors) setModelOpen(true);
  }, [modelHasErrors]);

  // The submit button is at the bottom of a long form (a whole screen away on a phone): bring
  // the first problem into view and focus its control.
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (!clientErrors && !error) return;
    const first = formRef.current?.querySelector<HTMLElement>(".form-error, .state-error, .has-error");
    first?.scrollIntoView?.({ block: "center" });
    formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus({ preventScroll: true });
  }, [clientErrors, error]);

  const set = <K extends keyof StrategyFormValues>(field: K, value: StrategyFormValues[K]) =>
    setValues((v) => ({ ...v, [field]: value }));

  // Until the user picks, a new strategy takes the first symbol and template listed.
  const symbolList = symbols.data?.results ?? [];
  const symbolValue = values.symbol || (symbolList[0] ? String(symbolList[0].id) : "");
  const versionList = templates.data ?? [];
  const templateOptions = useMemo(() => {
    const shown = allVersions ? [...versionList] : latestVersions(versionList);
    // Keep the strategy's own version selectable when it is not the latest (a pinned one).
    const current = Number(values.prompt_template);
    if (current && !shown.some((v) => v.id === current)) {
      const pinned = versionList.find((v) => v.id === current);
      if (pinned) shown.push(pinned);
    }
    return shown;
  }, [allVersions, versionList, values.prompt_template]);
  const latestIds = useMemo(
    () => new Set(latestVersions(versionList).map((v) => v.id)),
    [versionList],
  );
  const templateValue =
    values.prompt_template || (templateOptions[0] ? String(templateOptions[0].id) : "");

  const liveNeedsConfirm = values.trading_mode === "live" && strategy?.trading_mode !== "live";

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const built = buildStrategyInput({
      ...values,
      symbol: symbolValue,
      prompt_template: templateValue,
    });
    const found: FieldErrors = { ...built.errors };
    if (liveNeedsConfirm && !liveConfirmed)
      found.trading_mode = ["Tick the box to confirm live trading."];
    if (Object.keys(found).length || !built.input) {
      setClientErrors(found);
      return;
    }
    setClientErrors(null);
    onSubmit(built.input);
  };

  // Indicators -------------------------------------------------------------------------
  const setRow = (id: number, change: Partial<IndicatorRow>) =>
    set(
      "indicatorRows",
      values.indicatorRows.map((r) => (r.id === id ? { ...r, ...change } : r)),
    );
  const toJsonMode = () => {
    try {
      set("indicatorsJson", JSON.stringify(indicatorsFromValues(values), null, 2));
      setJsonModeError(null);
    } catch (e) {
      setJsonModeError((e as Error).message);
    }
  };
  const toListMode = () => {
    let parsed: unknown;
    try {
      parsed = indicatorsFromValues(values);
    } catch (e) {
      setJsonModeError((e as Error).message);
      return;
    }
    const rows = rowsFromIndicators(parsed);
    if (!rows) {
      setJsonModeError(
        "These entries do not fit the list (each needs name, optional key, numeric params).",
      );
      return;
    }
    setJsonModeError(null);
    setValues((v) => ({ ...v, indicatorRows: rows, indicatorsJson: null }));
  };
  const indicatorErrors = errors.indicators ?? [];

  return (
    <form
      ref={formRef}
      className="strategy-form form"
      onSubmit={submit}
      noValidate
      aria-label="Strategy"
    >
      {isFieldError && api.general.length > 0 && (
        <div className="form-error" role="alert">
          {api.general.map((m) => (
            <p key={m}>{m}</p>
          ))}
        </div>
      )}
      {error != null && !isFieldError && (
        <ErrorState error={error} title="Could not save the strategy" />
      )}
      {(clientErrors || (isFieldError && Object.keys(api.fields).length > 0)) && (
        <p className="form-error-summary" role="status">
          Some fields need attention; see the messages below.
        </p>
      )}

      <fieldset className="form-section">
        <legend>Basics</legend>
        <div className="form-grid">
          <Field name="name" label="Name" errors={errors}>
            {(p) => (
              <input
                {...p}
                value={values.name}
                maxLength={128}
                required
                onChange={(e) => {
                  const name = e.target.value;
                  setValues((v) => ({ ...v, name, slug: slugEdited ? v.slug : slugify(name) }));
                }}
              />
            )}
          </Field>
          <Field
            name="slug"
            label="Slug"
            hint="Lowercase letters, digits, - and _; identifies the strategy in files and URLs."
            errors={errors}
          >
            {(p) => (
              <input
                {...p}
                className="mono"
                value={values.slug}
                maxLength={64}
                required
                spellCheck={false}
                autoCapitalize="none"
                onChange={(e) => {
                  setSlugEdited(true);
                  set("slug", e.target.value);
                }}
              />
            )}
          </Field>
          <Field
            name="symbol"
            label="Symbol"
            errors={errors}
            hint={
              symbols.isError
                ? `Could not load symbols: ${symbols.error.message}`
                : symbols.isSuccess && symbolList.length === 0
                  ? "No symbols yet: declare one in a strategies file (apply_strategies) first."
                  : "Money and prices below are in this symbol's currency."
            }
          >
            {(p) => (
              <select
                {...p}
                value={symbolValue}
                disabled={symbols.isPending}
                onChange={(e) => set("symbol", e.target.value)}
              >
                {symbols.isPending && <option value="">Loading…</option>}
                {strategy && !symbolList.some((s) => s.id === strategy.symbol) && (
                  <option value={String(strategy.symbol)}>{strategy.symbol_code}</option>
                )}
                {symbolList.map((s) => (
                  <option key={s.id} value={String(s.id)}>
                    {s.symbol} · {s.exchange} · {s.currency}
                    {s.sec_type !== "STK" ? ` (${s.sec_type})` : ""}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field name="bar_size" label="Bar size" errors={errors}>
            {(p) => (
              <select {...p} value={values.bar_size} onChange={(e) => set("bar_size", e.target.value)}>
                {!(BAR_SIZES as readonly string[]).includes(values.bar_size) && (
                  <option value={values.bar_size}>{values.bar_size}</option>
                )}
                {BAR_SIZES.map((b) => (
                  <option key={b} value={b}>
                    {b}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field name="lookback" label="Lookback (bars)" hint="10–5000 bars." errors={errors}>
            {(p) => (
              <input
                {...p}
                type="number"
                inputMode="numeric"
                min={10}
                max={5000}
                step={1}
                value={values.lookback}
                onChange={(e) => set("lookback", e.target.value)}
              />
            )}
          </Field>
        </div>
      </fieldset>

      <fieldset
        className={`form-section${indicatorErrors.length ? " has-error" : ""}`}
        aria-describedby={indicatorErrors.length ? "strategy-indicators-error" : undefined}
      >
        <legend>Indicators</legend>
        <p className="field-hint">
          TA-Lib functions computed over the bars, drawn on the chart and given to the prompt.
          Parameters as <code>name=value</code> pairs (TA-Lib's defaults for the rest); set a key
          to use a function twice.
        </p>
        {values.indicatorsJson === null ? (
          <>
            <datalist id={datalistId}>
              {TALIB_FUNCTIONS.map((f) => (
                <option key={f} value={f} />
              ))}
            </datalist>
            {values.indicatorRows.length === 0 && <p className="muted small">No indicators.</p>}
            <ol className="indicator-list">
              {values.indicatorRows.map((row, i) => (
                <li key={row.id} className="indicator-row" aria-label={`Indicator ${i + 1}`}>
                  <label>
                    Function
                    <input
                      list={datalistId}
                      className="mono"
                      value={row.name}
                      placeholder="RSI"
                      autoCapitalize="characters"
                      spellCheck={false}
                      onChange={(e) => setRow(row.id, { name: e.target.value })}
                    />
                  </label>
                  <label>
                    Key
                    <input
                      className="mono"
                      value={row.key}
                      placeholder={row.name.toUpperCase() || "optional"}
                      spellCheck={false}
                      onChange={(e) => setRow(row.id, { key: e.target.value })}
                    />
                  </label>
                  <label className="indicator-params">
                    Parameters
                    <input
                      className="mono"
                      value={row.params}
                      placeholder="timeperiod=14"
                      spellCheck={false}
                      onChange={(e) => setRow(row.id, { params: e.target.value })}
                    />
                  </label>
                  <button
                    type="button"
                    className="link-button"
                    aria-label={`Remove indicator ${i + 1}`}
                    onClick={() =>
                      set(
                        "indicatorRows",
                        values.indicatorRows.filter((r) => r.id !== row.id),
                      )
                    }
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ol>
            <div className="indicator-actions">
              <button
                type="button"
                onClick={() =>
                  set("indicatorRows", [
                    ...values.indicatorRows,
                    { id: newRowId(), name: "", key: "", params: "" },
                  ])
                }
              >
                Add indicator
              </button>
              <span className="muted small">Quick add:</span>
              {INDICATOR_PRESETS.map((preset) => (
                <button
                  key={preset.key ?? preset.name}
                  type="button"
                  className="chip"
                  onClick={() =>
                    set("indicatorRows", [...values.indicatorRows, rowFromSpec(preset)])
                  }
                >
                  {preset.key ?? preset.name}
                </button>
              ))}
              <button type="button" className="link-button" onClick={toJsonMode}>
                Edit as JSON
              </button>
            </div>
          </>
        ) : (
          <>
            <label htmlFor="strategy-indicators-json">Indicators (JSON)</label>
            <textarea
              id="strategy-indicators-json"
              className="mono"
              rows={10}
              spellCheck={false}
              value={values.indicatorsJson}
              onChange={(e) => set("indicatorsJson", e.target.value)}
            />
            <p className="field-hint">
              A list of <code>{'{"name": "RSI", "key": "RSI", "params": {"timeperiod": 14}}'}</code>{" "}
              entries.
            </p>
            <div className="indicator-actions">
              <button type="button" className="link-button" onClick={toListMode}>
                Edit as a list
              </button>
            </div>
          </>
        )}
        {jsonModeError && <p className="field-error">{jsonModeError}</p>}
        {indicatorErrors.length > 0 && (
          <p className="field-error" id="strategy-indicators-error">
            {indicatorErrors.join(" ")}
          </p>
        )}
      </fieldset>

      <fieldset className="form-section">
        <legend>Analysis</legend>
        <div className="form-grid">
          <Field
            name="prompt_template"
            label="Prompt template"
            errors={errors}
            hint={
              templates.isError
                ? `Could not load templates: ${templates.error.message}`
                : templates.isSuccess && versionList.length === 0
                  ? "No prompt templates yet: create one first."
                  : undefined
            }
          >
            {(p) => (
              <select
                {...p}
                value={templateValue}
                disabled={templates.isPending}
                onChange={(e) => set("prompt_template", e.target.value)}
              >
                {templates.isPending && <option value="">Loading…</option>}
                {templateOptions.map((t) => (
                  <option key={t.id} value={String(t.id)}>
                    {t.name} v{t.version}
                    {latestIds.has(t.id) ? "" : " (pinned, not the latest)"}
                  </option>
                ))}
              </select>
            )}
          </Field>
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
          <Field name="analyst" label="Analyst" errors={errors}>
            {(p) => (
              <select
                {...p}
                value={values.analyst}
                onChange={(e) => set("analyst", e.target.value as StrategyFormValues["analyst"])}
              >
                {ANALYSTS.map((a) => (
                  <option key={a.value} value={a.value}>
                    {a.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
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
            <Field name="llm_model" label="Model" hint="Blank: the LLM_MODEL setting." errors={errors}>
              {(p) => (
                <input
                  {...p}
                  value={values.llm_model}
                  maxLength={128}
                  spellCheck={false}
                  onChange={(e) => set("llm_model", e.target.value)}
                />
              )}
            </Field>
            <Field name="llm_temperature" label="Temperature" hint="0–2." errors={errors}>
              {(p) => (
                <input
                  {...p}
                  type="number"
                  inputMode="decimal"
                  min={0}
                  max={2}
                  step={0.1}
                  value={values.llm_temperature}
                  onChange={(e) => set("llm_temperature", e.target.value)}
                />
              )}
            </Field>
            <Field name="llm_max_tokens" label="Max tokens" hint="16–32000." errors={errors}>
              {(p) => (
                <input
                  {...p}
                  type="number"
                  inputMode="numeric"
                  min={16}
                  max={32000}
                  step={1}
                  value={values.llm_max_tokens}
                  onChange={(e) => set("llm_max_tokens", e.target.value)}
                />
              )}
            </Field>
            <Field
              name="llm_base_url"
              label="Base URL"
              hint="OpenAI-compatible endpoint; blank: LLM_BASE_URL."
              errors={errors}
            >
              {(p) => (
                <input
                  {...p}
                  type="url"
                  value={values.llm_base_url}
                  placeholder="https://…/v1"
                  spellCheck={false}
                  onChange={(e) => set("llm_base_url", e.target.value)}
                />
              )}
            </Field>
            <Field
              name="llm_api_key_env"
              label="API key variable"
              hint="The name of the environment variable holding the key, never the key; blank: LLM_API_KEY."
              errors={errors}
            >
              {(p) => (
                <input
                  {...p}
                  className="mono"
                  value={values.llm_api_key_env}
                  placeholder="OPENROUTER_API_KEY"
                  spellCheck={false}
                  autoCapitalize="characters"
                  onChange={(e) => set("llm_api_key_env", e.target.value)}
                />
              )}
            </Field>
            <Field
              name="llm_timeout_s"
              label="Timeout (s)"
              hint="Per attempt, up to 600; blank: LLM_TIMEOUT_S."
              errors={errors}
            >
              {(p) => (
                <input
                  {...p}
                  type="number"
                  inputMode="decimal"
                  min={0}
                  max={600}
                  value={values.llm_timeout_s}
                  onChange={(e) => set("llm_timeout_s", e.target.value)}
                />
              )}
            </Field>
            <Field name="llm_response_format" label="Response format" errors={errors}>
              {(p) => (
                <select
                  {...p}
                  value={values.llm_response_format}
                  onChange={(e) =>
                    set(
                      "llm_response_format",
                      e.target.value as StrategyFormValues["llm_response_format"],
                    )
                  }
                >
                  {RESPONSE_FORMATS.map((f) => (
                    <option key={f.value} value={f.value}>
                      {f.label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field
              name="llm_fallback_model"
              label="Fallback model"
              hint="Tried once the main model's attempts are used up; blank: none."
              errors={errors}
            >
              {(p) => (
                <input
                  {...p}
                  value={values.llm_fallback_model}
                  maxLength={128}
                  spellCheck={false}
                  onChange={(e) => set("llm_fallback_model", e.target.value)}
                />
              )}
            </Field>
            <CheckField
              name="llm_accepts_images"
              label="Send the chart image"
              hint="Off: a text summary of the chart, for text-only models."
              errors={errors}
              checked={values.llm_accepts_images}
              onChange={(c) => set("llm_accepts_images", c)}
            />
          </div>
        </details>
      </fieldset>

      <fieldset className="form-section">
        <legend>Schedule</legend>
        <div className="form-grid">
          <Field
            name="schedule_cron"
            label="Schedule (cron)"
            hint="minute hour day-of-month month day-of-week; 0 22 * * 1-5 is 22:00 Monday to Friday."
            errors={errors}
          >
            {(p) => (
              <input
                {...p}
                className="mono"
                value={values.schedule_cron}
                maxLength={128}
                spellCheck={false}
                onChange={(e) => set("schedule_cron", e.target.value)}
              />
            )}
          </Field>
          <Field
            name="schedule_timezone"
            label="Timezone"
            hint="The IANA zone the cron expression is read in."
            errors={errors}
          >
            {(p) => (
              <>
                <input
                  {...p}
                  list={`${datalistId}-tz`}
                  value={values.schedule_timezone}
                  maxLength={64}
                  spellCheck={false}
                  onChange={(e) => set("schedule_timezone", e.target.value)}
                />
                {timeZoneList}
              </>
            )}
          </Field>
          <Field name="catch_up" label="Catch up" hint="After downtime." errors={errors}>
            {(p) => (
              <select
                {...p}
                value={values.catch_up}
                onChange={(e) => set("catch_up", e.target.value as StrategyFormValues["catch_up"])}
              >
                {CATCH_UPS.map((c) => (
                  <option key={c.value} value={c.value}>
                    {c.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <CheckField
            name="skip_closed_market"
            label="Skip closed market days"
            hint="Record slots on days the symbol's exchange has no session as skipped."
            errors={errors}
            checked={values.skip_closed_market}
            onChange={(c) => set("skip_closed_market", c)}
          />
          <CheckField
            name="is_active"
            label="Active"
            hint="Inactive strategies are not scheduled (Run now still works)."
            errors={errors}
            checked={values.is_active}
            onChange={(c) => set("is_active", c)}
          />
        </div>
      </fieldset>

      <fieldset className="form-section">
        <legend>Risk and orders</legend>
        <div className="form-grid">
          {(
            [
              ["capital", "Capital", "In the symbol's currency."],
              ["risk_per_trade_pct", "Risk per trade (%)", "Of capital, lost if the stop is hit; 0–100."],
              ["max_position_quantity", "Max position quantity", "Shares or units."],
              ["max_order_notional", "Max order notional", "Quantity × entry, in the symbol's currency."],
              ["min_confidence", "Min confidence", "0–1."],
              ["min_reward_risk", "Min reward/risk", "|target − entry| / |entry − stop|."],
              ["max_entry_deviation_pct", "Max entry deviation (%)", "From the last close."],
            ] as const
          ).map(([field, label, hint]) => (
            <Field key={field} name={field} label={label} hint={hint} errors={errors}>
              {(p) => (
                <input
                  {...p}
                  inputMode="decimal"
                  value={values[field]}
                  onChange={(e) => set(field, e.target.value)}
                />
              )}
            </Field>
          ))}
          <Field name="order_type" label="Entry order type" errors={errors}>
            {(p) => (
              <select
                {...p}
                value={values.order_type}
                onChange={(e) => set("order_type", e.target.value as StrategyFormValues["order_type"])}
              >
                {ORDER_TYPES.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field name="time_in_force" label="Time in force" errors={errors}>
            {(p) => (
              <select
                {...p}
                value={values.time_in_force}
                onChange={(e) =>
                  set("time_in_force", e.target.value as StrategyFormValues["time_in_force"])
                }
              >
                {TIMES_IN_FORCE.map((t) => (
                  <option key={t.value} value={t.value}>
                    {t.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field
            name="trading_mode"
            label="Trading mode"
            errors={errors}
            className={values.trading_mode === "live" ? "field-live" : undefined}
          >
            {(p) => (
              <select
                {...p}
                value={values.trading_mode}
                onChange={(e) => {
                  set("trading_mode", e.target.value as StrategyFormValues["trading_mode"]);
                  setLiveConfirmed(false);
                }}
              >
                <option value="paper">paper — simulated (safe)</option>
                <option value="live">LIVE — real money (IBKR)</option>
              </select>
            )}
          </Field>
        </div>
        {values.trading_mode === "live" && (
          <div className="live-warning" role="alert">
            <strong>Live trading sends real orders with real money.</strong> Orders go to
            Interactive Brokers (needs <code>BROKER=ibkr</code> and{" "}
            <code>IBKR_READONLY=false</code>; otherwise the order step fails, it never falls back
            to paper).
            {liveNeedsConfirm && (
              <label className="live-confirm">
                <input
                  type="checkbox"
                  checked={liveConfirmed}
                  onChange={(e) => setLiveConfirmed(e.target.checked)}
                />
                I understand: this strategy will trade real money.
              </label>
            )}
          </div>
        )}
      </fieldset>

      <div className="form-actions">
        <button
          type="submit"
          className={values.trading_mode === "live" ? "primary live" : "primary"}
          disabled={isPending}
        >
          {isPending ? pendingLabel : submitLabel}
        </button>
        <Link to={cancelTo}>Cancel</Link>
      </div>
    </form>
  );
}
