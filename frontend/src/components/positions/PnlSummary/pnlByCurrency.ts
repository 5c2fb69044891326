import type { FillListItem, Position } from "../../../api/types";

/** One currency's P&L: money in that currency (amounts in different currencies never add). */
export interface CurrencyPnl {
  currency: string;
  /** Realized P&L of today's fills, after their commissions. */
  realizedToday: number;
  /** Commissions of today's fills. */
  commissionToday: number;
  /** Number of today's fills. */
  fillsToday: number;
  /** Open positions marked at their last price; null when no position has a last price. */
  unrealized: number | null;
  /** Realized P&L of every position since it was opened (all time). */
  realizedTotal: number;
}

const blank = (currency: string): CurrencyPnl => ({
  currency,
  realizedToday: 0,
  commissionToday: 0,
  fillsToday: 0,
  unrealized: null,
  realizedTotal: 0,
});

/**
 * Group today's fills and the open positions by currency, sorted by currency code.
 * Inputs are the API's decimal strings; outputs are numbers for display only.
 */
export function pnlByCurrency(
  fillsToday: readonly FillListItem[],
  positions: readonly Position[],
): CurrencyPnl[] {
  const rows = new Map<string, CurrencyPnl>();
  const row = (currency: string) => {
    let found = rows.get(currency);
    if (!found) rows.set(currency, (found = blank(currency)));
    return found;
  };
  for (const fill of fillsToday) {
    const r = row(fill.currency);
    r.realizedToday += Number(fill.realized_pnl);
    r.commissionToday += Number(fill.commission);
    r.fillsToday += 1;
  }
  for (const position of positions) {
    const r = row(position.currency);
    r.realizedTotal += Number(position.realized_pnl);
    if (position.unrealized_pnl !== null && position.unrealized_pnl !== undefined) {
      r.unrealized = (r.unrealized ?? 0) + Number(position.unrealized_pnl);
    }
  }
  return [...rows.values()].sort((a, b) => a.currency.localeCompare(b.currency));
}
