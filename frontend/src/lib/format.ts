/** Display helpers: the API sends decimals as strings and times as ISO 8601 (UTC). */

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** A decimal string, trimmed of trailing zeros but keeping at least `min` fraction digits. */
export function formatNumber(value: string | number | null | undefined, min = 0, max = 6): string {
  if (value === null || value === undefined || value === "") return "—";
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(n)) return String(value);
  return n.toLocaleString(undefined, { minimumFractionDigits: min, maximumFractionDigits: max });
}

export const formatMoney = (value: string | number | null | undefined) => formatNumber(value, 2, 2);

export function formatUsd(value: string | number | null | undefined): string {
  const s = formatNumber(value, 2, 6);
  return s === "—" ? s : `$${s}`;
}

/** CSS class for a signed P&L value. */
export function pnlClass(value: string | number | null | undefined): string {
  const n = Number(value);
  if (value === null || value === undefined || !Number.isFinite(n) || n === 0) return "pnl";
  return n > 0 ? "pnl pnl-up" : "pnl pnl-down";
}

export const humanize = (s: string) => s.replace(/_/g, " ");
