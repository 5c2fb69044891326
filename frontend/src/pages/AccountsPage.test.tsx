import { screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { Account, AccountDetail, AccountPortfolio, AccountPositions } from "../api/accounts";
import type { Figure } from "../components/lineage/ChartView/PlotlyFigure";
import {
  makeAccountTradingState,
  makeCurrencyPerformance,
  makePositionAction,
} from "../test/fixtures";
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
  trading_state: "active",
  daily_loss_limit: null,
  max_drawdown_pct: null,
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

const currencyBook = (
  currency: string,
  over: Partial<AccountPortfolio["currencies"][number]> = {},
): AccountPortfolio["currencies"][number] => ({
  currency,
  starting_cash: null,
  open_positions: 0,
  realized_pnl: "0.0000",
  unrealized_pnl: "0.0000",
  unpriced_positions: 0,
  commission: "0.0000",
  closed_positions: 0,
  win_rate: null,
  ...over,
});
const strategyBook = (currency: string, id: number): AccountPortfolio["strategies"][number] => ({
  strategy_id: id,
  strategy: `s-${id}`,
  strategy_name: `Strategy ${id}`,
  currency,
  open_positions: 0,
  open_quantity: "0.0000",
  realized_pnl: "0.0000",
  unrealized_pnl: "0.0000",
  unpriced_positions: 0,
  commission: "0.0000",
  closed_positions: 0,
  win_rate: null,
  average_r: null,
});
const liveDetail: AccountDetail = {
  ...live,
  daily_loss_limit: "5000.00",
  members: [{ id: 9, username: "bob" }],
};

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
      "active Change",
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
    expect(cells(row2).slice(3, 9)).toEqual([
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
  /** Account 2 with these positions and this portfolio (its performance is empty). */
  function stubAccount(positions: AccountPositions, portfolio: AccountPortfolio) {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          if (url.pathname === "/api/v1/accounts/2/") return jsonResponse(liveDetail);
          if (url.pathname === "/api/v1/accounts/2/trading-state/")
            return jsonResponse(makeAccountTradingState());
          if (url.pathname === "/api/v1/accounts/2/positions/") return jsonResponse(positions);
          if (url.pathname === "/api/v1/accounts/2/portfolio/") return jsonResponse(portfolio);
          if (url.pathname === "/api/v1/accounts/2/performance/")
            return jsonResponse({ account: 2, currencies: [] });
          if (url.pathname === "/api/v1/position-actions/" && url.searchParams.get("account") === "2")
            return jsonResponse({ next: null, previous: null, results: [closeAll] });
          return undefined;
        }),
      ),
    );
  }
  /** Bob's close-all of the account, one close failed. */
  const closeAll = {
    ...makePositionAction({
      id: 30,
      account_id: 2,
      strategy_id: null,
      strategy: null,
      symbol_id: null,
      symbol: null,
      strategy_position_id: null,
      requested_by: "bob",
      note: "risk off",
      status: "failed",
      error_message: "close position 6: broker unreachable",
    }),
    orders: undefined,
  };
  const noPositions: AccountPositions = { account_id: 2, account_positions: [], symbols: [] };
  const emptyPortfolio: AccountPortfolio = { account_id: 2, currencies: [], strategies: [] };

  it("shows the account's settings and members from /accounts/{id}/", async () => {
    stubAccount(noPositions, emptyPortfolio);
    renderWithProviders(<AccountPage />, { route: "/accounts/2", path: "/accounts/:id" });
    expect(await screen.findByRole("heading", { name: "IBKR main" })).toBeInTheDocument();
    expect(screen.getByTestId("account-row-2")).toBeInTheDocument();
    expect(screen.getByText(/Members: bob/)).toBeInTheDocument();
    expect(await screen.findByText("No positions on this account.")).toBeInTheDocument();
    // Who closed what, and why, with how it ended.
    const action = await screen.findByTestId("position-action-30");
    expect(action).toHaveTextContent("person");
    expect(action).toHaveTextContent("whole account");
    expect(action).toHaveTextContent("bob");
    expect(action).toHaveTextContent("risk off");
    expect(action).toHaveTextContent("failed");
    expect(action).toHaveTextContent("broker unreachable");
    expect(screen.getByRole("button", { name: "Close all positions" })).toBeInTheDocument();
    // The automatic triggers: the daily loss limit in the base currency, no drawdown limit.
    const triggers = screen.getByLabelText("Automatic triggers");
    expect(within(triggers).getByText("5,000.00 USD")).toBeInTheDocument();
    expect(within(triggers).getByText("off")).toBeInTheDocument();
  });

  it("flags a symbol whose broker position differs from the strategies' sum, with since when", async () => {
    const strategyPosition = (id: number, strategyId: number, quantity: string) => ({
      id,
      account_id: 2,
      account: "IBKR main",
      strategy_id: strategyId,
      strategy: `s-${strategyId}`,
      side: "LONG" as const,
      symbol: "AAPL",
      symbol_id: 11,
      currency: "USD",
      quantity,
      average_cost: "180.0000",
      realized_pnl: "0.0000",
      last_price: "185.0000",
      last_price_at: "2026-03-02T20:00:00Z",
      unrealized_pnl: "50.0000",
      working_orders: [],
      updated_at: "2026-03-02T20:00:00Z",
    });
    const accountPosition = (id: number, symbol: string, symbolId: number, broker: string, strategies: string) => ({
      id,
      symbol_id: symbolId,
      symbol,
      currency: "USD",
      side: "NET" as const,
      broker_quantity: broker,
      broker_average_cost: "180.0000",
      strategy_quantity: strategies,
      unattributed_quantity: String(Number(broker) - Number(strategies)),
      reported_at: "2026-03-02T20:00:00Z",
      flagged_at: broker === strategies ? null : "2026-03-01T14:30:00Z",
      updated_at: "2026-03-02T20:00:00Z",
    });
    stubAccount(
      {
        account_id: 2,
        account_positions: [
          accountPosition(1, "AAPL", 11, "15.0000", "10.0000"),
          accountPosition(2, "MSFT", 12, "4.0000", "4.0000"),
        ],
        symbols: [
          {
            symbol_id: 11,
            symbol: "AAPL",
            currency: "USD",
            net_quantity: "10.0000",
            positions: [strategyPosition(31, 5, "6.0000"), strategyPosition(32, 6, "4.0000")],
          },
        ],
      },
      {
        account_id: 2,
        currencies: [],
        strategies: [
          { ...strategyBook("USD", 5), strategy_name: "Momentum" },
          { ...strategyBook("USD", 6), strategy_name: "Mean reversion" },
        ],
      },
    );
    renderWithProviders(<AccountPage />, { route: "/accounts/2", path: "/accounts/:id" });
    const aapl = await screen.findByTestId("account-position-AAPL");
    expect(aapl.querySelector('td[data-label="Broker"]')).toHaveTextContent("15");
    expect(aapl.querySelector('td[data-label="Strategies"]')).toHaveTextContent("10");
    const flag = within(aapl).getByRole("status");
    expect(flag).toHaveTextContent(/Unattributed 5 since/);
    expect(flag).toHaveTextContent("2026");
    // The strategies' open positions follow their symbol's line, named from the portfolio.
    expect(aapl.nextElementSibling).toHaveAttribute("data-testid", "strategy-position-31");
    expect(await screen.findByRole("link", { name: "Momentum" })).toBeInTheDocument();
    const msft = screen.getByTestId("account-position-MSFT");
    expect(within(msft).queryByRole("status")).toBeNull();
    expect(msft).toHaveTextContent("matches");
    expect(within(msft.nextElementSibling as HTMLElement).getByText("No strategy holds it.")).toBeInTheDocument();
  });

  it("keeps the portfolio's currencies apart, each with its strategies", async () => {
    stubAccount(noPositions, {
      account_id: 2,
      currencies: [
        currencyBook("EUR", { starting_cash: "5000.0000", realized_pnl: "-10.0000" }),
        currencyBook("USD", { starting_cash: "100000.0000", realized_pnl: "250.0000" }),
      ],
      strategies: [
        { ...strategyBook("EUR", 5), strategy_name: "Momentum", realized_pnl: "-10.0000" },
        { ...strategyBook("USD", 5), strategy_name: "Momentum", realized_pnl: "100.0000" },
        { ...strategyBook("USD", 6), strategy_name: "Mean reversion", realized_pnl: "150.0000", average_r: "1.5000", win_rate: "0.5000" },
      ],
    });
    renderWithProviders(<AccountPage />, { route: "/accounts/2", path: "/accounts/:id" });
    const table = await screen.findByRole("table", { name: "Portfolio by currency" });
    const eur = within(table).getByTestId("portfolio-EUR");
    const usd = within(table).getByTestId("portfolio-USD");
    expect(eur.querySelector('td[data-label="Starting cash"]')).toHaveTextContent("5,000.00 EUR");
    expect(eur.querySelector('td[data-label="Realized"]')).toHaveTextContent("-10.00");
    expect(within(eur).getAllByRole("row")).toHaveLength(2);
    expect(usd.querySelector('td[data-label="Realized"]')).toHaveTextContent("250.00");
    expect(within(usd).getAllByRole("row")).toHaveLength(3);
    const mr = within(usd).getByTestId("portfolio-USD-strategy-6");
    expect(mr.querySelector('td[data-label="Avg R"]')).toHaveTextContent("1.50");
    expect(mr.querySelector('td[data-label="Win rate"]')).toHaveTextContent("50%");
    // No total across currencies anywhere, and no raw JSON.
    expect(table).not.toHaveTextContent("240");
    expect(screen.queryByText(/"account_id"/)).toBeNull();
  });

  /** Account 2; its performance answers `body`. */
  function stubPerformance(body: unknown) {
    const seen: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          seen.push(url.pathname);
          if (url.pathname === "/api/v1/accounts/2/") return jsonResponse(liveDetail);
          if (url.pathname === "/api/v1/accounts/2/trading-state/")
            return jsonResponse(makeAccountTradingState());
          if (url.pathname === "/api/v1/accounts/2/portfolio/")
            return jsonResponse({ account_id: 2, currencies: [], strategies: [] });
          if (url.pathname === "/api/v1/accounts/2/positions/")
            return jsonResponse({ account_id: 2, account_positions: [], symbols: [] });
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
          if (url.pathname === "/api/v1/accounts/2/") return jsonResponse(liveDetail);
          if (url.pathname === "/api/v1/accounts/2/trading-state/")
            return jsonResponse(makeAccountTradingState());
          if (url.pathname === "/api/v1/accounts/2/portfolio/")
            return jsonResponse({ account_id: 2, currencies: [], strategies: [] });
          if (url.pathname === "/api/v1/accounts/2/positions/")
            return jsonResponse({ account_id: 2, account_positions: [], symbols: [] });
          if (url.pathname === "/api/v1/position-actions/")
            return jsonResponse({ next: null, previous: null, results: [] });
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
