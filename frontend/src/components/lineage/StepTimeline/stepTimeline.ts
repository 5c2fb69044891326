import type { RunStatus, Step, StepStatus } from "../../../api/types";

/** The pipeline's six steps, in order (apps/pipeline/steps/*.py `NAME`). */
export const PIPELINE_STEPS = ["data", "indicators", "charts", "llm", "signal", "order"] as const;

export type TimelineStatus = StepStatus | "not_started";

export interface TimelineRow {
  key: string;
  name: string;
  sequence: number;
  status: TimelineStatus;
  durationMs: number | null;
  step: Step | null;
  failed: boolean;
}

/**
 * Pure layout of the timeline (kept apart from the components, as Airflow's `useGraphLayout`):
 * the recorded steps in sequence order, then any of the six pipeline steps not reached yet
 * (shown as "not started" while the run may still get there; "skipped" once it has ended).
 */
export function buildTimeline(steps: readonly Step[], runStatus?: RunStatus): TimelineRow[] {
  const sorted = [...steps].sort((a, b) => a.sequence - b.sequence);
  const rows: TimelineRow[] = sorted.map((step) => ({
    key: `step-${step.id}`,
    name: step.name,
    sequence: step.sequence,
    status: step.status,
    durationMs: step.duration_ms ?? null,
    step,
    failed: step.status === "failed",
  }));
  const seen = new Set(sorted.map((s) => s.name));
  const runEnded = runStatus !== undefined && runStatus !== "pending" && runStatus !== "running";
  let sequence = sorted.length ? Math.max(...sorted.map((s) => s.sequence)) : 0;
  for (const name of PIPELINE_STEPS) {
    if (seen.has(name)) continue;
    sequence += 1;
    rows.push({
      key: `missing-${name}`,
      name,
      sequence,
      status: runEnded ? "skipped" : "not_started",
      durationMs: null,
      step: null,
      failed: false,
    });
  }
  return rows;
}
