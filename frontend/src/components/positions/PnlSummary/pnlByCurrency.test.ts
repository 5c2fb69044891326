import { describe, expect, it } from "vitest";
import { makeFill, makePosition } from "../../../test/fixtures";
import { pnlByCurrency } from "./pnlByCurrency";

describe("pnlByCurrency", () => {
  it("keeps currencies apart and adds today's fills and open positions within each", () => {
    const rows = pnlByCurrency(
      [
        makeFill({ realized_pnl: "120.50", commission: "1.25" }),
        makeFill({ id: 2, realized_pnl: "-20.50", commission: "1.00" }),
        makeFill({ id: 3, currency: "JPY", realized_pnl: "500", commission: "80" }),
      ],
      [
        makePosition({ unrealized_pnl: "10.00", realized_pnl: "300.00" }),
        makePosition({ id: 2, symbol: "QQQ", unrealized_pnl: null, realized_pnl: "-50.00" }),
        makePosition({ id: 3, symbol: "EUR", currency: "GBP", unrealized_pnl: null }),
      ],
    );
    expect(rows).toEqual([
      {
        currency: "GBP",
        realizedToday: 0,
        commissionToday: 0,
        fillsToday: 0,
        unrealized: null,
        realizedTotal: 0,
      },
      {
        currency: "JPY",
        realizedToday: 500,
        commissionToday: 80,
        fillsToday: 1,
        unrealized: null,
        realizedTotal: 0,
      },
      {
        currency: "USD",
        realizedToday: 100,
        commissionToday: 2.25,
        fillsToday: 2,
        unrealized: 10,
        realizedTotal: 250,
      },
    ]);
  });

  it("is empty with no fills and no positions", () => {
    expect(pnlByCurrency([], [])).toEqual([]);
  });
});
