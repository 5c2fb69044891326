import { Link, useNavigate } from "react-router";
import { useCreateStrategy } from "../api/strategies";
import { StrategyForm } from "../components/strategies/StrategyForm/StrategyForm";

/** `/strategies/new`: the strategy form with the model's defaults; POSTs, then opens it. */
export function NewStrategyPage() {
  const create = useCreateStrategy();
  const navigate = useNavigate();
  return (
    <div className="page">
      <p>
        <Link to="/">← Dashboard</Link>
      </p>
      <h1>New strategy</h1>
      <StrategyForm
        submitLabel="Create strategy"
        pendingLabel="Creating…"
        isPending={create.isPending}
        error={create.error}
        cancelTo="/"
        onSubmit={(input) =>
          create.mutate(input, { onSuccess: (s) => navigate(`/strategies/${s.id}`) })
        }
      />
    </div>
  );
}
