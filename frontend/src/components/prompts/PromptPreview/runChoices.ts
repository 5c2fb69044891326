import type { RunListItem, Strategy } from "../../../api/types";

/** Recent runs split for the preview's run picker. */
export interface RunChoices {
  /** Runs of strategies that use a version of this template: the most telling data. */
  usingTemplate: RunListItem[];
  /** Every other recent run (any run renders: the preview only needs its strategy's data). */
  others: RunListItem[];
}

/**
 * Inputs: recent runs (newest first), the caller's strategies, and the ids of this
 * template's versions. Output: the runs split by whether their strategy uses the template,
 * each part keeping the runs' order.
 */
export function splitRunChoices(
  runs: readonly RunListItem[],
  strategies: readonly Pick<Strategy, "id" | "prompt_template">[],
  versionIds: ReadonlySet<number>,
): RunChoices {
  const using = new Set(
    strategies.filter((s) => versionIds.has(s.prompt_template)).map((s) => s.id),
  );
  const choices: RunChoices = { usingTemplate: [], others: [] };
  for (const run of runs) {
    (using.has(run.strategy.id) ? choices.usingTemplate : choices.others).push(run);
  }
  return choices;
}
