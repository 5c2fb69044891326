import { describe, expect, it } from "vitest";
import { makePromptScore, makePromptTemplate } from "../../../test/fixtures";
import { summarizeTemplates } from "./templateSummary";

describe("summarizeTemplates", () => {
  it("keeps two owners' templates of one name apart, each with its own scores", () => {
    const rows = summarizeTemplates(
      [
        makePromptTemplate({ id: 1, version: 1, owner: 1 }),
        makePromptTemplate({ id: 2, version: 2, owner: 1 }),
        makePromptTemplate({ id: 3, version: 1, owner: 2, owner_username: "alice" }),
        makePromptTemplate({ id: 4, name: "house", version: 1, owner: null }),
      ],
      [makePromptScore({ template_id: 3, template_version: 1, signals: 5 })],
    );
    expect(
      rows.map((r) => [r.name, r.owner, r.sharedName, r.versions, r.score?.signals]),
    ).toEqual([
      ["house", "operator", false, 1, undefined],
      ["swing", "1", true, 2, undefined],
      ["swing", "2", true, 1, 5],
    ]);
  });
});
