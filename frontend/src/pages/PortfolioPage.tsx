import { usePositions } from "../api/positions";
import { PositionsTable } from "../components/positions/PositionsTable/PositionsTable";
import { QueryState } from "../components/ui/QueryState/QueryState";

export function PortfolioPage() {
  const positions = usePositions();
  return (
    <div className="page">
      <h1>Portfolio</h1>
      <QueryState
        query={positions}
        isEmpty={(d) => d.results.length === 0}
        empty="No positions yet."
        errorTitle="Could not load positions"
      >
        {(d) => <PositionsTable positions={d.results} />}
      </QueryState>
    </div>
  );
}
