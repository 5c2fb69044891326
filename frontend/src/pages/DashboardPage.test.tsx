import { screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { makeSignal, makeStrategy } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { DashboardPage } from "./DashboardPage";

describe("DashboardPage", () => {
  it("links New strategy, and names strategies and symbols (inactive ones too)", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          if (url.pathname === "/api/v1/strategies/") {
            const active = url.searchParams.get("is_active") === "true";
            const results = active
              ? [makeStrategy({ id: 7, name: "SPY daily", symbol_code: "SPY" })]
              : [makeStrategy({ id: 8, name: "EUR hourly", is_active: false })];
            return jsonResponse({ count: 1, next: null, previous: null, results });
          }
          if (url.pathname === "/api/v1/runs/")
            return jsonResponse({ next: null, previous: null, results: [] });
          if (url.pathname === "/api/v1/signals/")
            return jsonResponse({ next: null, previous: null, results: [makeSignal()] });
          if (url.pathname === "/api/v1/positions/")
            return jsonResponse({ count: 0, next: null, previous: null, results: [] });
          return undefined;
        }),
      ),
    );
    renderWithProviders(<DashboardPage />);
    expect(screen.getByRole("link", { name: "New strategy" })).toHaveAttribute(
      "href",
      "/strategies/new",
    );
    const section = screen.getByRole("heading", { name: "Active strategies" }).closest("section")!;
    const row = (await within(section).findByRole("link", { name: "SPY daily" })).closest("tr")!;
    expect(within(row).getByRole("cell", { name: /^SPY\s+1 day$/ })).toBeInTheDocument();
    expect(await screen.findByRole("link", { name: "EUR hourly" })).toHaveAttribute(
      "href",
      "/strategies/8",
    );
  });
});
