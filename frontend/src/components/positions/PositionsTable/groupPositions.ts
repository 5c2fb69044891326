import type { Position } from "../../../api/types";

/** One symbol on one account: the strategies' positions and the account's net. */
export interface SymbolGroup {
  symbol: string;
  symbolId: number;
  currency: string;
  /** The strategies' positions in the symbol, by strategy name. */
  positions: Position[];
  /** The account's net quantity: the sum of the strategies' signed quantities (negative is short). */
  netQuantity: number;
  /** Sum of the strategies' unrealized P&L; null when no position has a last price. */
  unrealized: number | null;
  /** Sum of the strategies' realized P&L (same currency: one symbol trades in one currency). */
  realized: number;
}

/** P&L totals of one account in one currency (amounts in different currencies never add). */
export interface CurrencyTotal {
  currency: string;
  unrealized: number | null;
  realized: number;
}

/** One account's open strategy positions grouped by symbol, with P&L totals per currency. */
export interface AccountGroup {
  accountId: number;
  account: string;
  symbols: SymbolGroup[];
  totals: CurrencyTotal[];
}

const addNullable = (sum: number | null, value: string | null | undefined) =>
  value === null || value === undefined ? sum : (sum ?? 0) + Number(value);

/**
 * Group strategy positions by account (by account name), then by symbol (by code). Inputs are
 * the API's decimal strings; the sums are numbers for display only.
 */
export function groupPositions(positions: readonly Position[]): AccountGroup[] {
  const accounts = new Map<number, { account: string; symbols: Map<number, SymbolGroup> }>();
  for (const p of positions) {
    let account = accounts.get(p.account_id);
    if (!account) accounts.set(p.account_id, (account = { account: p.account, symbols: new Map() }));
    let group = account.symbols.get(p.symbol_id);
    if (!group) {
      group = {
        symbol: p.symbol,
        symbolId: p.symbol_id,
        currency: p.currency,
        positions: [],
        netQuantity: 0,
        unrealized: null,
        realized: 0,
      };
      account.symbols.set(p.symbol_id, group);
    }
    group.positions.push(p);
    group.netQuantity += Number(p.quantity);
    group.unrealized = addNullable(group.unrealized, p.unrealized_pnl);
    group.realized += Number(p.realized_pnl);
  }
  return [...accounts.entries()]
    .map(([accountId, { account, symbols }]) => {
      const groups = [...symbols.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
      for (const g of groups) g.positions.sort((a, b) => a.strategy.localeCompare(b.strategy));
      const totals = new Map<string, CurrencyTotal>();
      for (const g of groups) {
        let t = totals.get(g.currency);
        if (!t) totals.set(g.currency, (t = { currency: g.currency, unrealized: null, realized: 0 }));
        if (g.unrealized !== null) t.unrealized = (t.unrealized ?? 0) + g.unrealized;
        t.realized += g.realized;
      }
      return {
        accountId,
        account,
        symbols: groups,
        totals: [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)),
      };
    })
    .sort((a, b) => a.account.localeCompare(b.account));
}

/** The side of a net quantity: LONG above zero, SHORT below, FLAT at zero. */
export const netSide = (quantity: number) => (quantity > 0 ? "LONG" : quantity < 0 ? "SHORT" : "FLAT");

/**
 * The strategy positions that fill at most `cap` table rows (each symbol takes its strategies'
 * rows plus the account-net row), in display order, cut only between symbols so that every shown
 * account net is the whole net (the first symbol is kept even if larger than `cap`). `more` is
 * true when positions were left out.
 */
export function capPositions(
  positions: readonly Position[],
  cap: number,
): { shown: Position[]; more: boolean } {
  const shown: Position[] = [];
  let rows = 0;
  for (const account of groupPositions(positions)) {
    for (const group of account.symbols) {
      const cost = group.positions.length + 1;
      if (shown.length > 0 && rows + cost > cap) return { shown, more: true };
      shown.push(...group.positions);
      rows += cost;
    }
  }
  return { shown, more: false };
}
