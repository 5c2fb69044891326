import { usePromptScores, usePromptTemplates } from "../api/prompts";
import { TemplatesTable } from "../components/prompts/TemplatesTable/TemplatesTable";
import { summarizeTemplates } from "../components/prompts/TemplatesTable/templateSummary";
import { ErrorState, QueryState } from "../components/ui/QueryState/QueryState";

/** `/prompts`: every template name with its latest version, version count and newest score. */
export function PromptsPage() {
  const versions = usePromptTemplates();
  const scores = usePromptScores();
  return (
    <div className="page">
      <h1>Prompts</h1>
      <p className="muted">
        Jinja2 templates the LLM step renders. Versions are immutable; scores are computed daily
        from each version's signals and trades.
      </p>
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
    </div>
  );
}
