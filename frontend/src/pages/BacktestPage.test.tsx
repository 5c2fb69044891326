import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Figure } from "../components/lineage/ChartView/PlotlyFigure";
import {
  makeBacktest,
  makeBacktestVariant,
  makeReport,
  makeReportRow,
  makeSeries,
  makeTrade,
} from "../test/backtestFixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { BacktestPage } from "./BacktestPage";

// Plotly itself does not run in jsdom: the figure it would draw is shown as JSON instead.
vi.mock("../components/lineage/ChartView/PlotlyFigure", () => ({
  default: ({ figure }: { figure: Figure }) => (
    <pre data-testid="plotly-figure">{JSON.stringify(figure)}</pre>
  ),
}));

const cell = (row: HTMLElement, label: string) =>
  row.querySelector(`td[data-label="${label}"]`)!.textContent;

describe("BacktestPage", () => {
  it("polls the progress while running, then shows the report, charts and trades", async () => {
    let reads = 0;
    const seen: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          seen.push(req);
          if (url.pathname === "/api/v1/backtests/7/") {
            reads += 1;
            // running on the first read, done on the next (the page polls)
            return reads === 1
              ? jsonResponse(makeBacktest())
              : jsonResponse(
                  makeBacktest({
                    status: "done",
                    can_cancel: false,
                    finished_at: "2026-12-07T10:05:00Z",
                    variants: [makeBacktestVariant({ status: "done", slots_done: 10 })],
                  }),
                );
          }
          if (url.pathname === "/api/v1/backtests/7/report/")
            return jsonResponse(
              makeReport({
                // the baseline analyst ran beside the variant as a reference row
                baseline_analyst: makeReportRow({
                  variant: 2,
                  label: "baseline analyst",
                  trades: 2,
                  reference: true,
                }),
              }),
            );
          if (url.pathname === "/api/v1/backtests/7/series/") return jsonResponse(makeSeries());
          if (url.pathname === "/api/v1/backtests/7/variants/1/trades/")
            return jsonResponse({
              backtest: 7,
              variant: 1,
              label: "base",
              currency: "USD",
              trades: [
                makeTrade(),
                makeTrade({
                  position_id: 22,
                  status: "open",
                  closed_at: null,
                  exit_price: null,
                  closing_run_id: null,
                  exit_reason: "",
                  outcome: "",
                  realized_pnl: "0.0000",
                  r_multiple: null,
                  opening_run_id: 106,
                }),
              ],
            });
          return undefined;
        }),
      ),
    );
    renderWithProviders(<BacktestPage />, { route: "/backtests/7", path: "/backtests/:id" });

    const bar = await screen.findByRole(
      "progressbar",
      { name: "base: 3 of 10 slots" },
      { timeout: 5000 },
    );
    expect(bar).toHaveAttribute("value", "3");
    expect(screen.getByRole("button", { name: "Cancel" })).toBeEnabled();
    expect(screen.getByText("Figures so far: the backtest is still running.")).toBeInTheDocument();
    // the next poll finds it done
    expect(
      await screen.findByRole("progressbar", { name: "base: 10 of 10 slots" }, { timeout: 5000 }),
    ).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Cancel" })).not.toBeInTheDocument();

    const report = screen.getByRole("table", { name: "Backtest report" });
    const variant = within(report).getByTestId("report-variant-1");
    expect(cell(variant, "Variant")).toBe("1. base");
    expect(cell(variant, "Win rate")).toBe("75%");
    expect(cell(variant, "Max drawdown")).toBe("300.00 (0%)");
    expect(cell(variant, "Sharpe")).toBe("1.23");
    expect(cell(variant, "LLM cost")).toBe("$0.0412");
    expect(cell(within(report).getByTestId("report-reference-0"), "Variant")).toBe(
      "baseline analyst",
    );
    const hold = within(report).getByTestId("report-reference-1");
    expect(cell(hold, "Variant")).toBe("buy and hold");
    expect(cell(hold, "Final equity")).toBe("95,000.00");
    expect(cell(hold, "Sortino")).toBe("—");
    expect(cell(hold, "LLM cost")).toBe("—");

    const figure = JSON.parse((await screen.findByTestId("plotly-figure")).textContent!) as Figure;
    const traces = figure.data as { name: string; yaxis: string; y: number[]; line: { dash?: string } }[];
    expect(traces.map((t) => t.name)).toEqual([
      "1. base",
      "1. base drawdown",
      "buy and hold",
      "buy and hold drawdown",
    ]);
    expect(traces[1]!.yaxis).toBe("y2");
    expect(traces[1]!.y).toEqual([0, 500]);
    expect(traces[2]!.line.dash).toBe("dash");

    const trades = await screen.findByRole("table", { name: "Trades of variant 1: base" });
    const closed = within(trades).getByTestId("trade-21");
    expect(within(closed).getByRole("link", { name: "opened by #101" })).toHaveAttribute(
      "href",
      "/runs/101",
    );
    expect(within(closed).getByRole("link", { name: "closed by #104" })).toHaveAttribute(
      "href",
      "/runs/104",
    );
    expect(cell(closed, "Exit")).toContain("take profit");
    const open = within(trades).getByTestId("trade-22");
    expect(within(open).queryByRole("link", { name: /closed by/ })).not.toBeInTheDocument();
    expect(cell(open, "R")).toBe("—");

    expect(screen.getByRole("link", { name: "Export CSV" })).toHaveAttribute(
      "href",
      "/api/v1/backtests/7/report-csv/",
    );
    // ?format=json: a browser's Accept would otherwise get DRF's HTML page
    expect(screen.getByRole("link", { name: "Export JSON" })).toHaveAttribute(
      "href",
      "/api/v1/backtests/7/report/?format=json",
    );
    expect(seen.every((r) => r.method === "GET")).toBe(true);
  });

  it("cancels a running backtest and resumes a cancelled one, confirming above the limit", async () => {
    document.cookie = "csrftoken=tok123";
    let state = makeBacktest();
    const posts: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch(async (url, req) => {
          if (req.method === "POST") posts.push(req);
          if (url.pathname === "/api/v1/backtests/7/") return jsonResponse(state);
          if (url.pathname === "/api/v1/backtests/7/cancel/" && req.method === "POST") {
            state = makeBacktest({ status: "cancelled", can_cancel: false, can_resume: true });
            return jsonResponse(state);
          }
          if (url.pathname === "/api/v1/backtests/7/resume/" && req.method === "POST") {
            const body = (await req.json()) as { confirm: boolean };
            if (!body.confirm)
              return jsonResponse(
                {
                  detail: "The estimated LLM cost 3.000000 USD is above max_cost 1 USD",
                  code: "BacktestCostAboveLimit",
                  estimate_usd: "3.000000",
                  max_cost_usd: "1",
                },
                400,
              );
            state = makeBacktest();
            return jsonResponse(state);
          }
          if (url.pathname === "/api/v1/backtests/7/report/") return jsonResponse(makeReport());
          if (url.pathname === "/api/v1/backtests/7/series/") return jsonResponse(makeSeries());
          if (url.pathname === "/api/v1/backtests/7/variants/1/trades/")
            return jsonResponse({ backtest: 7, variant: 1, label: "base", currency: "USD", trades: [] });
          return jsonResponse({ detail: "Not found." }, 404);
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(<BacktestPage />, { route: "/backtests/7", path: "/backtests/:id" });

    await user.click(await screen.findByRole("button", { name: "Cancel" }, { timeout: 5000 }));
    const resume = await screen.findByRole("button", { name: "Resume" });
    expect(posts[0]!.url).toMatch(/\/api\/v1\/backtests\/7\/cancel\/$/);
    expect(posts[0]!.headers.get("X-CSRFToken")).toBe("tok123");

    await user.click(resume);
    await user.click(await screen.findByRole("button", { name: "Resume anyway ($3.00)" }));
    await waitFor(() => expect(screen.getByRole("button", { name: "Cancel" })).toBeInTheDocument());
    expect(posts.map((r) => new URL(r.url).pathname)).toEqual([
      "/api/v1/backtests/7/cancel/",
      "/api/v1/backtests/7/resume/",
      "/api/v1/backtests/7/resume/",
    ]);
    expect(await screen.findByText("No trades.")).toBeInTheDocument();
  });
});
