import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import {
  makeFill,
  makePosition,
  makeRunListItem,
  makeSignal,
  makeStrategy,
} from "../test/fixtures";
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

  it("shows P&L per currency from today's fills and positions, and the latest runs", async () => {
    const asked: URL[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          asked.push(url);
          const page = (results: unknown[]) =>
            jsonResponse({ count: results.length, next: null, previous: null, results });
          if (url.pathname === "/api/v1/strategies/") return page([]);
          if (url.pathname === "/api/v1/signals/") return page([]);
          if (url.pathname === "/api/v1/runs/")
            return page([makeRunListItem({ id: 5, strategy: { id: 3, slug: "g", name: "GOOG swing" } })]);
          if (url.pathname === "/api/v1/fills/")
            return page([makeFill({ realized_pnl: "1605.04", commission: "2.00" })]);
          if (url.pathname === "/api/v1/positions/")
            return page([makePosition({ unrealized_pnl: "-12.50", realized_pnl: "1605.04" })]);
          return undefined;
        }),
      ),
    );
    renderWithProviders(<DashboardPage />);
    const pnl = await screen.findByRole("table", { name: "P&L by currency" });
    const usd = within(pnl).getByRole("cell", { name: "USD" }).closest("tr")!;
    expect(within(usd).getAllByRole("cell").map((c) => c.textContent)).toEqual([
      "USD",
      "1,605.04",
      "2.00",
      "1",
      "-12.50",
      "1,605.04",
    ]);
    const fills = asked.find((u) => u.pathname === "/api/v1/fills/")!;
    expect(fills.searchParams.get("executed_after")).toMatch(/T/);
    const runs = screen.getByRole("heading", { name: "Recent runs" }).closest("section")!;
    const row = (await within(runs).findByRole("link", { name: "#5" })).closest("tr")!;
    expect(within(row).getByRole("link", { name: "GOOG swing" })).toHaveAttribute(
      "href",
      "/strategies/3",
    );
  });

  it("shows the inactive list loading, then its error", async () => {
    let failInactive: (() => void) | undefined;
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          const page = (results: unknown[]) =>
            jsonResponse({ count: results.length, next: null, previous: null, results });
          if (url.pathname === "/api/v1/strategies/") {
            if (url.searchParams.get("is_active") === "true")
              return page([makeStrategy({ id: 7, name: "SPY daily" })]);
            // The inactive list answers only when the test says so.
            return new Promise<Response>((resolve) => {
              failInactive = () => resolve(jsonResponse({ detail: "Server trouble." }, 500));
            });
          }
          if (["/api/v1/runs/", "/api/v1/signals/", "/api/v1/fills/", "/api/v1/positions/"].includes(url.pathname))
            return page([]);
          return undefined;
        }),
      ),
    );
    renderWithProviders(<DashboardPage />);
    const section = screen.getByRole("heading", { name: "Active strategies" }).closest("section")!;
    await within(section).findByRole("link", { name: "SPY daily" });
    expect(within(section).getByRole("status")).toHaveTextContent("Loading inactive strategies…");

    await waitFor(() => expect(failInactive).toBeDefined());
    failInactive!();
    const alert = await within(section).findByRole("alert");
    expect(alert).toHaveTextContent("Could not load inactive strategies");
    expect(alert).toHaveTextContent("Server trouble.");
    expect(within(section).queryByRole("status")).toBeNull();
  });

  it("caps each list at a few rows, with a link to the full page", async () => {
    const asked: URL[] = [];
    const many = <T,>(make: (i: number) => T) => Array.from({ length: 50 }, (_, i) => make(i + 1));
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          asked.push(url);
          const page = (results: unknown[], next: string | null = null) =>
            jsonResponse({ count: results.length, next, previous: null, results });
          if (url.pathname === "/api/v1/strategies/") return page([]);
          if (url.pathname === "/api/v1/fills/") return page([]);
          // The server answers more than asked for: the dashboard still shows at most the cap.
          if (url.pathname === "/api/v1/signals/")
            return page(many((i) => makeSignal({ id: i, symbol: `S${i}` })));
          if (url.pathname === "/api/v1/runs/")
            return page(
              many((i) => makeRunListItem({ id: i })),
              "http://testserver/api/v1/runs/?cursor=abc",
            );
          if (url.pathname === "/api/v1/positions/")
            return page(
              many((i) =>
                makePosition({ id: i, symbol: `P${i}`, symbol_id: i, strategy: `Strategy ${i}` }),
              ),
            );
          return undefined;
        }),
      ),
    );
    renderWithProviders(<DashboardPage />);
    const section = (name: string) => screen.getByRole("heading", { name }).closest("section")!;
    const bodyRows = (el: HTMLElement) =>
      within(el)
        .getAllByRole("row")
        .filter((r) => r.closest("tbody"));

    const signals = section("Today's signals");
    const signalsLink = await within(signals).findByRole("link", { name: /Show all 50 signals today/ });
    expect(signalsLink).toHaveAttribute("href", "/signals?today=1");
    expect(bodyRows(signals).length).toBeLessThanOrEqual(10);
    expect(asked.find((u) => u.pathname === "/api/v1/signals/")!.searchParams.get("page_size")).toBe("10");

    const runs = section("Recent runs");
    expect(await within(runs).findByRole("link", { name: /Show all runs/ })).toHaveAttribute("href", "/runs");
    expect(bodyRows(runs).length).toBeLessThanOrEqual(10);

    const positions = section("Positions");
    expect(
      await within(positions).findByRole("link", { name: /Show all 50 positions/ }),
    ).toHaveAttribute("href", "/portfolio");
    // Five symbols: each a strategy row and its account net.
    expect(bodyRows(positions)).toHaveLength(10);
    expect(within(positions).getAllByRole("row", { name: /account net$/ })).toHaveLength(5);
    expect(within(positions).queryByRole("row", { name: /^Total/ })).toBeNull();
  });
});
