import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { describe, expect, it, vi } from "vitest";
import type { OrderStatus } from "../../../api/types";
import { makeOrder } from "../../../test/fixtures";
import { OrdersTable } from "./OrdersTable";

const statuses: OrderStatus[] = [
  "pending",
  "submitting",
  "submitted",
  "partially_filled",
  "filled",
  "cancelled",
  "rejected",
  "failed",
];

describe("OrdersTable", () => {
  it("offers Cancel only on working orders (submitted, partially filled)", () => {
    const orders = statuses.map((status, i) => makeOrder({ id: i + 1, status }));
    render(
      <MemoryRouter>
        <OrdersTable orders={orders} onCancel={() => {}} />
      </MemoryRouter>,
    );
    for (const [i, status] of statuses.entries()) {
      const row = screen.getByTestId(`order-row-${i + 1}`);
      const button = within(row).queryByRole("button", { name: "Cancel" });
      if (status === "submitted" || status === "partially_filled") expect(button).not.toBeNull();
      else expect(button).toBeNull();
    }
    expect(screen.getAllByRole("button", { name: "Cancel" })).toHaveLength(2);
  });

  it("shows why each order exists: a signal's bracket, a person's close with who and why", () => {
    const orders = [
      makeOrder({ id: 1 }),
      makeOrder({
        id: 2,
        run_id: null,
        role: "exit",
        reason: "person",
        action: {
          id: 9,
          kind: "person",
          status: "done",
          requested_by: "alice",
          note: "earnings tonight",
          run_id: null,
          created_at: "2025-01-02T15:00:00Z",
        },
      }),
      makeOrder({ id: 3, role: "exit", reason: "end_of_day", action: null }),
    ];
    render(
      <MemoryRouter>
        <OrdersTable orders={orders} />
      </MemoryRouter>,
    );
    const reason = (id: number) =>
      within(screen.getByTestId(`order-row-${id}`)).getByText(/signal|person|end-of-day/)
        .parentElement;
    expect(reason(1)).toHaveTextContent(/^signal$/);
    expect(reason(2)).toHaveTextContent("person by alice — “earnings tonight”");
    expect(reason(3)).toHaveTextContent(/^end-of-day$/);
    // A person's close has no run.
    expect(within(screen.getByTestId("order-row-2")).queryByRole("link", { name: /run #/ })).toBeNull();
  });

  it("shows fills, commission and P&L, links the order and its run, and cancels", async () => {
    const onCancel = vi.fn();
    render(
      <MemoryRouter>
        <OrdersTable
          orders={[
            makeOrder({
              id: 9,
              status: "partially_filled",
              fills_count: 2,
              filled_quantity: "4",
              avg_fill_price: "100.25",
              commission: "1.5",
              realized_pnl: "-3.2",
            }),
          ]}
          onCancel={onCancel}
        />
      </MemoryRouter>,
    );
    const row = screen.getByTestId("order-row-9");
    expect(within(row).getByRole("link", { name: "#9" })).toHaveAttribute("href", "/orders/9");
    expect(within(row).getByRole("link", { name: "run #42" })).toHaveAttribute("href", "/runs/42");
    // The strategy by name (not "#7"), linked to its page.
    expect(within(row).getByRole("link", { name: "SPY daily" })).toHaveAttribute(
      "href",
      "/strategies/7",
    );
    expect(within(row).queryByText("#7")).toBeNull();
    expect(row).toHaveTextContent("(4 @ 100.25)");
    expect(row).toHaveTextContent("1.50");
    expect(within(row).getByText("-3.20")).toHaveClass("pnl-down");
    await userEvent.click(within(row).getByRole("button", { name: "Cancel" }));
    expect(onCancel).toHaveBeenCalledWith(9);
  });
});
