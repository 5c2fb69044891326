import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Figure } from "../components/lineage/ChartView/PlotlyFigure";
import {
  makeCurrencyPerformance,
  makePromptTemplate,
  makeStrategy,
  makeSymbol,
} from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { StrategyPage } from "./StrategyPage";

// Plotly itself does not run in jsdom: the figure it would draw is shown as JSON instead.
vi.mock("../components/lineage/ChartView/PlotlyFigure", () => ({
  default: ({ figure }: { figure: Figure }) => (
    <pre data-testid="plotly-figure">{JSON.stringify(figure)}</pre>
  ),
}));

/** The performance of a strategy without positions. */
const noPerformance = () => jsonResponse({ strategy: 7, currencies: [] });
/** No LLM budget applies. */
const noBudgets = () => jsonResponse([]);
/** No open position. */
const noPositions = () => jsonResponse({ next: null, previous: null, results: [] });

describe("StrategyPage", () => {
  it("deactivates and activates the strategy, and links Edit to the form", async () => {
    document.cookie = "csrftoken=tokact";
    let active = true;
    const posts: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          if (url.pathname === "/api/v1/strategies/7/")
            return jsonResponse(makeStrategy({ id: 7, is_active: active }));
          if (url.pathname === "/api/v1/strategies/7/deactivate/" && req.method === "POST") {
            posts.push(req);
            active = false;
            return jsonResponse(makeStrategy({ id: 7, is_active: false, next_run_at: null }));
          }
          if (url.pathname === "/api/v1/strategies/7/activate/" && req.method === "POST") {
            posts.push(req);
            active = true;
            return jsonResponse(makeStrategy({ id: 7, is_active: true }));
          }
          if (url.pathname === "/api/v1/strategy-positions/") return noPositions();
          if (url.pathname === "/api/v1/runs/")
            return jsonResponse({ next: null, previous: null, results: [] });
          if (url.pathname === "/api/v1/strategies/7/performance/") return noPerformance();
          if (url.pathname === "/api/v1/strategies/7/llm-budget/") return noBudgets();
          if (url.pathname === "/api/v1/symbols/1/") return jsonResponse(makeSymbol({ id: 1 }));
          if (url.pathname === "/api/v1/prompt-templates/11/")
            return jsonResponse(makePromptTemplate({ id: 11, name: "swing", version: 2 }));
          return undefined;
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(<StrategyPage />, { route: "/strategies/7", path: "/strategies/:id" });

    const heading = await screen.findByRole("heading", { name: /SPY daily/ });
    expect(within(heading).getByText("active")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Edit" })).toHaveAttribute("href", "/strategies/7/edit");
    expect(screen.getByRole("button", { name: "Run now" })).toBeInTheDocument();
    // Names, not ids, in the settings.
    expect(await screen.findByRole("link", { name: "swing v2" })).toHaveAttribute(
      "href",
      "/prompts/swing",
    );

    await user.click(screen.getByRole("button", { name: "Deactivate" }));
    expect(await screen.findByRole("button", { name: "Activate" })).toBeInTheDocument();
    expect(
      within(screen.getByRole("heading", { name: /SPY daily/ })).getByText("inactive"),
    ).toBeInTheDocument();
    expect(screen.getByText(/not scheduled while inactive/)).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Activate" }));
    expect(await screen.findByRole("button", { name: "Deactivate" })).toBeInTheDocument();

    await waitFor(() => expect(posts).toHaveLength(2));
    expect(posts.map((r) => new URL(r.url).pathname)).toEqual([
      "/api/v1/strategies/7/deactivate/",
      "/api/v1/strategies/7/activate/",
    ]);
    expect(posts[0]!.headers.get("X-CSRFToken")).toBe("tokact");
  });

  it("shows the API's error when activating fails", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          if (url.pathname === "/api/v1/strategies/7/")
            return jsonResponse(makeStrategy({ id: 7, is_active: false }));
          if (url.pathname === "/api/v1/strategies/7/activate/" && req.method === "POST")
            return jsonResponse({ detail: "You do not have permission to perform this action." }, 403);
          if (url.pathname === "/api/v1/strategy-positions/") return noPositions();
          if (url.pathname === "/api/v1/runs/")
            return jsonResponse({ next: null, previous: null, results: [] });
          if (url.pathname === "/api/v1/strategies/7/performance/") return noPerformance();
          if (url.pathname === "/api/v1/strategies/7/llm-budget/") return noBudgets();
          return undefined;
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(<StrategyPage />, { route: "/strategies/7", path: "/strategies/:id" });
    await user.click(await screen.findByRole("button", { name: "Activate" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not activate");
    expect(alert).toHaveTextContent("You do not have permission");
    // A 403 means signed in but not allowed: signing in again would not help.
    expect(within(alert).queryByRole("link", { name: "Sign in" })).toBeNull();
  });

  it("offers Sign in when the API answers 401 (not signed in)", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch(() =>
          jsonResponse({ detail: "Authentication credentials were not provided." }, 401),
        ),
      ),
    );
    renderWithProviders(<StrategyPage />, { route: "/strategies/7", path: "/strategies/:id" });
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load the strategy");
    expect(within(alert).getByRole("link", { name: "Sign in" })).toHaveAttribute(
      "href",
      "/login?next=%2Fstrategies%2F7",
    );
  });

  describe("Run now and Activate", () => {
    /** A strategy 7 in `trading_mode`; records the POSTs to run/ and activate/. */
    function stubStrategy(overrides: NonNullable<Parameters<typeof makeStrategy>[0]>) {
      const posts: string[] = [];
      let active = overrides.is_active ?? true;
      vi.stubGlobal(
        "fetch",
        vi.fn(
          mockFetch((url, req) => {
            if (url.pathname === "/api/v1/strategies/7/")
              return jsonResponse(makeStrategy({ id: 7, ...overrides, is_active: active }));
            if (req.method === "POST") {
              posts.push(url.pathname);
              if (url.pathname === "/api/v1/strategies/7/run/")
                return jsonResponse({ run_id: 55, status: "pending" }, 202);
              if (url.pathname === "/api/v1/strategies/7/activate/") {
                active = true;
                return jsonResponse(makeStrategy({ id: 7, ...overrides, is_active: true }));
              }
            }
            if (url.pathname === "/api/v1/strategy-positions/") return noPositions();
            if (url.pathname === "/api/v1/runs/")
              return jsonResponse({ next: null, previous: null, results: [] });
            if (url.pathname === "/api/v1/strategies/7/performance/") return noPerformance();
            if (url.pathname === "/api/v1/strategies/7/llm-budget/") return noBudgets();
            return undefined;
          }),
        ),
      );
      return posts;
    }

    it("paper: one click runs", async () => {
      const posts = stubStrategy({ trading_mode: "paper" });
      const user = userEvent.setup();
      renderWithProviders(<StrategyPage />, { route: "/strategies/7", path: "/strategies/:id" });
      await user.click(await screen.findByRole("button", { name: "Run now" }));
      expect(await screen.findByRole("status")).toHaveTextContent("Run #55 enqueued (pending).");
      expect(posts).toEqual(["/api/v1/strategies/7/run/"]);
      expect(screen.queryByRole("alertdialog")).toBeNull();
    });

    it("live: Run now asks first, and POSTs nothing until Confirm", async () => {
      const posts = stubStrategy({ trading_mode: "live" });
      const user = userEvent.setup();
      renderWithProviders(<StrategyPage />, { route: "/strategies/7", path: "/strategies/:id" });
      await screen.findByRole("heading", { name: /SPY daily/ });
      expect(screen.queryByRole("button", { name: "Run now" })).toBeNull();

      await user.click(screen.getByRole("button", { name: "Run now…" }));
      const confirm = screen.getByRole("alertdialog", { name: "Confirm live trading" });
      expect(confirm).toHaveTextContent(
        "This sends real orders to the live broker. Run now with real money?",
      );
      expect(within(confirm).getByRole("button", { name: "Cancel" })).toHaveFocus();
      expect(posts).toEqual([]);

      // Cancel: nothing sent, the question goes away.
      await user.click(within(confirm).getByRole("button", { name: "Cancel" }));
      expect(screen.queryByRole("alertdialog")).toBeNull();
      expect(posts).toEqual([]);

      // Ask again, and confirm.
      await user.click(screen.getByRole("button", { name: "Run now…" }));
      await user.click(
        within(screen.getByRole("alertdialog")).getByRole("button", { name: "Confirm" }),
      );
      expect(await screen.findByRole("status")).toHaveTextContent("Run #55 enqueued (pending).");
      expect(posts).toEqual(["/api/v1/strategies/7/run/"]);
      expect(screen.queryByRole("alertdialog")).toBeNull();
    });

    it("live: Activate asks first, and POSTs nothing until Confirm", async () => {
      const posts = stubStrategy({ trading_mode: "live", is_active: false });
      const user = userEvent.setup();
      renderWithProviders(<StrategyPage />, { route: "/strategies/7", path: "/strategies/:id" });
      await user.click(await screen.findByRole("button", { name: "Activate…" }));
      const confirm = screen.getByRole("alertdialog", { name: "Confirm live trading" });
      expect(confirm).toHaveTextContent(/real orders to the live broker. Activate with real money\?/);
      expect(posts).toEqual([]);

      await user.click(within(confirm).getByRole("button", { name: "Confirm" }));
      expect(await screen.findByRole("button", { name: "Deactivate" })).toBeInTheDocument();
      expect(posts).toEqual(["/api/v1/strategies/7/activate/"]);
      expect(screen.queryByRole("alertdialog")).toBeNull();
    });
  });

  describe("Performance", () => {
    function stubPerformance(body: unknown) {
      vi.stubGlobal(
        "fetch",
        vi.fn(
          mockFetch((url) => {
            if (url.pathname === "/api/v1/strategies/7/")
              return jsonResponse(makeStrategy({ id: 7 }));
            if (url.pathname === "/api/v1/strategy-positions/") return noPositions();
            if (url.pathname === "/api/v1/runs/")
              return jsonResponse({ next: null, previous: null, results: [] });
            if (url.pathname === "/api/v1/strategies/7/performance/") return jsonResponse(body);
            if (url.pathname === "/api/v1/strategies/7/llm-budget/") return noBudgets();
            return undefined;
          }),
        ),
      );
    }

    it("shows the figures per currency and the equity curve from the performance API", async () => {
      stubPerformance({
        strategy: 7,
        currencies: [
          makeCurrencyPerformance(),
          makeCurrencyPerformance({ currency: "CAD", realized_pnl: "12.0000" }),
        ],
      });
      renderWithProviders(<StrategyPage />, { route: "/strategies/7", path: "/strategies/:id" });
      const table = await screen.findByRole("table", { name: "Strategy performance by currency" });
      const usd = within(table).getByTestId("performance-USD");
      expect(usd.querySelector('td[data-label="Realized"]')).toHaveTextContent("1,250.50");
      expect(usd.querySelector('td[data-label="Win rate"]')).toHaveTextContent("75%");
      const cad = within(table).getByTestId("performance-CAD");
      expect(cad.querySelector('td[data-label="Realized"]')).toHaveTextContent("12.00");
      const figure = JSON.parse((await screen.findByTestId("plotly-figure")).textContent!) as Figure;
      expect((figure.data as { name: string }[]).map((t) => t.name)).toEqual([
        "Equity USD",
        "Drawdown USD",
        "Equity CAD",
        "Drawdown CAD",
      ]);
    });

    it("shows the empty state before the strategy has positions", async () => {
      stubPerformance({ strategy: 7, currencies: [] });
      renderWithProviders(<StrategyPage />, { route: "/strategies/7", path: "/strategies/:id" });
      expect(
        await screen.findByText(
          "No positions yet: the figures appear once the strategy has opened a position.",
        ),
      ).toBeInTheDocument();
      expect(screen.queryByTestId("plotly-figure")).toBeNull();
    });
  });

  it("shows the automatic triggers, the latest automatic deactivation and the LLM budgets", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          if (url.pathname === "/api/v1/strategies/7/")
            return jsonResponse(
              makeStrategy({
                id: 7,
                is_active: false,
                next_run_at: null,
                daily_loss_limit: "2000.00",
                max_drawdown_pct: "15.000",
                max_failed_runs: null,
                auto_deactivated_at: "2026-12-07T12:00:00Z",
                auto_deactivation_reason:
                  "automatic trigger: daily loss limit 2,000.00 USD reached: P&L since " +
                  "2026-12-07 00:00 UTC is -2,309.50 USD",
              }),
            );
          if (url.pathname === "/api/v1/strategies/7/llm-budget/")
            return jsonResponse([
              {
                scope: "strategy",
                period: "day",
                limit_usd: "2.50",
                spent_usd: "0.400000",
                remaining_usd: "2.100000",
                since: "2026-12-07T00:00:00Z",
              },
              {
                scope: "user",
                period: "month",
                limit_usd: null,
                spent_usd: "3.000000",
                remaining_usd: null,
                since: "2026-12-01T00:00:00Z",
              },
            ]);
          if (url.pathname === "/api/v1/strategy-positions/") return noPositions();
          if (url.pathname === "/api/v1/runs/")
            return jsonResponse({ next: null, previous: null, results: [] });
          if (url.pathname === "/api/v1/strategies/7/performance/") return noPerformance();
          return undefined;
        }),
      ),
    );
    renderWithProviders(<StrategyPage />, { route: "/strategies/7", path: "/strategies/:id" });

    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent(/Deactivated automatically/);
    expect(alert).toHaveTextContent(/daily loss limit 2,000.00 USD reached/);
    const triggers = screen.getByLabelText("Automatic triggers");
    expect(within(triggers).getByText("2,000.00 (symbol's currency)")).toBeInTheDocument();
    expect(within(triggers).getByText("15 %")).toBeInTheDocument();
    expect(within(triggers).getByText("off")).toBeInTheDocument();

    const budgets = await screen.findByRole("table", { name: "LLM budgets" });
    const [, ownDay, ownerMonth] = within(budgets).getAllByRole("row");
    expect(ownDay).toHaveTextContent(/this strategy.*UTC day.*\$2\.50.*\$0\.40.*\$2\.10/);
    expect(ownerMonth).toHaveTextContent(/owner.*UTC month.*no limit.*\$3\.00.*—/);
  });
});
