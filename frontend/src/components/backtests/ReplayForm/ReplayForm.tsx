import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";
import {
  type Backtest,
  LLM_CACHE_MODES,
  type LlmCacheMode,
  type ReplayInput,
  type ReplayVariantInput,
  useCreateReplay,
  useEstimateReplay,
} from "../../../api/backtests";
import { useLlmEndpoints } from "../../../api/llmEndpoints";
import { buildGetStrategyQuery, buildListStrategiesQuery } from "../../../api/strategies";
import type { Analyst, Strategy } from "../../../api/types";
import { formatUsd } from "../../../lib/format";
import { AnalystSelect, createForm, PromptVersionSelect } from "../VariantFields/VariantFields";
import { ErrorState } from "../../ui/QueryState/QueryState";

interface VariantRow {
  key: number;
  label: string;
  llm_model: string;
  prompt_version: string; // "" = the strategy's own
  endpoint: string; // an endpoint id; "" = the strategy's own
  analyst: Analyst | "";
}

const newRow = (key: number): VariantRow => ({
  key,
  label: "",
  llm_model: "",
  prompt_version: "",
  endpoint: "",
  analyst: "",
});

/** At most this many variants beside the original (the API's limit). */
const MAX_VARIANTS = 8;

/** The strategy choice and window of a replay of a strategy's own live runs. */
function StrategyWindow({
  strategyId,
  setStrategyId,
  start,
  setStart,
  end,
  setEnd,
  strategy,
  strategies,
}: {
  strategyId: string;
  setStrategyId: (v: string) => void;
  start: string;
  setStart: (v: string) => void;
  end: string;
  setEnd: (v: string) => void;
  strategy: Strategy | undefined;
  strategies: Strategy[];
}) {
  return (
    <>
      <div className="field">
        <label htmlFor="rp-strategy">Strategy</label>
        <select id="rp-strategy" required value={strategyId} onChange={(e) => setStrategyId(e.target.value)}>
          <option value="">Choose…</option>
          {strategies.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name} ({s.slug})
            </option>
          ))}
        </select>
        {strategy && (
          <p className="field-hint">
            {strategy.symbol_code} · {strategy.analyst}
            {strategy.llm_model ? ` ${strategy.llm_model}` : ""}: its scheduled, manual and API runs
            with an as-of in the window are replayed.
          </p>
        )}
      </div>
      <div className="field">
        <label htmlFor="rp-start">Start (UTC date)</label>
        <input id="rp-start" type="date" required value={start} onChange={(e) => setStart(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="rp-end">End (UTC date, included)</label>
        <input id="rp-end" type="date" required value={end} onChange={(e) => setEnd(e.target.value)} />
      </div>
    </>
  );
}

/**
 * A new replay: stored runs re-executed from the llm step with other models, prompt versions,
 * analysts or LLM endpoints, beside the original (variant 1, answering with the runs' recorded
 * answers). The source is `backtest`'s variant chosen here (its window), or else a strategy of
 * yours (`strategyId` preselects it) and a window of its live runs. "Estimate cost" shows the
 * LLM cost estimate and the source runs; "Start replay" refuses above the cost limit until
 * "Start anyway"; once created, the replay's page opens.
 */
export function ReplayForm({ backtest, strategyId: initialStrategy = "" }: { backtest?: Backtest; strategyId?: string }) {
  const navigate = useNavigate();
  const strategies = useQuery({ ...buildListStrategiesQuery({ page_size: 200 }), enabled: !backtest });
  const ofBacktest = useQuery({ ...buildGetStrategyQuery(backtest?.strategy ?? 0), enabled: Boolean(backtest) });
  const endpoints = useLlmEndpoints();
  const [strategyId, setStrategyId] = useState(initialStrategy);
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");
  const [position, setPosition] = useState(backtest?.variants[0]?.position ?? 1);
  const [cache, setCache] = useState<LlmCacheMode>("off");
  const [maxCost, setMaxCost] = useState("");
  const [rows, setRows] = useState<VariantRow[]>([newRow(1)]);
  const estimate = useEstimateReplay();
  const create = useCreateReplay();
  const strategy = backtest
    ? ofBacktest.data
    : strategies.data?.results.find((s) => String(s.id) === strategyId);

  const body = (confirm: boolean): ReplayInput => ({
    ...(backtest
      ? { source_backtest: backtest.id, source_position: position }
      : { strategy: strategyId, start, end, source_position: 1 }),
    llm_cache: cache,
    confirm,
    ...(maxCost.trim() ? { max_cost: maxCost.trim() } : {}),
    variants: rows.map(
      (r): ReplayVariantInput => ({
        label: r.label.trim(),
        llm_model: r.llm_model.trim(),
        ...(r.prompt_version ? { prompt_version: Number(r.prompt_version) } : {}),
        endpoint: r.endpoint,
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
    2,
  );
  const ready = backtest ? true : Boolean(strategyId && start && end);

  return (
    <form onSubmit={onSubmit} aria-label="New replay">
      <fieldset className="form-section">
        <legend>What to replay</legend>
        <div className="form-grid">
          {backtest ? (
            <div className="field">
              <label htmlFor="rp-source">Runs of variant</label>
              <select id="rp-source" value={position} onChange={(e) => setPosition(Number(e.target.value))}>
                {backtest.variants.map((v) => (
                  <option key={v.position} value={v.position}>
                    {v.position}. {v.label}
                  </option>
                ))}
              </select>
              <p className="field-hint">Its finished runs over the window of {backtest.kind} #{backtest.id}.</p>
            </div>
          ) : (
            <StrategyWindow
              strategyId={strategyId}
              setStrategyId={(v) => {
                setStrategyId(v);
                setRows((rs) => rs.map((r) => ({ ...r, prompt_version: "" })));
              }}
              start={start}
              setStart={setStart}
              end={end}
              setEnd={setEnd}
              strategy={strategy}
              strategies={strategies.data?.results ?? []}
            />
          )}
          <div className="field">
            <label htmlFor="rp-cache">LLM answer cache</label>
            <select id="rp-cache" value={cache} onChange={(e) => setCache(e.target.value as LlmCacheMode)}>
              {LLM_CACHE_MODES.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
            <p className="field-hint">Of the variants' runs; the original answers with the recorded answers.</p>
          </div>
          <div className="field">
            <label htmlFor="rp-max-cost">Max LLM cost (USD)</label>
            <input
              id="rp-max-cost"
              type="number"
              min="0"
              step="0.01"
              value={maxCost}
              onChange={(e) => setMaxCost(e.target.value)}
            />
            <p className="field-hint">Refuse to start above this estimate; blank: no limit.</p>
          </div>
        </div>
      </fieldset>
      <fieldset className="form-section">
        <legend>Variants beside the original</legend>
        {rows.map((r, i) => (
          <div className="form-grid" key={r.key} role="group" aria-label={`Replay variant ${i + 2}`}>
            <div className="field">
              <label htmlFor={`rp-v${r.key}-label`}>Label</label>
              <input id={`rp-v${r.key}-label`} maxLength={128} value={r.label} onChange={(e) => update(r.key, { label: e.target.value })} />
            </div>
            <div className="field">
              <label htmlFor={`rp-v${r.key}-model`}>Model</label>
              <input
                id={`rp-v${r.key}-model`}
                placeholder={strategy?.llm_model || "strategy's own"}
                value={r.llm_model}
                onChange={(e) => update(r.key, { llm_model: e.target.value })}
              />
            </div>
            <div className="field">
              <label htmlFor={`rp-v${r.key}-prompt`}>Prompt version</label>
              <PromptVersionSelect
                id={`rp-v${r.key}-prompt`}
                strategy={strategy}
                value={r.prompt_version}
                onChange={(v) => update(r.key, { prompt_version: v })}
              />
            </div>
            <div className="field">
              <label htmlFor={`rp-v${r.key}-endpoint`}>LLM endpoint</label>
              <select id={`rp-v${r.key}-endpoint`} value={r.endpoint} onChange={(e) => update(r.key, { endpoint: e.target.value })}>
                <option value="">strategy's own</option>
                {endpoints.data?.map((ep) => (
                  <option key={ep.id} value={String(ep.id)}>
                    {ep.name}
                    {ep.owner === null ? "" : " (yours)"}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor={`rp-v${r.key}-analyst`}>Analyst</label>
              <AnalystSelect
                id={`rp-v${r.key}-analyst`}
                value={r.analyst}
                onChange={(v) => update(r.key, { analyst: v })}
              />
            </div>
            {rows.length > 1 && (
              <div className="field filters-action">
                <button type="button" className="link-button" onClick={() => setRows((rs) => rs.filter((x) => x.key !== r.key))}>
                  Remove variant {i + 2}
                </button>
              </div>
            )}
          </div>
        ))}
        <p>
          <button
            type="button"
            disabled={rows.length >= MAX_VARIANTS}
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
        <p className="notice" data-testid="replay-estimate">
          Estimated LLM cost: <strong>{formatUsd(estimate.data.estimate_usd)}</strong> for{" "}
          {estimate.data.sources} source runs × {estimate.data.variants} variant(s), the original
          free (no cache hits counted).
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
      {otherError && <ErrorState error={otherError} title="Could not start the replay" />}
      <div className="row-actions">
        <button type="button" disabled={estimate.isPending || !ready} onClick={() => estimate.mutate(body(false))}>
          {estimate.isPending ? "Estimating…" : "Estimate cost"}
        </button>
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? "Starting…" : "Start replay"}
        </button>
      </div>
    </form>
  );
}
