import { render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import type { RunOrder } from "../../../api/types";
import { makeOrder } from "../../../test/fixtures";
import { RunOrders } from "../../lineage/RunOrders/RunOrders";
import { OrdersTable } from "../OrdersTable/OrdersTable";
import { orderOutcome } from "./orderOutcome";

const ocaCancelled = makeOrder({
  id: 12,
  role: "stop_loss",
  status: "cancelled",
  error_message: "OCA: sibyl-42-take_profit filled",
});
const parentCancelled = makeOrder({
  id: 13,
  role: "take_profit",
  status: "cancelled",
  error_message: "parent cancelled",
});
const rejected = makeOrder({ id: 14, status: "rejected", error_message: "201: margin" });

describe("orderOutcome", () => {
  it("reads OCA and parent cancellations as the expected outcome, anything else as given", () => {
    expect(orderOutcome("cancelled", "OCA: sibyl-42-take_profit filled")).toEqual({
      label: "cancelled (OCA: take profit filled)",
      expectedCancel: true,
    });
    expect(orderOutcome("cancelled", "OCA: other-ref filled").label).toBe(
      "cancelled (OCA: other-ref filled)",
    );
    expect(orderOutcome("cancelled", "parent cancelled")).toEqual({
      label: "cancelled (parent cancelled)",
      expectedCancel: true,
    });
    expect(orderOutcome("cancelled", "DAY order expired unfilled").expectedCancel).toBe(false);
    expect(orderOutcome("rejected", "OCA: x filled").expectedCancel).toBe(false);
    expect(orderOutcome("partially_filled", "")).toEqual({
      label: "partially filled",
      expectedCancel: false,
    });
  });
});

describe("expected cancellations wherever orders are shown", () => {
  it("order list: a neutral 'cancelled (OCA: …)' badge, errors still red", () => {
    render(
      <MemoryRouter>
        <OrdersTable orders={[ocaCancelled, parentCancelled, rejected]} />
      </MemoryRouter>,
    );
    const oca = within(screen.getByTestId("order-row-12")).getByText(
      "cancelled (OCA: take profit filled)",
    );
    expect(oca).toHaveClass("badge", "status-cancelled");
    expect(oca).toHaveAttribute("title", "OCA: sibyl-42-take_profit filled");
    expect(
      within(screen.getByTestId("order-row-13")).getByText("cancelled (parent cancelled)"),
    ).toHaveClass("status-cancelled");
    expect(within(screen.getByTestId("order-row-14")).getByText("rejected")).toHaveClass(
      "status-rejected",
    );
  });

  it("run lineage: the OCA message is a plain note, not an error box", () => {
    const asRunOrder = (o: typeof ocaCancelled) => ({ ...o, fills: [] }) as unknown as RunOrder;
    const { container } = render(
      <MemoryRouter>
        <RunOrders orders={[asRunOrder(ocaCancelled), asRunOrder(rejected)]} />
      </MemoryRouter>,
    );
    expect(screen.getByText("cancelled (OCA: take profit filled)")).toHaveClass("status-cancelled");
    const errors = [...container.querySelectorAll(".step-error")].map((e) => e.textContent);
    expect(errors).toEqual(["201: margin"]);
    expect(screen.getByText("OCA: sibyl-42-take_profit filled")).toHaveClass("order-note");
  });
});
