import { useState } from "react";
import { Link, useParams } from "react-router";
import {
  type Backtest,
  type BacktestReport,
  backtestOrigin,
  costRefusal,
  leakyRows,
  isActive,
  POLL_MS,
  reportCsvUrl,
  reportJsonUrl,
  useBacktest,
  useBacktestReport,
  useBacktestSeries,
  useBacktestTrades,
  useCancelBacktest,
  useResumeBacktest,
} from "../api/backtests";
import { BacktestChart } from "../components/backtests/BacktestChart/BacktestChart";
import { BacktestProgress } from "../components/backtests/BacktestProgress/BacktestProgress";
import { ReplayForm } from "../components/backtests/ReplayForm/ReplayForm";
import { ReportTable } from "../components/backtests/ReportTable/ReportTable";
import { TradesTable } from "../components/backtests/TradesTable/TradesTable";
import { ErrorState, QueryState } from "../components/ui/QueryState/QueryState";
import { StatusBadge } from "../components/ui/StatusBadge/StatusBadge";
import { formatDateTime, formatUsd } from "../lib/format";
import { windowText } from "./BacktestsPage";
import { useNumericParam } from "./params";

function VariantTrades({ backtest, refetch }: { backtest: Backtest; refetch: number | false }) {
  const [position, setPosition] = useState(backtest.variants[0]?.position ?? 1);
  const trades = useBacktestTrades(backtest.id, position, refetch);
  return (
    <>
      {backtest.variants.length > 1 && (
        <div className="filters">
          <label>
            Variant
            <select value={position} onChange={(e) => setPosition(Number(e.target.value))}>
              {backtest.variants.map((v) => (
                <option key={v.position} value={v.position}>
                  {v.position}. {v.label}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      <QueryState query={trades} errorTitle="Could not load the trades">
        {(t) => (
          <TradesTable
            trades={t.trades}
            currency={t.currency}
            label={`Trades of variant ${t.variant}: ${t.label}`}
          />
        )}
      </QueryState>
    </>
  );
}

/**
 * The report's leakage banner: shown when any variant's model may have seen the window (its
 * knowledge cutoff is on or after the window's first day), naming each such variant and span.
 */
export function LeakageBanner({ report }: { report: BacktestReport }) {
  const rows = leakyRows(report);
  if (rows.length === 0) return null;
  return (
    <div className="notice notice-warning leakage-banner" role="alert" data-testid="leakage-banner">
      <p>
        <strong>The model may have seen this period</strong>: its training data reaches into the
        window, so its results may reflect memory rather than skill
        {report.anonymise ? " (the runs were anonymised)" : "; consider an anonymised backtest"}.
      </p>
      <ul>
        {rows.map((row) => (
          <li key={row.variant}>
            {row.variant}. {row.label}: knowledge cutoff {row.knowledge_cutoff}
            {row.leakage_span ? `, over ${row.leakage_span.start} → ${row.leakage_span.end}` : ""}
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * One backtest or replay (a replay names what it replays, linking the source backtest): its
 * kind, whether it is anonymised, progress per variant (polled while it runs), cancel or resume, the report
 * (variants and reference rows), equity and drawdown charts with the variants overlaid, each
 * variant's trades linking to their runs' lineage, and JSON/CSV exports. "Replay with…" opens
 * the replay form for one of its variants' runs (other models, prompt versions, endpoints).
 */
export function BacktestPage() {
  const id = useNumericParam(useParams().id);
  const backtest = useBacktest(id);
  const running = isActive(backtest.data?.status);
  const refetch = running ? POLL_MS * 5 : false;
  const report = useBacktestReport(id, refetch);
  const series = useBacktestSeries(id, refetch);
  const cancel = useCancelBacktest();
  const resume = useResumeBacktest();
  const refusal = costRefusal(resume.error);
  // the form belongs to this backtest: opening the new replay's page closes it
  const [replayingFor, setReplayingFor] = useState<number | null>(null);
  const replaying = replayingFor === id;
  return (
    <div className="page">
      <p>
        <Link to="/backtests">← Backtests</Link>
      </p>
      <QueryState query={backtest} errorTitle="Could not load the backtest">
        {(b) => (
          <>
            <div className="page-head">
              <h1>
                {b.kind === "replay" ? "Replay" : "Backtest"} #{b.id} of{" "}
                <Link to={`/strategies/${b.strategy}`}>{b.strategy_name}</Link>{" "}
                <StatusBadge status={b.status} />
              </h1>
              <div className="actions">
                {b.can_cancel && (
                  <button
                    type="button"
                    className="danger"
                    disabled={cancel.isPending}
                    onClick={() => cancel.mutate(b.id)}
                  >
                    {cancel.isPending ? "Cancelling…" : "Cancel"}
                  </button>
                )}
                {b.can_resume && (
                  <button
                    type="button"
                    className="primary"
                    disabled={resume.isPending}
                    onClick={() => resume.mutate({ id: b.id })}
                  >
                    {resume.isPending ? "Resuming…" : "Resume"}
                  </button>
                )}
                <button type="button" aria-expanded={replaying} onClick={() => setReplayingFor(replaying ? null : id)}>
                  Replay with…
                </button>
                <a className="button" href={reportJsonUrl(b.id)} download={`backtest-${b.id}.json`}>
                  Export JSON
                </a>
                <a className="button" href={reportCsvUrl(b.id)}>
                  Export CSV
                </a>
              </div>
            </div>
            {cancel.isError && <ErrorState error={cancel.error} title="Could not cancel" />}
            {resume.isError && !refusal && <ErrorState error={resume.error} title="Could not resume" />}
            {refusal && (
              <div className="notice notice-warning" role="alert">
                <p>{refusal.detail}</p>
                <button type="button" onClick={() => resume.mutate({ id: b.id, confirm: true })}>
                  Resume anyway ({formatUsd(refusal.estimate_usd)})
                </button>
              </div>
            )}
            <dl className="facts">
              <div>
                <dt>Kind</dt>
                <dd data-testid="backtest-origin">
                  {b.kind === "replay" && b.source_backtest !== null ? (
                    <>
                      Replay of <Link to={`/backtests/${b.source_backtest}`}>backtest {b.source_backtest}</Link>
                      {b.source_variant_label ? ` (variant ${b.source_variant_label})` : ""}
                    </>
                  ) : (
                    backtestOrigin(b)
                  )}
                </dd>
              </div>
              <div>
                <dt>Anonymised</dt>
                <dd>{b.anonymise ? "yes: no ticker or date shown to the model" : "no"}</dd>
              </div>
              <div>
                <dt>Symbol</dt>
                <dd>{b.symbol}</dd>
              </div>
              <div>
                <dt>Window (UTC)</dt>
                <dd>{windowText(b.start, b.end)}</dd>
              </div>
              <div>
                <dt>LLM cache</dt>
                <dd>{b.llm_cache}</dd>
              </div>
              <div>
                <dt>Created</dt>
                <dd>
                  {formatDateTime(b.created_at)}
                  {b.created_by ? ` by ${b.created_by}` : ""}
                </dd>
              </div>
              <div>
                <dt>Finished</dt>
                <dd>{formatDateTime(b.finished_at)}</dd>
              </div>
            </dl>
            {b.error && <div className="step-error">{b.error}</div>}
            {replaying && (
              <section aria-label="Replay with other settings">
                <h2>Replay with other settings</h2>
                <p className="muted small">
                  A variant's runs re-executed from the LLM step beside the original (its recorded
                  answers), each variant on its own paper account.
                </p>
                <ReplayForm backtest={b} />
              </section>
            )}
            <h2>Progress</h2>
            <BacktestProgress variants={b.variants} />
            <h2>Report</h2>
            {running && <p className="muted small">Figures so far: the backtest is still running.</p>}
            <QueryState query={report} errorTitle="Could not load the report">
              {(r) => (
                <>
                  <LeakageBanner report={r} />
                  <p className="muted small">
                    {r.slots} {b.kind === "replay" ? "source runs" : "schedule slots"}, {r.trading_days}{" "}
                    trading days; money in {r.currency}.
                  </p>
                  <ReportTable report={r} />
                </>
              )}
            </QueryState>
            <h2>Equity and drawdown</h2>
            <QueryState query={series} errorTitle="Could not load the equity curves">
              {(s) => <BacktestChart series={s} />}
            </QueryState>
            <h2>Trades</h2>
            <VariantTrades backtest={b} refetch={refetch} />
          </>
        )}
      </QueryState>
    </div>
  );
}
