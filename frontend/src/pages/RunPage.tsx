import { Link, useParams } from "react-router";
import { isRunActive, useRun } from "../api/runs";
import type { Artifact, RunDetail } from "../api/types";
import { ArtifactText } from "../components/lineage/ArtifactText/ArtifactText";
import { ChartView } from "../components/lineage/ChartView/ChartView";
import { LlmCalls } from "../components/lineage/LlmCalls/LlmCalls";
import { RunOrders } from "../components/lineage/RunOrders/RunOrders";
import { SignalPanel } from "../components/lineage/SignalChecks/SignalChecks";
import { StepTimeline } from "../components/lineage/StepTimeline/StepTimeline";
import { Empty, QueryState } from "../components/ui/QueryState/QueryState";
import { StatusBadge } from "../components/ui/StatusBadge/StatusBadge";
import { formatDateTime, formatDuration } from "../lib/format";
import { useNumericParam } from "./params";

/** The artifact of `kind` among the run's steps (kinds from apps/pipeline/steps/*.py). */
export function findArtifact(run: RunDetail, kind: string): Artifact | undefined {
  for (const step of run.steps) {
    const found = step.artifacts.find((a) => a.kind === kind);
    if (found) return found;
  }
  return undefined;
}

/** Lineage viewer: everything one run did, polled every 2 s until it finishes. */
export function RunPage() {
  const id = useNumericParam(useParams().id);
  const run = useRun(id);
  return (
    <div className="page">
      <QueryState query={run} loadingLabel="Loading run…" errorTitle="Could not load the run">
        {(r) => <RunLineage run={r} />}
      </QueryState>
    </div>
  );
}

function RunLineage({ run }: { run: RunDetail }) {
  const active = isRunActive(run.status);
  return (
    <>
      <div className="page-head">
        <h1>
          Run #{run.id} <StatusBadge status={run.status} />
        </h1>
        {active && (
          <span className="muted small" role="status">
            <span className="spinner" aria-hidden="true" /> live — refreshing every 2 s
          </span>
        )}
      </div>
      <dl className="facts">
        <div>
          <dt>Strategy</dt>
          <dd>
            <Link to={`/strategies/${run.strategy.id}`}>{run.strategy.name}</Link>
          </dd>
        </div>
        <div>
          <dt>Trigger</dt>
          <dd>{run.trigger}</dd>
        </div>
        <div>
          <dt>As of</dt>
          <dd>{formatDateTime(run.as_of)}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatDateTime(run.started_at)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(run.duration_ms)}</dd>
        </div>
        <div>
          <dt>Signal</dt>
          <dd>{run.signal_action ?? "—"}</dd>
        </div>
      </dl>
      {run.error_message && (
        <div className="step-error" role="alert">
          <strong>Run failed{run.current_step ? ` in ${run.current_step}` : ""}:</strong>{" "}
          {run.error_message}
        </div>
      )}

      <section>
        <h2>Steps</h2>
        {run.steps.length === 0 && active ? (
          <Empty>Waiting for a worker to start the run…</Empty>
        ) : (
          <StepTimeline steps={run.steps} runStatus={run.status} />
        )}
      </section>

      <section>
        <h2>Chart</h2>
        <ChartView artifact={findArtifact(run, "chart_json")} />
      </section>

      <div className="two-col">
        <section>
          <h2>Prompt</h2>
          <ArtifactText artifact={findArtifact(run, "prompt")} emptyText="No rendered prompt." />
        </section>
        <section>
          <h2>Model answer</h2>
          <ArtifactText artifact={findArtifact(run, "raw_answer")} emptyText="No raw answer." />
        </section>
      </div>

      <section>
        <h2>LLM calls</h2>
        <LlmCalls calls={run.llm_calls} />
      </section>

      <section>
        <h2>Signal</h2>
        {run.signal ? <SignalPanel signal={run.signal} /> : <Empty>No signal.</Empty>}
      </section>

      <section>
        <h2>Orders</h2>
        <RunOrders orders={run.orders} />
      </section>
    </>
  );
}
