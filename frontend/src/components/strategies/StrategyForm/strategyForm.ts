/**
 * The strategy form's state and its conversion to and from the API's shapes, kept apart from
 * the component so that it can be tested without rendering (as `stepTimeline.ts`).
 *
 * Field names are the API's (`StrategyInputRequest`); values are kept as the text the user
 * typed and converted only on submit, so decimals reach the API exactly as written.
 */
import { ApiError } from "../../../api/client";
import type {
  Analyst,
  CatchUp,
  EntryOrderType,
  LlmResponseFormat,
  PromptTemplateVersion,
  Strategy,
  StrategyInput,
  StrategyPatch,
  TimeInForce,
  TradingMode,
} from "../../../api/types";

type Approval = NonNullable<StrategyInput["approval"]>;

/** Who approves orders before they go out (`Strategy.approval`). */
export const APPROVALS: readonly { value: Approval; label: string }[] = [
  { value: "auto", label: "auto — required when live" },
  { value: "required", label: "required — a person approves each new bracket" },
  { value: "none", label: "none — orders go out at once" },
];

/** IBKR's bar sizes (`apps.marketdata.models.BarSize`). */
export const BAR_SIZES = [
  "1 min",
  "5 mins",
  "15 mins",
  "30 mins",
  "1 hour",
  "4 hours",
  "1 day",
  "1 week",
  "1 month",
] as const;

export const ANALYSTS: readonly { value: Analyst; label: string }[] = [
  { value: "baseline", label: "baseline (rules, no language model)" },
  { value: "openai", label: "openai (OpenAI-compatible endpoint)" },
];

export const RESPONSE_FORMATS: readonly { value: LlmResponseFormat; label: string }[] = [
  { value: "auto", label: "auto (negotiate)" },
  { value: "json_schema", label: "json_schema" },
  { value: "json_object", label: "json_object with schema" },
  { value: "text", label: "plain text" },
];

export const CATCH_UPS: readonly { value: CatchUp; label: string }[] = [
  { value: "latest", label: "run the latest missed slot" },
  { value: "none", label: "skip missed slots" },
];

export const ORDER_TYPES: readonly { value: EntryOrderType; label: string }[] = [
  { value: "LMT", label: "LMT — limit at the entry" },
  { value: "MKT", label: "MKT — market" },
];

export const TIMES_IN_FORCE: readonly { value: TimeInForce; label: string }[] = [
  { value: "DAY", label: "DAY — cancel at day end" },
  { value: "GTC", label: "GTC — good till cancelled" },
];

/** Common TA-Lib functions, offered while typing (any TA-Lib function is accepted). */
export const TALIB_FUNCTIONS = [
  "AD", "ADOSC", "ADX", "APO", "AROON", "ATR", "BBANDS", "CCI", "CMO", "DEMA", "EMA", "KAMA",
  "LINEARREG", "MACD", "MFI", "MOM", "NATR", "OBV", "PPO", "ROC", "RSI", "SAR", "SMA",
  "STDDEV", "STOCH", "STOCHRSI", "TEMA", "TRIX", "ULTOSC", "WILLR", "WMA",
] as const;

/** One indicator entry as the API takes it (`apps.marketdata.indicators`). */
export type IndicatorSpec = { name: string; key?: string; params?: Record<string, number> };

/** Ready-made entries with the periods most strategies start from. */
export const INDICATOR_PRESETS: readonly IndicatorSpec[] = [
  { name: "RSI", params: { timeperiod: 14 } },
  { name: "MACD", params: { fastperiod: 12, slowperiod: 26, signalperiod: 9 } },
  { name: "BBANDS", params: { timeperiod: 20, nbdevup: 2, nbdevdn: 2 } },
  { name: "SMA", key: "SMA50", params: { timeperiod: 50 } },
  { name: "EMA", key: "EMA20", params: { timeperiod: 20 } },
  { name: "ATR", params: { timeperiod: 14 } },
];

/** An indicator being edited; `params` is the text `timeperiod=14, nbdevup=2`. */
export type IndicatorRow = { id: number; name: string; key: string; params: string };

export type StrategyFormValues = {
  name: string;
  slug: string;
  symbol: string;
  bar_size: string;
  lookback: string;
  indicatorRows: IndicatorRow[];
  /** The indicators as JSON text while the JSON mode is on; null in list mode. */
  indicatorsJson: string | null;
  prompt_template: string;
  analyst: Analyst;
  llm_model: string;
  llm_temperature: string;
  llm_max_tokens: string;
  /** The LLM endpoint's id as text; "" = the operator's default endpoint (LLM_BASE_URL). */
  llm_endpoint: string;
  llm_timeout_s: string;
  llm_accepts_images: boolean;
  llm_response_format: LlmResponseFormat;
  llm_fallback_model: string;
  schedule_cron: string;
  schedule_timezone: string;
  catch_up: CatchUp;
  skip_closed_market: boolean;
  is_active: boolean;
  capital: string;
  risk_per_trade_pct: string;
  max_position_quantity: string;
  max_order_notional: string;
  min_confidence: string;
  min_reward_risk: string;
  max_entry_deviation_pct: string;
  order_type: EntryOrderType;
  time_in_force: TimeInForce;
  trading_mode: TradingMode;
  /** Approval before orders: auto (required when live), none or required. */
  approval: Approval;
  /** Automatic triggers and LLM budgets as typed; "" = off (null to the API). */
  daily_loss_limit: string;
  max_drawdown_pct: string;
  max_failed_runs: string;
  llm_budget_daily_usd: string;
  llm_budget_monthly_usd: string;
};

/** Field name → messages; `non_field_errors` for the whole form. */
export type FieldErrors = Record<string, string[]>;

let nextRowId = 1;
/** A fresh row id: React keys must survive removing a row from the middle. */
export const newRowId = () => nextRowId++;

/** `{timeperiod: 14}` → `timeperiod=14`, the text the parameters field edits. */
export function formatParams(params: Record<string, unknown> | undefined): string {
  return Object.entries(params ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(", ");
}

/** `timeperiod=14, nbdevup=2` → `{timeperiod: 14, nbdevup: 2}`; throws on a bad pair. */
export function parseParams(text: string): Record<string, number> {
  const params: Record<string, number> = {};
  for (const part of text.split(/[,;\n]/)) {
    const pair = part.trim();
    if (!pair) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*(\S+)$/.exec(pair);
    const value = match ? Number(match[2]) : NaN;
    if (!match || !Number.isFinite(value)) {
      throw new Error(`"${pair}" is not name=number (e.g. timeperiod=14)`);
    }
    params[match[1]!] = value;
  }
  return params;
}

/** An API indicator entry as a new editable row. */
export function rowFromSpec(spec: IndicatorSpec): IndicatorRow {
  return { id: newRowId(), name: spec.name, key: spec.key ?? "", params: formatParams(spec.params) };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The stored indicators as editable rows, or null when some entry does not fit the list
 * editor (extra fields, non-numeric params): those are edited as JSON so nothing is lost.
 */
export function rowsFromIndicators(value: unknown): IndicatorRow[] | null {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) return null;
  const rows: IndicatorRow[] = [];
  for (const entry of value) {
    if (!isPlainObject(entry) || typeof entry.name !== "string") return null;
    if (Object.keys(entry).some((k) => !["name", "key", "params"].includes(k))) return null;
    if (entry.key !== undefined && typeof entry.key !== "string") return null;
    const params = entry.params ?? {};
    if (!isPlainObject(params)) return null;
    if (Object.values(params).some((p) => typeof p !== "number")) return null;
    rows.push(
      rowFromSpec({
        name: entry.name,
        key: entry.key as string | undefined,
        params: params as Record<string, number>,
      }),
    );
  }
  return rows;
}

/** Rows → the API's entries: blank rows dropped, blank key and empty params left out. */
export function indicatorsFromRows(rows: readonly IndicatorRow[]): IndicatorSpec[] {
  const specs: IndicatorSpec[] = [];
  for (const row of rows) {
    const name = row.name.trim();
    if (!name && !row.key.trim() && !row.params.trim()) continue;
    if (!name) throw new Error("Every indicator needs a TA-Lib function name.");
    const spec: IndicatorSpec = { name: name.toUpperCase() };
    if (row.key.trim()) spec.key = row.key.trim();
    let params: Record<string, number>;
    try {
      params = parseParams(row.params);
    } catch (error) {
      throw new Error(`${spec.key ?? spec.name}: ${(error as Error).message}`);
    }
    if (Object.keys(params).length > 0) spec.params = params;
    specs.push(spec);
  }
  return specs;
}

/** `GOOG daily swing` → `goog-daily-swing` (the slug rule: `[-a-z0-9_]`, at most 64). */
export function slugify(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64)
    .replace(/-+$/, "");
}

/** A new strategy: the model's defaults (`apps/strategies/models.py`), one RSI to start from. */
export function defaultFormValues(): StrategyFormValues {
  return {
    name: "",
    slug: "",
    symbol: "",
    bar_size: "1 day",
    lookback: "200",
    indicatorRows: [rowFromSpec(INDICATOR_PRESETS[0]!)],
    indicatorsJson: null,
    prompt_template: "",
    analyst: "baseline",
    llm_model: "",
    llm_temperature: "0",
    llm_max_tokens: "800",
    llm_endpoint: "",
    llm_timeout_s: "",
    llm_accepts_images: true,
    llm_response_format: "auto",
    llm_fallback_model: "",
    schedule_cron: "0 22 * * 1-5",
    schedule_timezone: "UTC",
    catch_up: "latest",
    skip_closed_market: false,
    is_active: true,
    capital: "100000",
    risk_per_trade_pct: "1",
    max_position_quantity: "1000",
    max_order_notional: "50000",
    min_confidence: "0.6",
    min_reward_risk: "1.5",
    max_entry_deviation_pct: "2",
    order_type: "LMT",
    time_in_force: "DAY",
    trading_mode: "paper",
    approval: "auto",
    daily_loss_limit: "",
    max_drawdown_pct: "",
    max_failed_runs: "",
    llm_budget_daily_usd: "",
    llm_budget_monthly_usd: "",
  };
}

/** A saved strategy as form values (indicators in JSON mode when the list cannot hold them). */
export function formValuesFromStrategy(s: Strategy): StrategyFormValues {
  const rows = rowsFromIndicators(s.indicators);
  return {
    name: s.name,
    slug: s.slug,
    symbol: String(s.symbol),
    bar_size: s.bar_size,
    lookback: String(s.lookback),
    indicatorRows: rows ?? [],
    indicatorsJson: rows ? null : JSON.stringify(s.indicators ?? [], null, 2),
    prompt_template: String(s.prompt_template),
    analyst: s.analyst,
    llm_model: s.llm_model,
    llm_temperature: String(s.llm_temperature),
    llm_max_tokens: String(s.llm_max_tokens),
    llm_endpoint: s.llm_endpoint == null ? "" : String(s.llm_endpoint),
    llm_timeout_s: s.llm_timeout_s == null ? "" : String(s.llm_timeout_s),
    llm_accepts_images: s.llm_accepts_images,
    llm_response_format: s.llm_response_format,
    llm_fallback_model: s.llm_fallback_model,
    schedule_cron: s.schedule_cron,
    schedule_timezone: s.schedule_timezone,
    catch_up: s.catch_up,
    skip_closed_market: s.skip_closed_market,
    is_active: s.is_active,
    capital: s.capital,
    risk_per_trade_pct: s.risk_per_trade_pct,
    max_position_quantity: s.max_position_quantity,
    max_order_notional: s.max_order_notional,
    min_confidence: s.min_confidence,
    min_reward_risk: s.min_reward_risk,
    max_entry_deviation_pct: s.max_entry_deviation_pct,
    order_type: s.order_type,
    time_in_force: s.time_in_force,
    trading_mode: s.trading_mode,
    approval: s.approval ?? "auto",
    daily_loss_limit: s.daily_loss_limit ?? "",
    max_drawdown_pct: s.max_drawdown_pct ?? "",
    max_failed_runs: s.max_failed_runs == null ? "" : String(s.max_failed_runs),
    llm_budget_daily_usd: s.llm_budget_daily_usd ?? "",
    llm_budget_monthly_usd: s.llm_budget_monthly_usd ?? "",
  };
}

/** The indicators of the form, from the list or the JSON text; throws with a message. */
export function indicatorsFromValues(values: StrategyFormValues): unknown {
  if (values.indicatorsJson === null) return indicatorsFromRows(values.indicatorRows);
  try {
    return JSON.parse(values.indicatorsJson || "[]");
  } catch (error) {
    throw new Error(`Not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Form values → the API's body, checking only what the API cannot be sent as typed (a number
 * field that is not a number, indicator text that does not parse, a missing choice); every
 * other rule is the API's, and its 400 answer is shown beside the fields.
 */
export function buildStrategyInput(values: StrategyFormValues): {
  input?: StrategyInput;
  errors: FieldErrors;
} {
  const errors: FieldErrors = {};
  const number = (field: keyof StrategyFormValues, text: string, integer = false) => {
    const trimmed = text.trim();
    const n = Number(trimmed);
    if (!trimmed || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      errors[field] = [integer ? "Enter a whole number." : "Enter a number."];
      return 0;
    }
    return n;
  };
  const required = (field: keyof StrategyFormValues, text: string, message: string) => {
    if (!text.trim()) errors[field] = [message];
    return text.trim();
  };

  let indicators: unknown = [];
  try {
    indicators = indicatorsFromValues(values);
  } catch (error) {
    errors.indicators = [(error as Error).message];
  }
  const symbol = Number(values.symbol);
  if (!values.symbol || !Number.isInteger(symbol)) errors.symbol = ["Choose a symbol."];
  const template = Number(values.prompt_template);
  if (!values.prompt_template || !Number.isInteger(template))
    errors.prompt_template = ["Choose a prompt template."];

  const input: StrategyInput = {
    name: required("name", values.name, "Give the strategy a name."),
    slug: required("slug", values.slug, "Give the strategy a slug."),
    symbol,
    bar_size: values.bar_size,
    lookback: number("lookback", values.lookback, true),
    indicators,
    prompt_template: template,
    analyst: values.analyst,
    llm_model: values.llm_model.trim(),
    llm_temperature: number("llm_temperature", values.llm_temperature),
    llm_max_tokens: number("llm_max_tokens", values.llm_max_tokens, true),
    llm_endpoint: values.llm_endpoint ? Number(values.llm_endpoint) : null,
    llm_timeout_s: values.llm_timeout_s.trim()
      ? number("llm_timeout_s", values.llm_timeout_s)
      : null,
    llm_accepts_images: values.llm_accepts_images,
    llm_response_format: values.llm_response_format,
    llm_fallback_model: values.llm_fallback_model.trim(),
    schedule_cron: values.schedule_cron.trim(),
    schedule_timezone: values.schedule_timezone.trim(),
    is_active: values.is_active,
    catch_up: values.catch_up,
    skip_closed_market: values.skip_closed_market,
    capital: values.capital.trim(),
    risk_per_trade_pct: values.risk_per_trade_pct.trim(),
    max_position_quantity: values.max_position_quantity.trim(),
    max_order_notional: values.max_order_notional.trim(),
    min_confidence: values.min_confidence.trim(),
    min_reward_risk: values.min_reward_risk.trim(),
    max_entry_deviation_pct: values.max_entry_deviation_pct.trim(),
    order_type: values.order_type,
    time_in_force: values.time_in_force,
    trading_mode: values.trading_mode,
    approval: values.approval,
    daily_loss_limit: values.daily_loss_limit.trim() || null,
    max_drawdown_pct: values.max_drawdown_pct.trim() || null,
    max_failed_runs: values.max_failed_runs.trim() ? Number(values.max_failed_runs.trim()) : null,
    llm_budget_daily_usd: values.llm_budget_daily_usd.trim() || null,
    llm_budget_monthly_usd: values.llm_budget_monthly_usd.trim() || null,
  };
  return Object.keys(errors).length ? { errors } : { input, errors };
}

/**
 * The fields of `input` that differ from `strategy` (for a PATCH): compared through the
 * same conversion, so a decimal shown as `100000.00` and left alone is not a change.
 */
export function changedFields(input: StrategyInput, strategy: Strategy): StrategyPatch {
  const before = buildStrategyInput(formValuesFromStrategy(strategy)).input;
  const patch: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(input)) {
    const old = before ? (before as Record<string, unknown>)[field] : undefined;
    if (JSON.stringify(value) !== JSON.stringify(old)) patch[field] = value;
  }
  return patch as StrategyPatch;
}

const asMessages = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [value]).map((m) =>
    typeof m === "string" ? m : JSON.stringify(m),
  );

/**
 * A failed save → messages per form field, and the rest (`non_field_errors`, `detail`, fields
 * the form does not show, or a non-400 error) as general messages for the top of the form.
 */
export function errorsFromApi(
  error: unknown,
  formFields: ReadonlySet<string>,
): { fields: FieldErrors; general: string[] } {
  const fields: FieldErrors = {};
  const general: string[] = [];
  if (error instanceof ApiError && error.status === 400 && error.body && typeof error.body === "object") {
    for (const [field, value] of Object.entries(error.body as Record<string, unknown>)) {
      if (formFields.has(field)) fields[field] = asMessages(value);
      else if (field === "non_field_errors" || field === "detail") general.push(...asMessages(value));
      else general.push(...asMessages(value).map((m) => `${field}: ${m}`));
    }
  } else if (error) {
    general.push(error instanceof Error ? error.message : String(error));
  }
  return { fields, general };
}

/** The latest version of each template name, sorted by name (the default choices). */
export function latestVersions(
  versions: readonly PromptTemplateVersion[],
): PromptTemplateVersion[] {
  const latest = new Map<string, PromptTemplateVersion>();
  for (const v of versions) {
    const seen = latest.get(v.name);
    if (!seen || v.version > seen.version) latest.set(v.name, v);
  }
  return [...latest.values()].sort((a, b) => a.name.localeCompare(b.name));
}
