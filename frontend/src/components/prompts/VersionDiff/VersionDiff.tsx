import { Fragment, useMemo } from "react";
import { buildSideBySide, countChanges, type DiffCell } from "./sideBySide";

function Cell({ cell, side }: { cell: DiffCell | null; side: "old" | "new" }) {
  if (!cell) return <div className={`diff-cell diff-${side} diff-spacer`} aria-hidden="true" />;
  const sign = cell.kind === "removed" ? "−" : cell.kind === "added" ? "+" : " ";
  const Changed = cell.kind === "removed" ? "del" : "ins";
  return (
    <div className={`diff-cell diff-${side} diff-${cell.kind}`} data-testid={`diff-${side}-line`}>
      <span className="diff-ln" aria-hidden="true">
        {cell.line}
      </span>
      <span className="diff-sign" aria-hidden="true">
        {sign}
      </span>
      <code className="diff-text">
        {cell.segments
          ? cell.segments.map((s, i) =>
              s.changed ? (
                <Changed key={i} className="diff-word">
                  {s.text}
                </Changed>
              ) : (
                <Fragment key={i}>{s.text}</Fragment>
              ),
            )
          : cell.text || "\u00a0"}
      </code>
    </div>
  );
}

/**
 * Two versions of a template in two columns: `oldText` on the left with removed lines
 * highlighted, `newText` on the right with added lines highlighted, changed words marked.
 * `oldLabel`/`newLabel` head the columns. On a phone-width screen the columns stack (CSS).
 */
export function VersionDiff({
  oldText,
  newText,
  oldLabel,
  newLabel,
}: {
  oldText: string;
  newText: string;
  oldLabel: string;
  newLabel: string;
}) {
  const rows = useMemo(() => buildSideBySide(oldText, newText), [oldText, newText]);
  const { removed, added } = countChanges(rows);
  return (
    <div className="version-diff">
      <p className="muted small diff-summary">
        {removed === 0 && added === 0 ? (
          "No differences."
        ) : (
          <>
            <span className="diff-count-removed">−{removed}</span>{" "}
            <span className="diff-count-added">+{added}</span> lines
          </>
        )}
      </p>
      <div className="diff-grid" data-testid="version-diff">
        <div className="diff-head diff-old">{oldLabel}</div>
        <div className="diff-head diff-new">{newLabel}</div>
        {rows.map((row, i) => (
          <Fragment key={i}>
            <Cell cell={row.left} side="old" />
            <Cell cell={row.right} side="new" />
          </Fragment>
        ))}
      </div>
    </div>
  );
}
