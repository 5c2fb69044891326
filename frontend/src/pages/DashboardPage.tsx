import { useMemo } from "react";
import { Link } from "react-router";
import { useFills } from "../api/orders";
import { usePositions } from "../api/positions";
import { useRuns } from "../api/runs";
import { startOfToday, useSignals } from "../api/signals";
import { useStrategies } from "../api/strategies";
import type { Strategy } from "../api/types";
import { PnlSummary } from "../components/positions/PnlSummary/PnlSummary";
import { capPositions } from "../components/positions/PositionsTable/groupPositions";
import { PositionsTable } from "../components/positions/PositionsTable/PositionsTable";
import { RunsTable } from "../components/runs/RunsTable/RunsTable";
import { SignalsTable } from "../components/signals/SignalsTable/SignalsTable";
import { ActiveStrategies } from "../components/strategies/ActiveStrategies/ActiveStrategies";
import { ErrorState, QueryState } from "../components/ui/QueryState/QueryState";
import { DASHBOARD_LIST_CAP, ShowAll, capList } from "../components/ui/ShowAll/ShowAll";

/** Deactivated strategies by name (they leave the table above; listed here they stay reachable). */
function InactiveStrategies({
  query,
  activeFailed,
}: {
  query: { data?: { results: Strategy[] }; error: unknown; isPending: boolean; isError: boolean };
  /** The active list failed and says so already: the same failure is not shown twice. */
  activeFailed: boolean;
}) {
  if (query.isPending)
    return (
      <p className="inactive-strategies small muted" role="status">
        Loading inactive strategies…
      </p>
    );
  if (query.isError)
    return activeFailed ? null : (
      <ErrorState error={query.error} title="Could not load inactive strategies" />
    );
  const results = query.data?.results ?? [];
  if (results.length === 0) return null;
  return (
    <p className="inactive-strategies small">
      <span className="muted">Inactive:</span>{" "}
      {results.map((s, i) => (
        <span key={s.id}>
          {i > 0 && ", "}
          <Link to={`/strategies/${s.id}`}>{s.name}</Link>
        </span>
      ))}
    </p>
  );
}

/** Active strategies, P&L by currency (today's fills, open positions), today's signals, the
 * latest runs of any strategy and positions; inactive strategies listed by name. Each list shows
 * at most DASHBOARD_LIST_CAP rows and links to its full page. */
export function DashboardPage() {
  const strategies = useStrategies({ is_active: true, page_size: 100 });
  // Deactivated strategies leave the table above; listed here they stay reachable.
  const inactive = useStrategies({ is_active: false, page_size: 100 });
  const since = useMemo(() => startOfToday(), []);
  const signals = useSignals({ created_after: since, page_size: DASHBOARD_LIST_CAP });
  const positions = usePositions();
  const fillsToday = useFills({ executed_after: since, page_size: 200 });
  const recentRuns = useRuns({ page_size: DASHBOARD_LIST_CAP });
  // The positions API names strategies by slug; their names come from the strategies lists.
  const strategyNames = useMemo(
    () =>
      new Map(
        [...(strategies.data?.results ?? []), ...(inactive.data?.results ?? [])].map((s) => [
          s.id,
          s.name,
        ]),
      ),
    [strategies.data, inactive.data],
  );
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
        <InactiveStrategies query={inactive} activeFailed={strategies.isError} />
      </section>
      <section>
        <h2>P&amp;L</h2>
        <QueryState query={fillsToday} errorTitle="Could not load today's fills">
          {(fills) => (
            <QueryState
              query={positions}
              isEmpty={(d) => d.results.length === 0 && fills.results.length === 0}
              empty="No fills today and no positions."
            >
              {(d) => <PnlSummary fillsToday={fills.results} positions={d.results} />}
            </QueryState>
          )}
        </QueryState>
      </section>
      <section>
        <h2>Today's signals</h2>
        <QueryState query={signals} isEmpty={(d) => d.results.length === 0} empty="No signals today.">
          {(d) => {
            const { shown, more, total } = capList(d.results, { count: d.count });
            return (
              <>
                <SignalsTable signals={shown} />
                <ShowAll to="/signals?today=1" noun="signals today" more={more} total={total} />
              </>
            );
          }}
        </QueryState>
      </section>
      <section>
        <h2>Recent runs</h2>
        <QueryState query={recentRuns} isEmpty={(d) => d.results.length === 0} empty="No runs yet.">
          {(d) => {
            const { shown, more } = capList(d.results, { next: d.next });
            return (
              <>
                <RunsTable runs={shown} showStrategy />
                <ShowAll to="/runs" noun="runs" more={more} />
              </>
            );
          }}
        </QueryState>
      </section>
      <section>
        <h2>Positions</h2>
        <QueryState query={positions} isEmpty={(d) => d.results.length === 0} empty="No positions.">
          {(d) => {
            const { shown, more } = capPositions(d.results, DASHBOARD_LIST_CAP);
            return (
              <>
                <PositionsTable positions={shown} totals={!more} strategyNames={strategyNames} />
                <ShowAll to="/portfolio" noun="positions" more={more} total={d.count} />
              </>
            );
          }}
        </QueryState>
      </section>
    </div>
  );
}
