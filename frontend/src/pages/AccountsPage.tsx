import { useAccounts } from "../api/accounts";
import { AccountsTable } from "../components/accounts/AccountsTable/AccountsTable";
import { QueryState } from "../components/ui/QueryState/QueryState";

/** The trading accounts the user may see, with position mode and conflict policies. */
export function AccountsPage() {
  const accounts = useAccounts();
  return (
    <div className="page">
      <h1>Accounts</h1>
      <QueryState
        query={accounts}
        isEmpty={(d) => d.length === 0}
        empty="No accounts."
        errorTitle="Could not load accounts"
      >
        {(d) => <AccountsTable accounts={d} />}
      </QueryState>
    </div>
  );
}
