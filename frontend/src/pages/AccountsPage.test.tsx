import { screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { Account } from "../api/accounts";
import type { Figure } from "../components/lineage/ChartView/PlotlyFigure";
import { makeCurrencyPerformance } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { AccountPage } from "./AccountPage";
import { AccountsPage } from "./AccountsPage";

// Plotly itself does not run in jsdom: the figure it would draw is shown as JSON instead.
vi.mock("../components/lineage/ChartView/PlotlyFigure", () => ({
  default: ({ figure }: { figure: Figure }) => (
    <pre data-testid="plotly-figure">{JSON.stringify(figure)}</pre>
  ),
}));

const paper: Account = {
  id: 1,
  name: "Paper (alice)",
  broker: "paper",
  broker_account_id: "",
  kind: "paper",
  base_currency: "USD",
  position_mode: "netting",
  opposite_policy: "reject",
  same_direction_policy: "accumulate",
  max_position_per_symbol: null,
  owner_id: 7,
  is_default: true,
  created_at: "2026-01-05T09:00:00Z",
  updated_at: "2026-01-05T09:00:00Z",
  cash: [
    { currency: "USD", starting_cash: "100000.00" },
    { currency: "EUR", starting_cash: "5000.00" },
  ],
};
const live: Account = {
  ...paper,
  id: 2,
  name: "IBKR main",
  broker: "ibkr",
  broker_account_id: "U1234567",
  kind: "live",
  position_mode: "hedge",
  same_direction_policy: "strongest_wins",
  max_position_per_symbol: "500.0000",
  owner_id: null,
  is_default: false,
  cash: [],
};

/** The accounts list as the API pages it. */
const page = <T,>(results: T[]) => ({ count: results.length, next: null, previous: null, results });

const cells = (row: HTMLElement) => within(row).getAllByRole("cell").map((c) => c.textContent);

describe("AccountsPage", () => {
  it("lists accounts with kind, position mode, policies, limit and cash per currency", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) =>
          url.pathname === "/api/v1/accounts/"
            ? jsonResponse({ count: 2, next: null, previous: null, results: [paper, live] })
            : undefined,
        ),
      ),
    );
    renderWithProviders(<AccountsPage />);
    const row1 = await screen.findByTestId("account-row-1");
    expect(cells(row1)).toEqual([
      "Paper (alice)",
      "paper",
      "paper",
      "USD",
      "netting",
      "rejected",
      "accumulate",
      "no limit",
      "100,000.00 USD5,000.00 EUR",
    ]);
    const row2 = screen.getByTestId("account-row-2");
    expect(within(row2).getByText("live")).toHaveClass("mode-live");
    expect(cells(row2).slice(2, 8)).toEqual([
      "ibkr U1234567",
      "USD",
      "hedge",
      "allowed (hedge: sides held apart)",
      "strongest wins",
      "500",
    ]);
  });

  it("says so when the accounts endpoint fails", async () => {
    vi.stubGlobal("fetch", vi.fn(mockFetch(() => undefined)));
    renderWithProviders(<AccountsPage />);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load accounts");
    expect(alert).toHaveTextContent("Not found.");
  });
});

describe("AccountPage", () => {
  it("shows the account's settings and its portfolio from /accounts/{id}/portfolio/", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          if (url.pathname === "/api/v1/accounts/") return jsonResponse(page([paper, live]));
          if (url.pathname === "/api/v1/accounts/2/portfolio/")
            return jsonResponse({ account_id: 2, equity: "1000.00" });
          if (url.pathname === "/api/v1/accounts/2/performance/")
            return jsonResponse({ account: 2, currencies: [] });
          return undefined;
        }),
      ),
    );
    renderWithProviders(<AccountPage />, { route: "/accounts/2", path: "/accounts/:id" });
    expect(await screen.findByRole("heading", { name: "IBKR main" })).toBeInTheDocument();
    expect(screen.getByTestId("account-row-2")).toBeInTheDocument();
    expect(await screen.findByText(/"1000\.00"/)).toBeInTheDocument();
  });
  /** Accounts 1 and 2; account 2's performance answers `body`. */
  function stubPerformance(body: unknown) {
    const seen: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          seen.push(url.pathname);
          if (url.pathname === "/api/v1/accounts/") return jsonResponse(page([paper, live]));
          if (url.pathname === "/api/v1/accounts/2/portfolio/") return jsonResponse({});
          if (url.pathname === "/api/v1/accounts/2/performance/") return jsonResponse(body);
          return undefined;
        }),
      ),
    );
    return seen;
  }

  it("shows the performance per currency, kept apart, and the equity curve", async () => {
    const seen = stubPerformance({
      account: 2,
      currencies: [
        makeCurrencyPerformance({ currency: "EUR", realized_pnl: "-10.0000", trades: 1 }),
        makeCurrencyPerformance({ currency: "USD" }),
      ],
    });
    renderWithProviders(<AccountPage />, { route: "/accounts/2", path: "/accounts/:id" });
    const table = await screen.findByRole("table", { name: "Account performance by currency" });
    const eur = within(table).getByTestId("performance-EUR");
    expect(eur.querySelector('td[data-label="Realized"]')).toHaveTextContent("-10.00");
    expect(eur.querySelector('td[data-label="Trades"]')).toHaveTextContent("1 (+1 open)");
    const usd = within(table).getByTestId("performance-USD");
    expect(usd.querySelector('td[data-label="Realized"]')).toHaveTextContent("1,250.50");
    expect(usd.querySelector('td[data-label="Max drawdown"]')).toHaveTextContent("300.00 (3%)");
    const figure = JSON.parse((await screen.findByTestId("plotly-figure")).textContent!) as Figure;
    const traces = figure.data as { name: string; yaxis: string }[];
    expect(traces.map((t) => `${t.name} ${t.yaxis}`)).toEqual([
      "Equity EUR y",
      "Drawdown EUR y2",
      "Equity USD y3",
      "Drawdown USD y4",
    ]);
    expect(seen).toContain("/api/v1/accounts/2/performance/");
  });

  it("shows the empty state when the account has no positions", async () => {
    stubPerformance({ account: 2, currencies: [] });
    renderWithProviders(<AccountPage />, { route: "/accounts/2", path: "/accounts/:id" });
    expect(await screen.findByText("No positions on this account yet.")).toBeInTheDocument();
    expect(screen.queryByTestId("plotly-figure")).toBeNull();
  });

  it("shows the API's error when the performance cannot be loaded", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          if (url.pathname === "/api/v1/accounts/") return jsonResponse(page([paper, live]));
          if (url.pathname === "/api/v1/accounts/2/portfolio/") return jsonResponse({});
          return undefined;
        }),
      ),
    );
    renderWithProviders(<AccountPage />, { route: "/accounts/2", path: "/accounts/:id" });
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load the performance");
    expect(alert).toHaveTextContent("Not found.");
  });
});
