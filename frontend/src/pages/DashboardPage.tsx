import { useMemo } from "react";
import { Link } from "react-router";
import { usePositions } from "../api/positions";
import { startOfToday, useSignals } from "../api/signals";
import { useStrategies } from "../api/strategies";
import { PositionsTable } from "../components/positions/PositionsTable/PositionsTable";
import { SignalsTable } from "../components/signals/SignalsTable/SignalsTable";
import { ActiveStrategies } from "../components/strategies/ActiveStrategies/ActiveStrategies";
import { QueryState } from "../components/ui/QueryState/QueryState";

/** Active strategies, today's signals and positions; inactive strategies listed by name. */
export function DashboardPage() {
  const strategies = useStrategies({ is_active: true, page_size: 100 });
  // Deactivated strategies leave the table above; listed here they stay reachable.
  const inactive = useStrategies({ is_active: false, page_size: 100 });
  const since = useMemo(() => startOfToday(), []);
  const signals = useSignals({ created_after: since, page_size: 100 });
  const positions = usePositions();
  return (
    <div className="page">
      <div className="page-head">
        <h1>Dashboard</h1>
        <div className="actions">
          <Link className="button primary" to="/strategies/new">
            New strategy
          </Link>
        </div>
      </div>
      <section>
        <h2>Active strategies</h2>
        <QueryState
          query={strategies}
          isEmpty={(d) => d.results.length === 0}
          empty="No active strategies."
        >
          {(d) => <ActiveStrategies strategies={d.results} />}
        </QueryState>
        {inactive.data && inactive.data.results.length > 0 && (
          <p className="inactive-strategies small">
            <span className="muted">Inactive:</span>{" "}
            {inactive.data.results.map((s, i) => (
              <span key={s.id}>
                {i > 0 && ", "}
                <Link to={`/strategies/${s.id}`}>{s.name}</Link>
              </span>
            ))}
          </p>
        )}
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
