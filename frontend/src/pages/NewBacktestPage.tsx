import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import {
  type BacktestInput,
  type BacktestVariantInput,
  LLM_CACHE_MODES,
  type LlmCacheMode,
  useCreateBacktest,
  useEstimateBacktest,
} from "../api/backtests";
import { useStrategies } from "../api/strategies";
import type { Analyst } from "../api/types";
import {
  AnalystSelect,
  createForm,
  errorLines,
  PromptVersionSelect,
} from "../components/backtests/VariantFields/VariantFields";
import { ErrorState } from "../components/ui/QueryState/QueryState";
import { formatUsd } from "../lib/format";

export { errorLines };

interface VariantRow {
  key: number;
  label: string;
  llm_model: string;
  prompt_version: string; // "" = the strategy's own
  analyst: Analyst | "";
}

const newRow = (key: number, label = ""): VariantRow => ({
  key,
  label,
  llm_model: "",
  prompt_version: "",
  analyst: "",
});

/**
 * A new walk-forward backtest: a strategy of yours (`?strategy=<id>` preselects it), the
 * window (UTC dates, both days included), variants (model, prompt version, analyst; blank:
 * the strategy's own), the LLM answer cache mode, a cost limit and the leakage guard
 * (`anonymise`: no ticker or date shown to the model). "Estimate" shows the LLM
 * cost estimate; "Start" refuses above the limit until "Start anyway".
 */
export function NewBacktestPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const strategies = useStrategies({ page_size: 200 });
  const [strategyId, setStrategyId] = useState(params.get("strategy") ?? "");
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");
  const [cache, setCache] = useState<LlmCacheMode>("off");
  const [maxCost, setMaxCost] = useState("");
  const [anonymise, setAnonymise] = useState(false);
  const [rows, setRows] = useState<VariantRow[]>([newRow(1, "base")]);
  const estimate = useEstimateBacktest();
  const create = useCreateBacktest();
  const strategy = strategies.data?.results.find((s) => String(s.id) === strategyId);

  const body = (confirm: boolean): BacktestInput => ({
    strategy: strategyId,
    start,
    end,
    llm_cache: cache,
    anonymise,
    confirm,
    ...(maxCost.trim() ? { max_cost: maxCost.trim() } : {}),
    variants: rows.map(
      (r): BacktestVariantInput => ({
        label: r.label.trim(),
        llm_model: r.llm_model.trim(),
        ...(r.prompt_version ? { prompt_version: Number(r.prompt_version) } : {}),
        analyst: r.analyst,
      }),
    ),
  });

  const update = (key: number, patch: Partial<VariantRow>) =>
    setRows((rs) => rs.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const { start: start_, onSubmit, refusal, fieldErrors, otherError } = createForm(
    create,
    estimate,
    body,
    (id) => void navigate(`/backtests/${id}`),
  );

  return (
    <div className="page">
      <p>
        <Link to="/backtests">← Backtests</Link>
      </p>
      <h1>New backtest</h1>
      <form onSubmit={onSubmit} aria-label="New backtest">
        <fieldset className="form-section">
          <legend>Strategy and window</legend>
          <div className="form-grid">
            <div className="field">
              <label htmlFor="bt-strategy">Strategy</label>
              <select
                id="bt-strategy"
                required
                value={strategyId}
                onChange={(e) => {
                  setStrategyId(e.target.value);
                  setRows((rs) => rs.map((r) => ({ ...r, prompt_version: "" })));
                }}
              >
                <option value="">Choose…</option>
                {strategies.data?.results.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name} ({s.slug})
                  </option>
                ))}
              </select>
              {strategy && (
                <p className="field-hint">
                  {strategy.symbol_code} · {strategy.schedule_cron} {strategy.schedule_timezone} ·{" "}
                  {strategy.analyst}
                  {strategy.llm_model ? ` ${strategy.llm_model}` : ""}
                </p>
              )}
            </div>
            <div className="field">
              <label htmlFor="bt-start">Start (UTC date)</label>
              <input id="bt-start" type="date" required value={start} onChange={(e) => setStart(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="bt-end">End (UTC date, included)</label>
              <input id="bt-end" type="date" required value={end} onChange={(e) => setEnd(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="bt-cache">LLM answer cache</label>
              <select id="bt-cache" value={cache} onChange={(e) => setCache(e.target.value as LlmCacheMode)}>
                {LLM_CACHE_MODES.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
              <p className="field-hint">off: always call; use: reuse stored answers; only: never call; refresh: call and store.</p>
            </div>
            <div className="field">
              <label htmlFor="bt-max-cost">Max LLM cost (USD)</label>
              <input
                id="bt-max-cost"
                type="number"
                min="0"
                step="0.01"
                value={maxCost}
                onChange={(e) => setMaxCost(e.target.value)}
              />
              <p className="field-hint">Refuse to start above this estimate; blank: no limit.</p>
            </div>
            <div className="field">
              <label htmlFor="bt-anonymise">
                <input
                  id="bt-anonymise"
                  type="checkbox"
                  checked={anonymise}
                  onChange={(e) => setAnonymise(e.target.checked)}
                />{" "}
                Anonymise (leakage guard)
              </label>
              <p className="field-hint">
                The model sees no ticker, company name or date: it cannot recall what happened in
                the window.
              </p>
            </div>
          </div>
        </fieldset>
        <fieldset className="form-section">
          <legend>Variants</legend>
          {rows.map((r, i) => (
            <div className="form-grid" key={r.key} data-testid={`variant-${i + 1}`} role="group" aria-label={`Variant ${i + 1}`}>
              <div className="field">
                <label htmlFor={`bt-v${r.key}-label`}>Label</label>
                <input id={`bt-v${r.key}-label`} maxLength={128} value={r.label} onChange={(e) => update(r.key, { label: e.target.value })} />
              </div>
              <div className="field">
                <label htmlFor={`bt-v${r.key}-model`}>Model</label>
                <input
                  id={`bt-v${r.key}-model`}
                  placeholder={strategy?.llm_model || "strategy's own"}
                  value={r.llm_model}
                  onChange={(e) => update(r.key, { llm_model: e.target.value })}
                />
              </div>
              <div className="field">
                <label htmlFor={`bt-v${r.key}-prompt`}>Prompt version</label>
                <PromptVersionSelect
                  id={`bt-v${r.key}-prompt`}
                  strategy={strategy}
                  value={r.prompt_version}
                  onChange={(v) => update(r.key, { prompt_version: v })}
                />
              </div>
              <div className="field">
                <label htmlFor={`bt-v${r.key}-analyst`}>Analyst</label>
                <AnalystSelect
                  id={`bt-v${r.key}-analyst`}
                  value={r.analyst}
                  onChange={(v) => update(r.key, { analyst: v })}
                />
              </div>
              {rows.length > 1 && (
                <div className="field filters-action">
                  <button type="button" className="link-button" onClick={() => setRows((rs) => rs.filter((x) => x.key !== r.key))}>
                    Remove variant {i + 1}
                  </button>
                </div>
              )}
            </div>
          ))}
          <p>
            <button
              type="button"
              disabled={rows.length >= 8}
              onClick={() => setRows((rs) => [...rs, newRow(Math.max(...rs.map((x) => x.key)) + 1)])}
            >
              Add variant
            </button>
          </p>
        </fieldset>
        {fieldErrors.length > 0 && (
          <ul className="field-errors" role="alert" aria-label="Errors">
            {fieldErrors.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        )}
        {estimate.data && !estimate.isError && (
          <p className="notice" data-testid="estimate">
            Estimated LLM cost: <strong>{formatUsd(estimate.data.estimate_usd)}</strong> for{" "}
            {estimate.data.slots} slots × {estimate.data.variants} variant(s) (no cache hits
            counted).
          </p>
        )}
        {refusal && (
          <div className="notice notice-warning" role="alert">
            <p>
              The estimated LLM cost {formatUsd(refusal.estimate_usd)} is above your limit of{" "}
              {formatUsd(refusal.max_cost_usd)}.
            </p>
            <button type="button" className="danger" disabled={create.isPending} onClick={() => start_(true)}>
              Start anyway
            </button>
          </div>
        )}
        {otherError && <ErrorState error={otherError} title="Could not start the backtest" />}
        <div className="row-actions">
          <button
            type="button"
            disabled={estimate.isPending || !strategyId || !start || !end}
            onClick={() => estimate.mutate(body(false))}
          >
            {estimate.isPending ? "Estimating…" : "Estimate cost"}
          </button>
          <button type="submit" className="primary" disabled={create.isPending}>
            {create.isPending ? "Starting…" : "Start backtest"}
          </button>
        </div>
      </form>
    </div>
  );
}
