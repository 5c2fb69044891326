import type { PromptScore, PromptTemplate } from "../../../api/prompts";

/** One template name on the Prompts page: its latest version, version count and best score. */
export interface TemplateSummary {
  name: string;
  latest: PromptTemplate;
  versions: number;
  /** The score of the newest version that has one (scores lag new versions by a day). */
  score: PromptScore | undefined;
}

/**
 * Groups versions by template name.
 * Inputs: every version (any order) and the latest scores (may be empty).
 * Output: one summary per name, sorted by name.
 */
export function summarizeTemplates(
  versions: readonly PromptTemplate[],
  scores: readonly PromptScore[] = [],
): TemplateSummary[] {
  const byName = new Map<string, TemplateSummary>();
  for (const v of versions) {
    const row = byName.get(v.name);
    if (!row) byName.set(v.name, { name: v.name, latest: v, versions: 1, score: undefined });
    else {
      row.versions++;
      if (v.version > row.latest.version) row.latest = v;
    }
  }
  for (const s of scores) {
    const row = byName.get(s.template_name);
    if (row && (!row.score || s.template_version > row.score.template_version)) row.score = s;
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
