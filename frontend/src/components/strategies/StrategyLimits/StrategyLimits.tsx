import { useStrategyLlmBudget } from "../../../api/strategies";
import type { Strategy } from "../../../api/types";
import { formatDateTime, formatMoney, formatNumber, formatUsd } from "../../../lib/format";
import { QueryState } from "../../ui/QueryState/QueryState";

const OFF = "off";

/**
 * A strategy's automatic triggers (`daily_loss_limit` in the symbol's currency,
 * `max_drawdown_pct`, `max_failed_runs`; null is off) and its latest automatic deactivation
 * (when and why: the limit and the figures), shown as an alert while the strategy is inactive.
 */
export function StrategyLimits({ strategy: s }: { strategy: Strategy }) {
  const rows: [string, string][] = [
    [
      "Daily loss limit",
      s.daily_loss_limit != null ? `${formatMoney(s.daily_loss_limit)} (symbol's currency)` : OFF,
    ],
    ["Max drawdown", s.max_drawdown_pct != null ? `${formatNumber(s.max_drawdown_pct)} %` : OFF],
    ["Failed runs in a row", s.max_failed_runs != null ? String(s.max_failed_runs) : OFF],
  ];
  return (
    <div className="card">
      {s.auto_deactivated_at && (
        <p
          className={s.is_active ? "muted small" : "notice"}
          role={s.is_active ? undefined : "alert"}
        >
          {s.is_active ? "Last deactivated automatically" : "Deactivated automatically"}{" "}
          {formatDateTime(s.auto_deactivated_at)}: {s.auto_deactivation_reason}
        </p>
      )}
      <dl className="kv" aria-label="Automatic triggers">
        {rows.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <p className="muted small">
        A breached limit deactivates the strategy (P&amp;L since 00:00 UTC, realized + unrealized at
        the last price; drawdown of capital + P&amp;L from its high-water mark). Only you re-activate
        it.
      </p>
    </div>
  );
}

/**
 * The strategy's LLM budgets (`GET /strategies/{id}/llm-budget/`): per scope (the strategy's
 * own, its owner's) and period (UTC day, UTC month), the limit, the spend since the period
 * began and what remains, in USD.
 */
export function StrategyLlmBudget({ strategyId }: { strategyId: number }) {
  const budget = useStrategyLlmBudget(strategyId);
  return (
    <QueryState
      query={budget}
      loadingLabel="Loading LLM budgets…"
      errorTitle="Could not load the LLM budgets"
      isEmpty={(d) => d.length === 0}
      empty="No LLM budget applies."
    >
      {(uses) => (
        <table aria-label="LLM budgets">
          <thead>
            <tr>
              <th>Budget</th>
              <th>Period</th>
              <th className="num">Limit</th>
              <th className="num">Spent</th>
              <th className="num">Remaining</th>
              <th>Since</th>
            </tr>
          </thead>
          <tbody>
            {uses.map((u) => (
              <tr key={`${u.scope}-${u.period}`}>
                <td>{u.scope === "strategy" ? "this strategy" : "owner"}</td>
                <td>{u.period === "day" ? "UTC day" : "UTC month"}</td>
                <td className="num">{u.limit_usd != null ? formatUsd(u.limit_usd) : "no limit"}</td>
                <td className="num">{formatUsd(u.spent_usd)}</td>
                <td className="num">
                  {u.remaining_usd != null ? formatUsd(u.remaining_usd) : "—"}
                </td>
                <td>{formatDateTime(u.since)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </QueryState>
  );
}
