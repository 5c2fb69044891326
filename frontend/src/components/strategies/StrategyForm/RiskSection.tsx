import { fieldId, SelectField, TextField, useStrategyForm } from "./fields";
import { APPROVALS, ORDER_TYPES, TIMES_IN_FORCE } from "./strategyForm";

/** The error key of the live-trading confirmation (a form check, not an API field). */
export const LIVE_CONFIRM = "live_confirmed";

const TRADING_MODES = [
  { value: "paper", label: "paper — simulated (safe)" },
  { value: "live", label: "LIVE — real money (IBKR)" },
];

/** Decimal limits, typed as text so they reach the API exactly as written. */
const LIMITS = [
  ["capital", "Capital", "In the symbol's currency."],
  ["risk_per_trade_pct", "Risk per trade (%)", "Of capital, lost if the stop is hit; 0–100."],
  ["max_position_quantity", "Max position quantity", "Shares or units."],
  ["max_order_notional", "Max order notional", "Quantity × entry, in the symbol's currency."],
  ["min_confidence", "Min confidence", "0–1."],
  ["min_reward_risk", "Min reward/risk", "|target − entry| / |entry − stop|."],
  ["max_entry_deviation_pct", "Max entry deviation (%)", "From the last close."],
] as const;

/** Automatic triggers and LLM budgets: empty = off. */
const OPERATION_LIMITS = [
  ["daily_loss_limit", "Daily loss limit", "Realized + unrealized since 00:00 UTC, in the symbol's currency: deactivates the strategy."],
  ["max_drawdown_pct", "Max drawdown (%)", "From the equity high-water mark: deactivates the strategy."],
  ["max_failed_runs", "Max failed runs in a row", "Then the strategy is deactivated."],
  ["llm_budget_daily_usd", "LLM budget per day (USD)", "The llm step fails once reached."],
  ["llm_budget_monthly_usd", "LLM budget per month (USD)", "The llm step fails once reached."],
] as const;

/**
 * Risk limits, the entry order, and the trading mode. Switching to live shows what it means
 * and, when `liveNeedsConfirm`, a box to tick (`liveConfirmed`) before the form submits.
 */
export function RiskSection({
  liveNeedsConfirm,
  liveConfirmed,
  onLiveConfirmed,
}: {
  liveNeedsConfirm: boolean;
  liveConfirmed: boolean;
  onLiveConfirmed: (confirmed: boolean) => void;
}) {
  const { values, set, errors } = useStrategyForm();
  const live = values.trading_mode === "live";
  const confirmId = fieldId("live-confirm");
  const confirmErrors = errors[LIVE_CONFIRM] ?? [];
  return (
    <fieldset className="form-section">
      <legend>Risk and orders</legend>
      <div className="form-grid">
        {LIMITS.map(([field, label, hint]) => (
          <TextField key={field} name={field} label={label} hint={hint} inputMode="decimal" />
        ))}
        <SelectField name="order_type" label="Entry order type" options={ORDER_TYPES} />
        <SelectField name="time_in_force" label="Time in force" options={TIMES_IN_FORCE} />
        <SelectField
          name="trading_mode"
          label="Trading mode"
          options={TRADING_MODES}
          fieldClassName={live ? "field-live" : undefined}
          onChange={(mode) => {
            set("trading_mode", mode as typeof values.trading_mode);
            onLiveConfirmed(false);
          }}
        />
        <SelectField name="approval" label="Approval before orders" options={APPROVALS} />
        {OPERATION_LIMITS.map(([field, label, hint]) => (
          <TextField key={field} name={field} label={label} hint={hint} inputMode="decimal" />
        ))}
      </div>
      {live && (
        <div className="live-warning" role="alert">
          <strong>Live trading sends real orders with real money.</strong> Orders go to
          Interactive Brokers (needs <code>BROKER=ibkr</code> and{" "}
          <code>IBKR_READONLY=false</code>; otherwise the order step fails, it never falls back
          to paper).
          {liveNeedsConfirm && (
            <>
              <label
                className={`live-confirm${confirmErrors.length ? " has-error" : ""}`}
                htmlFor={confirmId}
              >
                <input
                  id={confirmId}
                  type="checkbox"
                  checked={liveConfirmed}
                  onChange={(e) => onLiveConfirmed(e.target.checked)}
                  aria-invalid={confirmErrors.length ? true : undefined}
                  aria-describedby={confirmErrors.length ? `${confirmId}-error` : undefined}
                />
                I understand: this strategy will trade real money.
              </label>
              {confirmErrors.length > 0 && (
                <p className="field-error" id={`${confirmId}-error`}>
                  {confirmErrors.join(" ")}
                </p>
              )}
            </>
          )}
        </div>
      )}
    </fieldset>
  );
}
