import { useMemo, useState } from "react";
import { usePromptPerformance } from "../api/performance";
import { usePromptScores, usePromptTemplates } from "../api/prompts";
import { PromptPerformanceTable } from "../components/performance/PromptPerformanceTable/PromptPerformanceTable";
import { NewTemplateForm } from "../components/prompts/NewTemplateForm/NewTemplateForm";
import { TemplatesTable } from "../components/prompts/TemplatesTable/TemplatesTable";
import { summarizeTemplates } from "../components/prompts/TemplatesTable/templateSummary";
import { ErrorState, QueryState } from "../components/ui/QueryState/QueryState";

/**
 * `/prompts`: every template name with its latest version, version count and newest score;
 * "New template" creates one (its version 1) and opens it. Below, the prompt performance: P&L
 * per prompt version, model and currency of the positions your strategies opened
 * (`GET /performance/prompts/`).
 */
export function PromptsPage() {
  const versions = usePromptTemplates();
  const scores = usePromptScores();
  const performance = usePromptPerformance();
  const [creating, setCreating] = useState(false);
  // Your own names (a new one of the same name would add a version there); names are per
  // owner, so another user's published template of that name does not count.
  const names = useMemo(
    () =>
      new Set(
        (versions.data ?? []).filter((v) => v.can_write && v.owner !== null).map((v) => v.name),
      ),
    [versions.data],
  );
  return (
    <div className="page">
      <div className="page-head">
        <h1>Prompts</h1>
        {!creating && (
          <div className="actions">
            <button type="button" className="primary" onClick={() => setCreating(true)}>
              New template
            </button>
          </div>
        )}
      </div>
      <p className="muted">
        Jinja2 templates the LLM step renders. Versions are immutable; scores are computed daily
        from each version's signals and trades.
      </p>
      {creating && <NewTemplateForm existingNames={names} onCancel={() => setCreating(false)} />}
      {scores.isError && <ErrorState error={scores.error} title="Could not load scores" />}
      <QueryState
        query={versions}
        isEmpty={(d) => d.length === 0}
        empty="No prompt templates yet."
        loadingLabel="Loading templates…"
        errorTitle="Could not load prompt templates"
      >
        {(d) => (
          <TemplatesTable
            rows={summarizeTemplates(d, scores.data)}
            scoresPending={scores.isPending}
          />
        )}
      </QueryState>
      <section>
        <h2>Prompt performance</h2>
        <p className="muted small">
          Positions your strategies opened, by the prompt version and model of the run that opened
          each; money in each row&apos;s currency, realized net of commissions.
        </p>
        <QueryState
          query={performance}
          isEmpty={(d) => d.length === 0}
          empty="No positions opened by a prompt yet."
          loadingLabel="Loading prompt performance…"
          errorTitle="Could not load prompt performance"
        >
          {(d) => <PromptPerformanceTable rows={d} />}
        </QueryState>
      </section>
    </div>
  );
}
