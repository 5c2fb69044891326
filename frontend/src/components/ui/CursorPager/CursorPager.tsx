import { cursorFrom } from "../../../api/client";

/** Older/newer buttons for DRF cursor pagination (`next`/`previous` links). */
export function CursorPager({
  next,
  previous,
  onCursor,
}: {
  next?: string | null;
  previous?: string | null;
  onCursor: (cursor: string | undefined) => void;
}) {
  if (!next && !previous) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={!previous} onClick={() => onCursor(cursorFrom(previous))}>
        ← Newer
      </button>
      <button type="button" disabled={!next} onClick={() => onCursor(cursorFrom(next))}>
        Older →
      </button>
    </nav>
  );
}
