import type { BacktestVariant } from "../../../api/backtests";
import { StatusBadge } from "../../ui/StatusBadge/StatusBadge";

type VariantProgress = Pick<
  BacktestVariant,
  "position" | "label" | "status" | "error" | "slots_done" | "slots_total"
>;

/** Share of slots done, 0–100 (0 for a variant without slots). */
export const percentDone = (done: number, total: number) =>
  total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;

/**
 * One progress bar per variant: `slots_done` of `slots_total` schedule slots have a run, with
 * the variant's status and its error when it failed.
 */
export function BacktestProgress({ variants }: { variants: readonly VariantProgress[] }) {
  return (
    <ul className="backtest-progress" aria-label="Progress by variant">
      {variants.map((v) => (
        <li key={v.position} data-testid={`progress-${v.position}`}>
          <span className="backtest-progress-label">
            {v.position}. {v.label}
          </span>
          <progress
            max={Math.max(v.slots_total, 1)}
            value={v.slots_done}
            aria-label={`${v.label}: ${v.slots_done} of ${v.slots_total} slots`}
          />
          <span className="num">
            {v.slots_done} / {v.slots_total} slots ({percentDone(v.slots_done, v.slots_total)}%)
          </span>
          <StatusBadge status={v.status} />
          {v.error && <p className="field-error">{v.error}</p>}
        </li>
      ))}
    </ul>
  );
}
