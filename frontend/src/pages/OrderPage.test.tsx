import { screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { OrderDetail } from "../api/types";
import { makeOrder } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { OrderPage } from "./OrderPage";

const ocaCancelled = makeOrder({
  id: 12,
  role: "stop_loss",
  status: "cancelled",
  error_message: "OCA: sibyl-42-take_profit filled",
});

describe("OrderPage", () => {
  it("an OCA cancellation: neutral badge and a plain note, no error box", async () => {
    const detail = { ...ocaCancelled, fills: [] } as unknown as OrderDetail;
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => (url.pathname === "/api/v1/orders/12/" ? jsonResponse(detail) : undefined)),
      ),
    );
    const { container } = renderWithProviders(<OrderPage />, {
      route: "/orders/12",
      path: "/orders/:id",
    });
    const badge = await screen.findByText("cancelled (OCA: take profit filled)");
    expect(badge).toHaveClass("status-cancelled");
    expect(container.querySelector(".step-error")).toBeNull();
    expect(screen.getByText("OCA: sibyl-42-take_profit filled")).toHaveClass("order-note");
  });
});
