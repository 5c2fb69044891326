import { useMemo } from "react";
import { usePositions } from "../api/positions";
import { startOfToday, useSignals } from "../api/signals";
import { useStrategies } from "../api/strategies";
import { PositionsTable } from "../components/positions/PositionsTable/PositionsTable";
import { SignalsTable } from "../components/signals/SignalsTable/SignalsTable";
import { ActiveStrategies } from "../components/strategies/ActiveStrategies/ActiveStrategies";
import { QueryState } from "../components/ui/QueryState/QueryState";

export function DashboardPage() {
  const strategies = useStrategies({ is_active: true, page_size: 100 });
  const since = useMemo(() => startOfToday(), []);
  const signals = useSignals({ created_after: since, page_size: 100 });
  const positions = usePositions();
  return (
    <div className="page">
      <h1>Dashboard</h1>
      <section>
        <h2>Active strategies</h2>
        <QueryState
          query={strategies}
          isEmpty={(d) => d.results.length === 0}
          empty="No active strategies."
        >
          {(d) => <ActiveStrategies strategies={d.results} />}
        </QueryState>
      </section>
      <section>
        <h2>Today's signals</h2>
        <QueryState query={signals} isEmpty={(d) => d.results.length === 0} empty="No signals today.">
          {(d) => <SignalsTable signals={d.results} />}
        </QueryState>
      </section>
      <section>
        <h2>Positions</h2>
        <QueryState query={positions} isEmpty={(d) => d.results.length === 0} empty="No positions.">
          {(d) => <PositionsTable positions={d.results} />}
        </QueryState>
      </section>
    </div>
  );
}
