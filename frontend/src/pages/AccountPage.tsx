import { Link, useParams } from "react-router";
import { useAccountPortfolio, useAccounts } from "../api/accounts";
import { useAccountPerformance } from "../api/performance";
import { AccountsTable } from "../components/accounts/AccountsTable/AccountsTable";
import { PerformancePanel } from "../components/performance/PerformancePanel/PerformancePanel";
import { JsonViewer } from "../components/lineage/JsonViewer/JsonViewer";
import { QueryState } from "../components/ui/QueryState/QueryState";
import { useNumericParam } from "./params";

/**
 * One account: its settings (from the accounts list), its performance over every strategy
 * position on it (`GET /accounts/{id}/performance/`: P&L per currency and equity curve from its
 * starting cash) and its portfolio (`GET /accounts/{id}/portfolio/`), shown as JSON until the
 * endpoint's shape is in the schema.
 */
export function AccountPage() {
  const id = useNumericParam(useParams().id);
  const accounts = useAccounts();
  const performance = useAccountPerformance(id);
  const portfolio = useAccountPortfolio(id);
  const account = accounts.data?.find((a) => a.id === id);
  return (
    <div className="page">
      <p>
        <Link to="/accounts">← Accounts</Link>
      </p>
      <h1>{account ? account.name : `Account #${id}`}</h1>
      <QueryState query={accounts} errorTitle="Could not load accounts">
        {() => (account ? <AccountsTable accounts={[account]} /> : null)}
      </QueryState>
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
          {(p) => <JsonViewer value={p} label="portfolio" expandDepth={2} />}
        </QueryState>
      </section>
    </div>
  );
}
