import { useState } from "react";
import type { RunStatus, Step } from "../../../api/types";
import { formatDuration, humanize } from "../../../lib/format";
import { StatusBadge } from "../../ui/StatusBadge/StatusBadge";
import { JsonViewer } from "../JsonViewer/JsonViewer";
import { buildTimeline, type TimelineRow } from "./stepTimeline";

/** The run's steps top to bottom: name, status, duration; a step opens to its input/output. */
export function StepTimeline({ steps, runStatus }: { steps: readonly Step[]; runStatus?: RunStatus }) {
  const rows = buildTimeline(steps, runStatus);
  return (
    <ol className="timeline" aria-label="Steps">
      {rows.map((row) => (
        <StepNode key={row.key} row={row} />
      ))}
    </ol>
  );
}

function StepNode({ row }: { row: TimelineRow }) {
  const [open, setOpen] = useState(row.failed);
  const { step } = row;
  return (
    <li className={`timeline-step status-border-${row.status}`} data-testid={`step-${row.name}`}>
      <div className="timeline-head">
        <span className="timeline-dot" aria-hidden="true" />
        <span className="timeline-name">{row.name}</span>
        <StatusBadge status={row.status} />
        <span className="timeline-duration" title="Duration">
          {formatDuration(row.durationMs)}
        </span>
        {step && (
          <button
            type="button"
            className="link-button"
            aria-expanded={open}
            onClick={() => setOpen((v) => !v)}
          >
            {open ? "Hide input/output" : "Show input/output"}
          </button>
        )}
      </div>
      {step && row.failed && (step.error_type || step.error_message) && (
        <div className="step-error" role="alert">
          <strong>{step.error_type || "Error"}</strong>
          {step.error_message && <>: {step.error_message}</>}
        </div>
      )}
      {step && open && (
        <div className="timeline-body">
          <section>
            <h4>Input</h4>
            <JsonViewer value={step.input} label="input" />
          </section>
          <section>
            <h4>Output</h4>
            <JsonViewer value={step.output} label="output" />
          </section>
          {step.artifacts.length > 0 && (
            <section>
              <h4>Artifacts</h4>
              <ul className="plain-list">
                {step.artifacts.map((a) => (
                  <li key={a.id}>
                    <a href={`/api/v1/artifacts/${a.id}/`} target="_blank" rel="noreferrer">
                      {humanize(a.kind)}
                    </a>{" "}
                    <span className="muted">
                      {a.content_type}, {a.size_bytes.toLocaleString()} bytes
                    </span>
                  </li>
                ))}
              </ul>
            </section>
          )}
        </div>
      )}
    </li>
  );
}
