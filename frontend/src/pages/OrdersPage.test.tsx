import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { makeOrder } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { OrdersPage } from "./OrdersPage";

describe("OrdersPage", () => {
  it("lists orders, shows empty state for a filter, and cancels with the CSRF header", async () => {
    document.cookie = "csrftoken=tok123";
    const seen: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          seen.push(req);
          if (url.pathname === "/api/v1/strategies/")
            return jsonResponse({ count: 0, next: null, previous: null, results: [] });
          if (url.pathname === "/api/v1/orders/") {
            if (url.searchParams.get("status") === "filled")
              return jsonResponse({ next: null, previous: null, results: [] });
            return jsonResponse({ next: null, previous: null, results: [makeOrder({ id: 5 })] });
          }
          if (url.pathname === "/api/v1/orders/5/cancel/" && req.method === "POST")
            return jsonResponse({ ...makeOrder({ id: 5, status: "cancelled" }), fills: [] });
          return undefined;
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(<OrdersPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading");
    const row = await screen.findByTestId("order-row-5");
    await user.click(within(row).getByRole("button", { name: "Cancel" }));
    await waitFor(() =>
      expect(seen.some((r) => r.method === "POST" && r.url.endsWith("/api/v1/orders/5/cancel/"))).toBe(
        true,
      ),
    );
    const post = seen.find((r) => r.method === "POST")!;
    expect(post.headers.get("X-CSRFToken")).toBe("tok123");

    await user.selectOptions(screen.getByLabelText("Status"), "filled");
    expect(await screen.findByText("No orders match.")).toBeInTheDocument();
  });
});
