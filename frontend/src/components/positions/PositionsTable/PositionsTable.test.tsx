import { render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import type { WorkingOrder } from "../../../api/types";
import { makePosition } from "../../../test/fixtures";
import { PositionsTable } from "./PositionsTable";

const working = (over: Partial<WorkingOrder>): WorkingOrder => ({
  id: 1,
  role: "stop_loss",
  status: "submitted",
  side: "SELL",
  order_type: "STP",
  quantity: "10.0000",
  filled_quantity: "0.0000",
  price: "140.00000000",
  reason: "signal",
  action_id: null,
  ...over,
});

const cells = (row: HTMLElement) => within(row).getAllByRole("cell").map((c) => c.textContent);

describe("PositionsTable", () => {
  it("groups strategy positions by account, names strategies, adds the account's net per symbol and P&L per currency", () => {
    const positions = [
      makePosition({
        id: 1,
        account_id: 1,
        account: "Paper A",
        strategy_id: 7,
        strategy: "goog-swing",
        side: "LONG",
        symbol: "GOOG",
        symbol_id: 3,
        quantity: "10",
        average_cost: "150.00",
        last_price: "155.00",
        unrealized_pnl: "50.00",
        realized_pnl: "5.00",
        working_orders: [
          working({ id: 12, role: "take_profit", price: "170.00000000" }),
          working({ id: 13, role: "stop_loss", price: "140.00000000", status: "pending" }),
        ],
      }),
      makePosition({
        id: 2,
        account_id: 1,
        account: "Paper A",
        strategy_id: 8,
        strategy: "goog-fade",
        side: "SHORT",
        symbol: "GOOG",
        symbol_id: 3,
        quantity: "-4",
        average_cost: "157.50",
        last_price: "155.00",
        unrealized_pnl: "10.00",
        realized_pnl: "-2.00",
      }),
      makePosition({
        id: 3,
        account_id: 1,
        account: "Paper A",
        strategy_id: 9,
        strategy: "sap-daily",
        symbol: "SAP",
        symbol_id: 4,
        currency: "EUR",
        quantity: "3",
        unrealized_pnl: "1.50",
        realized_pnl: "0",
      }),
      makePosition({ id: 4, account_id: 2, account: "Paper B", strategy: "SPY daily" }),
    ];
    render(
      <MemoryRouter>
        <PositionsTable
          positions={positions}
          strategyNames={new Map([[7, "GOOG swing"], [8, "GOOG fade"]])}
        />
      </MemoryRouter>,
    );
    const a = screen.getByRole("table", { name: "Positions on Paper A" });
    expect(screen.getByRole("table", { name: "Positions on Paper B" })).toBeInTheDocument();
    expect(within(a).getByRole("link", { name: "GOOG fade" })).toHaveAttribute("href", "/strategies/8");

    const net = within(a).getByRole("row", { name: "GOOG account net" });
    expect(cells(net)).toEqual([
      "Account net",
      "LONG",
      "GOOG",
      "6",
      "—",
      "155.00",
      "60.00",
      "3.00",
      "USD",
      "",
    ]);
    // Each position: its stop, then its target, and a Close button; unprotected ones say so.
    const swing = within(a).getByRole("link", { name: "GOOG swing" }).closest("tr")!;
    expect(within(swing).getByTestId("working-order-13")).toHaveTextContent("Stop 140 × 10 (pending)");
    expect(within(swing).getByTestId("working-order-12")).toHaveTextContent("Target 170 × 10 (submitted)");
    expect(within(swing).getByRole("button", { name: "Close" })).toBeEnabled();
    const fade = within(a).getByRole("link", { name: "GOOG fade" }).closest("tr")!;
    expect(fade).toHaveTextContent("unprotected");
    expect(within(a).getByRole("button", { name: "Close all" })).toBeInTheDocument();
    // The net row follows the symbol's strategy rows (by strategy name).
    const rows = within(a).getAllByRole("row");
    const names = rows.map(
      (r) => r.getAttribute("aria-label") ?? (r as HTMLTableRowElement).cells[0]?.textContent,
    );
    expect(names.slice(1)).toEqual([
      "GOOG fade",
      "GOOG swing",
      "GOOG account net",
      "sap-daily", // no name known: the API's slug
      "SAP account net",
      "Total EUR",
      "Total USD",
    ]);
    // Currencies never add: one total per currency.
    expect(cells(within(a).getByRole("row", { name: "Total USD" }))).toEqual([
      "Total USD",
      "60.00",
      "3.00",
      "USD",
      "",
    ]);
    expect(cells(within(a).getByRole("row", { name: "Total EUR" }))).toEqual([
      "Total EUR",
      "1.50",
      "0.00",
      "EUR",
      "",
    ]);
  });

  it("shows a flat net when the strategies' positions offset, and no unrealized P&L without a price", () => {
    render(
      <MemoryRouter>
        <PositionsTable
          positions={[
            makePosition({ id: 1, strategy: "A", quantity: "5", last_price: null, unrealized_pnl: null }),
            makePosition({ id: 2, strategy: "B", side: "SHORT", quantity: "-5", last_price: null, unrealized_pnl: null }),
          ]}
        />
      </MemoryRouter>,
    );
    const net = screen.getByRole("row", { name: "SPY account net" });
    expect(cells(net).slice(1, 7)).toEqual(["FLAT", "SPY", "0", "—", "—", "—"]);
  });
});
