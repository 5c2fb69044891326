import { Link, useSearchParams } from "react-router";
import { ReplayForm } from "../components/backtests/ReplayForm/ReplayForm";

/**
 * A new replay of a strategy's own live runs (scheduled, manual, API) over a window, with
 * other models, prompt versions or LLM endpoints beside the original; `?strategy=<id>`
 * preselects the strategy. A backtest's runs are replayed from its page.
 */
export function NewReplayPage() {
  const [params] = useSearchParams();
  return (
    <div className="page">
      <p>
        <Link to="/backtests">← Backtests</Link>
      </p>
      <h1>Replay a strategy's runs</h1>
      <p className="muted small">
        Its runs are re-executed from the LLM step: their data, indicators and charts are reused,
        and each variant trades on its own paper account.
      </p>
      <ReplayForm strategyId={params.get("strategy") ?? ""} />
    </div>
  );
}
