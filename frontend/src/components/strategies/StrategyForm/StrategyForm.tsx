import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { ApiError } from "../../../api/client";
import type { Strategy, StrategyInput } from "../../../api/types";
import { ErrorState } from "../../ui/QueryState/QueryState";
import { AnalysisSection } from "./AnalysisSection";
import { BasicsSection } from "./BasicsSection";
import { StrategyFormProvider, type StrategyFormState } from "./fields";
import { IndicatorsSection } from "./IndicatorsSection";
import { LIVE_CONFIRM, RiskSection } from "./RiskSection";
import { ScheduleSection } from "./ScheduleSection";
import {
  buildStrategyInput,
  defaultFormValues,
  errorsFromApi,
  formValuesFromStrategy,
  type FieldErrors,
  type StrategyFormValues,
} from "./strategyForm";

// Every field the API takes: a 400 for one of these is shown beside it, anything else on top.
const FORM_FIELDS: ReadonlySet<string> = new Set<keyof StrategyInput>([
  "name", "slug", "symbol", "bar_size", "lookback", "indicators", "prompt_template", "analyst",
  "llm_model", "llm_temperature", "llm_max_tokens", "llm_endpoint",
  "llm_timeout_s", "llm_accepts_images", "llm_response_format", "llm_fallback_model",
  "schedule_cron", "schedule_timezone", "is_active", "catch_up", "skip_closed_market",
  "capital", "risk_per_trade_pct", "max_position_quantity", "max_order_notional",
  "min_confidence", "min_reward_risk", "max_entry_deviation_pct", "order_type",
  "time_in_force", "trading_mode", "approval", "daily_loss_limit", "max_drawdown_pct",
  "max_failed_runs", "llm_budget_daily_usd", "llm_budget_monthly_usd",
]);

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
  const [values, setValues] = useState<StrategyFormValues>(() =>
    strategy ? formValuesFromStrategy(strategy) : defaultFormValues(),
  );
  const [clientErrors, setClientErrors] = useState<FieldErrors | null>(null);
  const [liveConfirmed, setLiveConfirmed] = useState(false);

  const api = useMemo(() => errorsFromApi(error, FORM_FIELDS), [error]);
  const errors = clientErrors ?? api.fields;
  const isFieldError = error instanceof ApiError && error.status === 400;

  // The submit button is at the bottom of a long form (a whole screen away on a phone): bring
  // the first problem into view and focus its control.
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (!clientErrors && !error) return;
    const first = formRef.current?.querySelector<HTMLElement>(".form-error, .state-error, .has-error");
    first?.scrollIntoView?.({ block: "center" });
    formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus({ preventScroll: true });
  }, [clientErrors, error]);

  const state: StrategyFormState = useMemo(
    () => ({
      values,
      setValues,
      set: (field, value) => setValues((v) => ({ ...v, [field]: value })),
      errors,
    }),
    [values, errors],
  );

  const liveNeedsConfirm = values.trading_mode === "live" && strategy?.trading_mode !== "live";
  const onLiveConfirmed = (confirmed: boolean) => {
    setLiveConfirmed(confirmed);
    // Ticked: its "tick the box" message has been answered.
    if (confirmed && clientErrors?.[LIVE_CONFIRM]) {
      const { [LIVE_CONFIRM]: _answered, ...rest } = clientErrors;
      setClientErrors(Object.keys(rest).length ? rest : null);
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const built = buildStrategyInput(values);
    const found: FieldErrors = { ...built.errors };
    if (liveNeedsConfirm && !liveConfirmed)
      found[LIVE_CONFIRM] = ["Tick the box to confirm live trading."];
    if (Object.keys(found).length || !built.input) {
      setClientErrors(found);
      return;
    }
    setClientErrors(null);
    onSubmit(built.input);
  };

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

      <StrategyFormProvider value={state}>
        <BasicsSection strategy={strategy} />
        <IndicatorsSection />
        <AnalysisSection strategy={strategy} />
        <ScheduleSection />
        <RiskSection
          liveNeedsConfirm={liveNeedsConfirm}
          liveConfirmed={liveConfirmed}
          onLiveConfirmed={onLiveConfirmed}
        />
      </StrategyFormProvider>

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
