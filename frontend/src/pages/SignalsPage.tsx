import { useMemo, useState } from "react";
import { useSearchParams } from "react-router";
import { startOfToday, useSignals } from "../api/signals";
import { SignalsTable } from "../components/signals/SignalsTable/SignalsTable";
import { QueryState } from "../components/ui/QueryState/QueryState";

const PAGE_SIZE = 50;

/** Every signal, newest first, 50 a page; `?today=1` keeps only today's (browser time zone). */
export function SignalsPage() {
  const [params, setParams] = useSearchParams();
  const today = params.get("today") === "1";
  const [page, setPage] = useState(1);
  const since = useMemo(() => startOfToday(), []);
  const signals = useSignals({
    page_size: PAGE_SIZE,
    page,
    ...(today ? { created_after: since } : {}),
  });
  return (
    <div className="page">
      <h1>Signals</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          <input
            type="checkbox"
            checked={today}
            onChange={(e) => {
              setParams(e.target.checked ? { today: "1" } : {});
              setPage(1);
            }}
          />{" "}
          Today only
        </label>
      </form>
      <QueryState
        query={signals}
        isEmpty={(d) => d.results.length === 0}
        empty={today ? "No signals today." : "No signals yet."}
        errorTitle="Could not load signals"
      >
        {(d) => (
          <>
            <p className="small muted">
              {d.count} signal{d.count === 1 ? "" : "s"}
            </p>
            <SignalsTable signals={d.results} />
            {(d.next || d.previous) && (
              <nav className="pager" aria-label="Pages">
                <button type="button" disabled={!d.previous} onClick={() => setPage(page - 1)}>
                  ← Newer
                </button>
                <button type="button" disabled={!d.next} onClick={() => setPage(page + 1)}>
                  Older →
                </button>
              </nav>
            )}
          </>
        )}
      </QueryState>
    </div>
  );
}
