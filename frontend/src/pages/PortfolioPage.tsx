import { useMemo } from "react";
import { Link } from "react-router";
import { usePositions } from "../api/positions";
import { useStrategies } from "../api/strategies";
import { PositionsTable } from "../components/positions/PositionsTable/PositionsTable";
import { QueryState } from "../components/ui/QueryState/QueryState";

/** Open strategy positions by account, with each account's net per symbol and P&L per currency. */
export function PortfolioPage() {
  const positions = usePositions();
  // The positions API names strategies by slug; their names come from the strategies list.
  const strategies = useStrategies({ page_size: 200 });
  const names = useMemo(
    () => new Map((strategies.data?.results ?? []).map((s) => [s.id, s.name])),
    [strategies.data],
  );
  return (
    <div className="page">
      <h1>Portfolio</h1>
      <p className="muted">
        Each strategy holds its own position; the account&apos;s net per symbol (the sum of its
        strategies&apos; signed quantities) is what the broker holds. P&amp;L is totalled per
        currency.
      </p>
      <p>
        <Link to="/positions/history">Position history (open and closed lifetimes) →</Link>
      </p>
      <QueryState
        query={positions}
        isEmpty={(d) => d.results.length === 0}
        empty="No positions yet."
        errorTitle="Could not load positions"
      >
        {(d) => <PositionsTable positions={d.results} strategyNames={names} />}
      </QueryState>
    </div>
  );
}
