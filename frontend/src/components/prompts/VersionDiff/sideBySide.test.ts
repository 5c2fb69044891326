import { describe, expect, it } from "vitest";
import { buildSideBySide, countChanges, type DiffRow } from "./sideBySide";

/** A compact picture of the rows: "kind:text" per side, "·" for a spacer. */
const picture = (rows: DiffRow[]) =>
  rows.map((r) => [
    r.left ? `${r.left.line} ${r.left.kind}:${r.left.text}` : "·",
    r.right ? `${r.right.line} ${r.right.kind}:${r.right.text}` : "·",
  ]);

describe("buildSideBySide", () => {
  it("keeps unchanged lines on both sides with their own line numbers", () => {
    expect(picture(buildSideBySide("a\nb\n", "a\nb\n"))).toEqual([
      ["1 context:a", "1 context:a"],
      ["2 context:b", "2 context:b"],
    ]);
    expect(buildSideBySide("", "")).toEqual([]);
  });

  it("pairs a modified line across the columns and marks the changed words", () => {
    const rows = buildSideBySide(
      "Symbol {{ symbol }}\nClose {{ close }}\n",
      "Symbol {{ symbol }}\nLast close {{ close }}\n",
    );
    expect(picture(rows)).toEqual([
      ["1 context:Symbol {{ symbol }}", "1 context:Symbol {{ symbol }}"],
      ["2 removed:Close {{ close }}", "2 added:Last close {{ close }}"],
    ]);
    const [, changed] = rows;
    expect(changed!.left!.segments!.filter((s) => s.changed).map((s) => s.text)).toEqual(["Close"]);
    // One phrase, not "Last" and "close" apart (the space between them is bridged).
    expect(changed!.right!.segments!.filter((s) => s.changed).map((s) => s.text.trim())).toEqual([
      "Last close",
    ]);
    // Joined back, the pieces are the whole line on each side.
    expect(changed!.left!.segments!.map((s) => s.text).join("")).toBe("Close {{ close }}");
    expect(changed!.right!.segments!.map((s) => s.text).join("")).toBe("Last close {{ close }}");
  });

  it("puts spacers opposite pure additions and removals, and numbers each side apart", () => {
    const rows = buildSideBySide("a\nold\nb\n", "a\nb\nnew 1\nnew 2\n");
    expect(picture(rows)).toEqual([
      ["1 context:a", "1 context:a"],
      ["2 removed:old", "·"],
      ["3 context:b", "2 context:b"],
      ["·", "3 added:new 1"],
      ["·", "4 added:new 2"],
    ]);
    expect(rows[1]!.left!.segments).toBeUndefined();
    expect(countChanges(rows)).toEqual({ removed: 1, added: 2 });
  });

  it("pairs an uneven replacement block and leaves the rest against spacers", () => {
    const rows = buildSideBySide("x\n1\n2\n3\ny\n", "x\none\ny\n");
    expect(picture(rows)).toEqual([
      ["1 context:x", "1 context:x"],
      ["2 removed:1", "2 added:one"],
      ["3 removed:2", "·"],
      ["4 removed:3", "·"],
      ["5 context:y", "3 context:y"],
    ]);
  });

  it("ignores a missing final newline and strips CRs", () => {
    expect(picture(buildSideBySide("a\nb", "a\nb\n"))).toEqual([
      ["1 context:a", "1 context:a"],
      ["2 context:b", "2 context:b"],
    ]);
    expect(picture(buildSideBySide("a\r\nb\r\n", "a\r\nc\r\n"))).toEqual([
      ["1 context:a", "1 context:a"],
      ["2 removed:b", "2 added:c"],
    ]);
  });

  it("shows a first version against an empty text as all added", () => {
    const rows = buildSideBySide("", "one\ntwo");
    expect(picture(rows)).toEqual([
      ["·", "1 added:one"],
      ["·", "2 added:two"],
    ]);
  });
});
