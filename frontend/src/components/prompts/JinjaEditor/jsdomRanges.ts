/**
 * Test-only: jsdom has no layout, and its `Range` lacks `getClientRects` /
 * `getBoundingClientRect`, which CodeMirror's measure pass calls (for the selection layer) —
 * it then logs a TypeError per frame. Empty rects are what a layout-less page would report.
 * Import this module from tests that mount a `JinjaEditor`.
 */
const emptyRect = (): DOMRect => {
  const rect = { x: 0, y: 0, width: 0, height: 0, top: 0, right: 0, bottom: 0, left: 0 };
  return { ...rect, toJSON: () => rect };
};

if (typeof Range !== "undefined") {
  const proto = Range.prototype as Partial<Pick<Range, "getClientRects" | "getBoundingClientRect">>;
  if (!proto.getClientRects) {
    proto.getClientRects = () =>
      Object.assign([], { item: () => null }) as unknown as DOMRectList;
  }
  if (!proto.getBoundingClientRect) proto.getBoundingClientRect = emptyRect;
}

export {};
