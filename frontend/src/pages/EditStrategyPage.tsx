import { Link, useNavigate, useParams } from "react-router";
import { useStrategy, useUpdateStrategy } from "../api/strategies";
import { StrategyForm } from "../components/strategies/StrategyForm/StrategyForm";
import { changedFields } from "../components/strategies/StrategyForm/strategyForm";
import { QueryState } from "../components/ui/QueryState/QueryState";
import { useNumericParam } from "./params";

/** `/strategies/:id/edit`: the strategy form prefilled; PATCHes the changed fields. */
export function EditStrategyPage() {
  const id = useNumericParam(useParams().id);
  const strategy = useStrategy(id);
  const update = useUpdateStrategy(id);
  const navigate = useNavigate();
  return (
    <div className="page">
      <p>
        <Link to={`/strategies/${id}`}>← {strategy.data?.name ?? "Strategy"}</Link>
      </p>
      <QueryState query={strategy} errorTitle="Could not load the strategy">
        {(s) => (
          <>
            <h1>
              Edit {s.name} <span className="muted small mono">{s.slug}</span>
            </h1>
            <StrategyForm
              // A refetched strategy must not reset what the user is typing: keyed by id only.
              key={s.id}
              strategy={s}
              submitLabel="Save changes"
              pendingLabel="Saving…"
              isPending={update.isPending}
              error={update.error}
              cancelTo={`/strategies/${s.id}`}
              onSubmit={(input) =>
                update.mutate(changedFields(input, s), {
                  onSuccess: (saved) => navigate(`/strategies/${saved.id}`),
                })
              }
            />
          </>
        )}
      </QueryState>
    </div>
  );
}
