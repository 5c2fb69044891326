/** Display of prompt scores: shares 0–1 as percents, the R multiple with its unit. */

/** Input: a share 0–1 or null (nothing to share). Output: "62%" or "—". */
export function formatShare(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return `${Math.round(value * 100)}%`;
}

/** Input: an average R multiple or null. Output: "+1.20 R", "−0.50 R" or "—". */
export function formatR(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  const sign = value > 0 ? "+" : value < 0 ? "−" : "";
  return `${sign}${Math.abs(value).toFixed(2)} R`;
}

/** CSS class for an R multiple (green above zero, red below), as `pnlClass` does for money. */
export function rClass(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value) || value === 0) return "pnl";
  return value > 0 ? "pnl pnl-up" : "pnl pnl-down";
}
