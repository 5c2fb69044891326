import { diffLines, diffWordsWithSpace, type Change } from "diff";

/** How a line reads in the side-by-side view. */
export type DiffCellKind = "context" | "removed" | "added";

/** A piece of a changed line; `changed` pieces are the words that differ from the paired line. */
export interface DiffSegment {
  text: string;
  changed: boolean;
}

/** One line on one side: its 1-based number in that version, its text and kind. */
export interface DiffCell {
  line: number;
  text: string;
  kind: DiffCellKind;
  /** Word-level pieces, only when the line is paired with a changed line on the other side. */
  segments?: DiffSegment[];
}

/** A row of the two columns; `null` is a spacer where the other side has a line. */
export interface DiffRow {
  left: DiffCell | null;
  right: DiffCell | null;
}

/** Lines of one change object's value (its trailing newline ends the last line, not a new one). */
function linesOf(value: string): string[] {
  if (value === "") return [];
  const trimmed = value.endsWith("\n") ? value.slice(0, -1) : value;
  return trimmed.split("\n").map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
}

/**
 * Joins neighbouring pieces of the same kind, and swallows a bare space between two changed
 * pieces, so "Last close" reads as one highlighted phrase rather than two words and a gap.
 */
function merge(pieces: DiffSegment[]): DiffSegment[] {
  const out: DiffSegment[] = [];
  pieces.forEach((piece, i) => {
    const bridging =
      !piece.changed && /^\s+$/.test(piece.text) && out.at(-1)?.changed && pieces[i + 1]?.changed;
    const changed = piece.changed || Boolean(bridging);
    const last = out.at(-1);
    if (last && last.changed === changed) last.text += piece.text;
    else out.push({ text: piece.text, changed });
  });
  return out;
}

/** Word pieces of a removed/added pair: each side keeps the common words and its own changes. */
function wordSegments(oldLine: string, newLine: string): [DiffSegment[], DiffSegment[]] {
  const left: DiffSegment[] = [];
  const right: DiffSegment[] = [];
  for (const part of diffWordsWithSpace(oldLine, newLine)) {
    if (!part.added) left.push({ text: part.value, changed: part.removed });
    if (!part.removed) right.push({ text: part.value, changed: part.added });
  }
  return [merge(left), merge(right)];
}

/**
 * The side-by-side rows of a line diff from `oldText` (left) to `newText` (right).
 *
 * Unchanged lines sit on both sides of a row. A block of removed lines followed by a block of
 * added lines is paired row by row (a modified line reads across, with the differing words as
 * `segments`); the longer block's leftover lines get a `null` spacer opposite. A missing
 * newline at the end of either text is not a change.
 *
 * Output: rows top to bottom; `[]` when both texts are empty.
 */
export function buildSideBySide(oldText: string, newText: string): DiffRow[] {
  const changes: Change[] = diffLines(oldText, newText, { ignoreNewlineAtEof: true });
  const rows: DiffRow[] = [];
  let leftNo = 1;
  let rightNo = 1;

  for (let i = 0; i < changes.length; i++) {
    const change = changes[i]!;
    if (!change.added && !change.removed) {
      for (const text of linesOf(change.value)) {
        rows.push({
          left: { line: leftNo++, text, kind: "context" },
          right: { line: rightNo++, text, kind: "context" },
        });
      }
      continue;
    }

    // Gather one removed block and the added block right after it (either may be empty).
    const removed = change.removed ? linesOf(change.value) : [];
    let added: string[] = [];
    if (change.added) {
      added = linesOf(change.value);
    } else if (changes[i + 1]?.added) {
      added = linesOf(changes[i + 1]!.value);
      i++;
    }

    for (let k = 0; k < Math.max(removed.length, added.length); k++) {
      const oldLine = removed[k];
      const newLine = added[k];
      const left: DiffCell | null =
        oldLine === undefined ? null : { line: leftNo++, text: oldLine, kind: "removed" };
      const right: DiffCell | null =
        newLine === undefined ? null : { line: rightNo++, text: newLine, kind: "added" };
      if (left && right) [left.segments, right.segments] = wordSegments(left.text, right.text);
      rows.push({ left, right });
    }
  }
  return rows;
}

/** Output: how many lines the diff removes (left) and adds (right). */
export function countChanges(rows: readonly DiffRow[]): { removed: number; added: number } {
  let removed = 0;
  let added = 0;
  for (const row of rows) {
    if (row.left?.kind === "removed") removed++;
    if (row.right?.kind === "added") added++;
  }
  return { removed, added };
}
