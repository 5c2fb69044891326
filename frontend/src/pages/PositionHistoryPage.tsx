import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { type StrategyPositionsFilter, useStrategyPositions } from "../api/strategyPositions";
import { useStrategies } from "../api/strategies";
import { LifetimesTable } from "../components/positions/LifetimesTable/LifetimesTable";
import { CursorPager } from "../components/ui/CursorPager/CursorPager";
import { QueryState } from "../components/ui/QueryState/QueryState";

const STATUSES = ["open", "closed"] as const;
const SIDES = ["LONG", "SHORT"] as const;

const positiveInt = (value: string | null) => {
  const n = Number(value);
  return value && Number.isInteger(n) && n > 0 ? n : undefined;
};

/**
 * Strategy position lifetimes, open and closed, newest first, 50 a page by cursor. The filters
 * (status, side, strategy; `account` from a link on the account page) live in the URL, so a
 * filtered view can be linked; changing one goes back to the first page.
 */
export function PositionHistoryPage() {
  const [params, setParams] = useSearchParams();
  const [cursor, setCursor] = useState<string | undefined>();
  const status = STATUSES.find((s) => s === params.get("status"));
  const side = SIDES.find((s) => s === params.get("side"));
  const strategy = positiveInt(params.get("strategy"));
  const account = positiveInt(params.get("account"));
  const filter: StrategyPositionsFilter = {
    page_size: 50,
    ...(status ? { status } : {}),
    ...(side ? { side } : {}),
    ...(strategy ? { strategy } : {}),
    ...(account ? { account } : {}),
    ...(cursor ? { cursor } : {}),
  };
  const positions = useStrategyPositions(filter);
  const strategies = useStrategies({ page_size: 200 });
  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
    setCursor(undefined);
  };
  return (
    <div className="page">
      <p>
        <Link to="/portfolio">← Portfolio</Link>
      </p>
      <h1>Position history</h1>
      <p className="muted">
        Each lifetime of a strategy&apos;s position, from its first entry fill until it is flat
        again. P&amp;L in the symbol&apos;s currency, net of commissions; R is realized P&amp;L
        over the risk taken when it opened.
      </p>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={status ?? ""} onChange={(e) => setFilter("status", e.target.value)}>
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Side
          <select value={side ?? ""} onChange={(e) => setFilter("side", e.target.value)}>
            <option value="">all</option>
            {SIDES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Strategy
          <select
            value={strategy ?? ""}
            onChange={(e) => setFilter("strategy", e.target.value)}
          >
            <option value="">all</option>
            {strategies.data?.results.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        {account && (
          <span>
            Account #{account}{" "}
            <button type="button" onClick={() => setFilter("account", "")}>
              all accounts
            </button>
          </span>
        )}
      </form>
      <QueryState
        query={positions}
        isEmpty={(d) => d.results.length === 0}
        empty="No positions match."
        errorTitle="Could not load positions"
      >
        {(d) => (
          <>
            <LifetimesTable positions={d.results} />
            <CursorPager next={d.next} previous={d.previous} onCursor={setCursor} />
          </>
        )}
      </QueryState>
    </div>
  );
}
