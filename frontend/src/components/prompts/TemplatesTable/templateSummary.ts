import type { PromptScore, PromptTemplate } from "../../../api/prompts";

/** One template name of one owner on the Prompts page: its latest version, version count and
 * best score. Names are per owner, so two users' `swing` are two rows. */
export interface TemplateSummary {
  name: string;
  /** `ownerKey` of the versions' owner: the user id, or "operator" for the operator's. */
  owner: string;
  /** Whether another owner's template (one you may read) has the same name. */
  sharedName: boolean;
  latest: PromptTemplate;
  versions: number;
  /** The score of the newest version that has one (scores lag new versions by a day). */
  score: PromptScore | undefined;
}

/** The owner of a version as a URL-friendly key: the user id, or "operator" (owner null). */
export function ownerKey(v: Pick<PromptTemplate, "owner">): string {
  return v.owner === null || v.owner === undefined ? "operator" : String(v.owner);
}

/**
 * Groups versions by owner and template name.
 * Inputs: every version (any order) and the latest scores (may be empty); a score belongs to
 * the group holding its version (`template_id`).
 * Output: one summary per (owner, name), sorted by name, then owner.
 */
export function summarizeTemplates(
  versions: readonly PromptTemplate[],
  scores: readonly PromptScore[] = [],
): TemplateSummary[] {
  const byKey = new Map<string, TemplateSummary>();
  const byVersionId = new Map<number, TemplateSummary>();
  for (const v of versions) {
    const key = `${ownerKey(v)}/${v.name}`;
    let row = byKey.get(key);
    if (!row) {
      row = {
        name: v.name,
        owner: ownerKey(v),
        sharedName: false,
        latest: v,
        versions: 1,
        score: undefined,
      };
      byKey.set(key, row);
    } else {
      row.versions++;
      if (v.version > row.latest.version) row.latest = v;
    }
    byVersionId.set(v.id, row);
  }
  for (const s of scores) {
    const row = byVersionId.get(s.template_id);
    if (row && (!row.score || s.template_version > row.score.template_version)) row.score = s;
  }
  const rows = [...byKey.values()];
  for (const row of rows) row.sharedName = rows.some((o) => o !== row && o.name === row.name);
  return rows.sort((a, b) => a.name.localeCompare(b.name) || a.owner.localeCompare(b.owner));
}
