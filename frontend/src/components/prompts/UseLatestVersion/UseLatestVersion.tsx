import { useState } from "react";
import { Link } from "react-router";
import type { PromptTemplate } from "../../../api/prompts";
import { useUpdateStrategy } from "../../../api/strategies";
import type { Strategy } from "../../../api/types";
import { LiveConfirm } from "../../strategies/LiveConfirm/LiveConfirm";
import { ErrorState } from "../../ui/QueryState/QueryState";

type StrategyRef = Pick<Strategy, "id" | "name" | "prompt_template" | "trading_mode">;

/**
 * "Use vN in…": the strategies pinned to an older version of this template, each with
 * "Switch <name> to vN" (`PATCH /strategies/{id}/` with only `prompt_template`). A live
 * strategy asks for an explicit confirmation first. Renders nothing when no strategy uses an
 * older version.
 * Inputs: `versions` (this template's, any order) and `latest` among them; `strategies`, the
 * caller's list (the same one the versions table shows under "Used by"); `onSwitched`, called
 * with the strategy and the version it now uses.
 */
export function UseLatestVersion({
  versions,
  latest,
  strategies,
  onSwitched,
}: {
  versions: readonly PromptTemplate[];
  latest: PromptTemplate;
  strategies: readonly StrategyRef[];
  onSwitched: (strategy: StrategyRef, version: PromptTemplate) => void;
}) {
  // Which live strategy's confirmation is open (one at a time).
  const [confirming, setConfirming] = useState<number | null>(null);
  const older = new Map(
    versions.filter((v) => v.version < latest.version).map((v) => [v.id, v] as const),
  );
  const behind = strategies.filter((s) => older.has(s.prompt_template));
  if (behind.length === 0) return null;
  const headingId = `use-latest-${latest.id}`;
  return (
    <div className="use-latest">
      <h3 id={headingId}>Use v{latest.version} in…</h3>
      <ul className="use-latest-list" aria-labelledby={headingId}>
        {behind.map((s) => (
          <SwitchItem
            key={s.id}
            strategy={s}
            current={older.get(s.prompt_template)!}
            target={latest}
            confirming={confirming === s.id}
            onConfirming={(open) => setConfirming(open ? s.id : null)}
            onSwitched={onSwitched}
          />
        ))}
      </ul>
    </div>
  );
}

function SwitchItem({
  strategy,
  current,
  target,
  confirming,
  onConfirming,
  onSwitched,
}: {
  strategy: StrategyRef;
  current: PromptTemplate;
  target: PromptTemplate;
  confirming: boolean;
  onConfirming: (open: boolean) => void;
  onSwitched: (strategy: StrategyRef, version: PromptTemplate) => void;
}) {
  const update = useUpdateStrategy(strategy.id);
  const live = strategy.trading_mode === "live";
  const label = `Switch ${strategy.name} to v${target.version}`;
  const switchNow = () =>
    update.mutate(
      { prompt_template: target.id },
      { onSuccess: () => onSwitched(strategy, target) },
    );
  return (
    <li data-testid={`use-latest-${strategy.id}`}>
      <div className="use-latest-item">
        <span>
          <Link to={`/strategies/${strategy.id}`}>{strategy.name}</Link>{" "}
          <span className="muted small">on v{current.version}</span>
          {live && (
            <>
              {" "}
              <span className="badge mode-live">live</span>
            </>
          )}
        </span>
        <button
          type="button"
          className={live ? "live" : undefined}
          disabled={update.isPending}
          aria-expanded={live ? confirming : undefined}
          onClick={() => (live ? onConfirming(true) : switchNow())}
        >
          {update.isPending ? "Switching…" : label}
        </button>
      </div>
      {live && confirming && (
        <LiveConfirm
          question={
            `${strategy.name} trades live: its next runs send real orders decided from ` +
            `v${target.version}'s prompt. Switch it from v${current.version} to ` +
            `v${target.version}?`
          }
          onConfirm={() => {
            onConfirming(false);
            switchNow();
          }}
          onCancel={() => onConfirming(false)}
        />
      )}
      {update.isError && (
        <ErrorState
          error={update.error}
          title={`Could not switch ${strategy.name} to v${target.version}`}
        />
      )}
    </li>
  );
}
