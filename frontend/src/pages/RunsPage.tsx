import { useState } from "react";
import { useRuns } from "../api/runs";
import { RunsTable } from "../components/runs/RunsTable/RunsTable";
import { CursorPager } from "../components/ui/CursorPager/CursorPager";
import { QueryState } from "../components/ui/QueryState/QueryState";

/** Every run of every strategy, newest first, 50 a page. */
export function RunsPage() {
  const [cursor, setCursor] = useState<string | undefined>();
  const runs = useRuns({ page_size: 50, ...(cursor ? { cursor } : {}) });
  return (
    <div className="page">
      <h1>Runs</h1>
      <QueryState
        query={runs}
        isEmpty={(d) => d.results.length === 0}
        empty="No runs yet."
        errorTitle="Could not load runs"
      >
        {(d) => (
          <>
            <RunsTable runs={d.results} showStrategy />
            <CursorPager next={d.next} previous={d.previous} onCursor={setCursor} />
          </>
        )}
      </QueryState>
    </div>
  );
}
