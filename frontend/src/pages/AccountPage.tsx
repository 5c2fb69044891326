import { useMemo } from "react";
import { Link, useParams } from "react-router";
import { useAccount, useAccountPortfolio, useAccountPositions } from "../api/accounts";
import { useAccountPerformance } from "../api/performance";
import { usePositionActions } from "../api/positionActions";
import { AccountPortfolio } from "../components/accounts/AccountPortfolio/AccountPortfolio";
import { AccountPositions } from "../components/accounts/AccountPositions/AccountPositions";
import { AccountLimits } from "../components/accounts/AccountLimits/AccountLimits";
import { AccountsTable } from "../components/accounts/AccountsTable/AccountsTable";
import { PerformancePanel } from "../components/performance/PerformancePanel/PerformancePanel";
import { CloseAllButton } from "../components/positions/ClosePositions/ClosePositions";
import { PositionActions } from "../components/positions/PositionActions/PositionActions";
import { AccountTradingStatePanel } from "../components/tradingState/TradingState";
import { QueryState } from "../components/ui/QueryState/QueryState";
import { useNumericParam } from "./params";

/**
 * One account (`GET /accounts/{id}/`): its settings and members; its trading state (the kill
 * switch: its own and the effective state, a control to change it and its recent changes) and
 * its automatic triggers (daily loss and drawdown limits that halt it); its positions at both levels
 * (`GET /accounts/{id}/positions/`: the broker's per symbol beside the strategies' sum, flagged
 * when they differ, with the strategies' open positions); its performance over every strategy
 * position on it (`GET /accounts/{id}/performance/`); and its portfolio per currency with each
 * strategy's share (`GET /accounts/{id}/portfolio/`). Close per strategy position and Close all
 * for the account, each confirmed first with an optional note; the latest position actions
 * (closes, reverses, …: who asked, why, how it ended; `GET /position-actions/?account=`).
 */
export function AccountPage() {
  const id = useNumericParam(useParams().id);
  const account = useAccount(id);
  const positions = useAccountPositions(id);
  const performance = useAccountPerformance(id);
  const portfolio = useAccountPortfolio(id);
  const actions = usePositionActions({ account: id, page_size: 10 });
  // The positions carry strategy slugs; the portfolio names every strategy on the account.
  const names = useMemo(
    () => new Map((portfolio.data?.strategies ?? []).map((s) => [s.strategy_id, s.strategy_name])),
    [portfolio.data],
  );
  return (
    <div className="page">
      <p>
        <Link to="/accounts">← Accounts</Link>
      </p>
      <h1>{account.data ? account.data.name : `Account #${id}`}</h1>
      <QueryState query={account} errorTitle="Could not load the account">
        {(a) => (
          <>
            <AccountsTable accounts={[a]} />
            <p className="muted">
              Members:{" "}
              {a.members.length === 0 ? "none besides the owner" : a.members.map((m) => m.username).join(", ")}
            </p>
          </>
        )}
      </QueryState>
      <section>
        <h2>Trading state</h2>
        <AccountTradingStatePanel accountId={id} />
        <h3>Automatic triggers</h3>
        {account.data && <AccountLimits account={account.data} />}
      </section>
      <section>
        <h2>Positions</h2>
        <p className="muted">
          Per symbol, the broker&apos;s position beside the sum of the strategies&apos; positions;
          a difference is flagged as unattributed. Quantities signed (negative is short).
        </p>
        <div className="actions">
          <CloseAllButton
            scope={{ account: id }}
            what={`account ${account.data?.name ?? `#${id}`}`}
            label="Close all positions"
          />
        </div>
        <QueryState
          query={positions}
          loadingLabel="Loading positions…"
          errorTitle="Could not load the positions"
        >
          {(p) => <AccountPositions data={p} strategyNames={names} />}
        </QueryState>
        <p>
          <Link to={`/positions/history?account=${id}`}>Position history →</Link>
        </p>
      </section>
      <section>
        <h2>Recent position actions</h2>
        <QueryState
          query={actions}
          loadingLabel="Loading position actions…"
          errorTitle="Could not load the position actions"
          isEmpty={(d) => d.results.length === 0}
          empty="No close, reverse or other position action on this account yet."
        >
          {(d) => <PositionActions actions={d.results} />}
        </QueryState>
      </section>
      <section>
        <h2>Performance</h2>
        <QueryState
          query={performance}
          loadingLabel="Loading performance…"
          errorTitle="Could not load the performance"
        >
          {(p) => (
            <PerformancePanel
              currencies={p.currencies}
              label="Account performance by currency"
              empty="No positions on this account yet."
            />
          )}
        </QueryState>
      </section>
      <section>
        <h2>Portfolio</h2>
        <QueryState query={portfolio} errorTitle="Could not load the portfolio">
          {(p) => <AccountPortfolio portfolio={p} />}
        </QueryState>
      </section>
    </div>
  );
}
