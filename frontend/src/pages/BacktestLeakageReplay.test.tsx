import { screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { Figure } from "../components/lineage/ChartView/PlotlyFigure";
import {
  makeBacktest,
  makeBacktestVariant,
  makeReport,
  makeReportRow,
  makeSeries,
} from "../test/backtestFixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { BacktestPage } from "./BacktestPage";
import { BacktestsPage } from "./BacktestsPage";

vi.mock("../components/lineage/ChartView/PlotlyFigure", () => ({
  default: ({ figure }: { figure: Figure }) => (
    <pre data-testid="plotly-figure">{JSON.stringify(figure)}</pre>
  ),
}));

const cell = (row: HTMLElement, label: string) =>
  row.querySelector(`td[data-label="${label}"]`)!.textContent;

const WARNING = "the model may have seen this period (knowledge cutoff 2012-03-07)";

function stubDetail(backtest: ReturnType<typeof makeBacktest>, report: ReturnType<typeof makeReport>) {
  vi.stubGlobal(
    "fetch",
    vi.fn(
      mockFetch((url) => {
        if (url.pathname === `/api/v1/backtests/${backtest.id}/`) return jsonResponse(backtest);
        if (url.pathname === `/api/v1/backtests/${backtest.id}/report/`) return jsonResponse(report);
        if (url.pathname === `/api/v1/backtests/${backtest.id}/series/`) return jsonResponse(makeSeries());
        if (url.pathname.includes("/trades/"))
          return jsonResponse({ backtest: backtest.id, variant: 1, label: "base", currency: "USD", trades: [] });
        return undefined;
      }),
    ),
  );
}

describe("backtest leakage guard and replays", () => {
  it("marks a variant the model may have seen with a banner, shows capital and anonymise", async () => {
    const done = { status: "done" as const, can_cancel: false };
    stubDetail(
      makeBacktest({ ...done, anonymise: true }),
      makeReport({
        anonymise: true,
        variants: [
          makeReportRow({
            variant: 1,
            label: "new",
            knowledge_cutoff: "2012-03-07",
            leakage_warning: WARNING,
            leakage_span: { start: "2012-03-05", end: "2012-03-07" },
          }),
          makeReportRow({ variant: 2, label: "old", knowledge_cutoff: "2011-01-01" }),
          makeReportRow({ variant: 3, label: "rules", knowledge_cutoff: null }),
        ],
      }),
    );
    renderWithProviders(<BacktestPage />, { route: "/backtests/7", path: "/backtests/:id" });

    const banner = await screen.findByTestId("leakage-banner", {}, { timeout: 5000 });
    expect(banner).toHaveTextContent("The model may have seen this period");
    expect(banner).toHaveTextContent("1. new: knowledge cutoff 2012-03-07, over 2012-03-05 → 2012-03-07");
    expect(banner).toHaveTextContent("(the runs were anonymised)");
    expect(banner).not.toHaveTextContent("2. old");

    const report = screen.getByRole("table", { name: "Backtest report" });
    expect(cell(within(report).getByTestId("report-variant-1"), "Leakage")).toBe(
      `⚠ ${WARNING} (2012-03-05 → 2012-03-07)`,
    );
    expect(cell(within(report).getByTestId("report-variant-2"), "Leakage")).toBe(
      "cutoff 2011-01-01: before the window",
    );
    expect(cell(within(report).getByTestId("report-variant-3"), "Leakage")).toBe("cutoff unknown");
    const hold = within(report).getByTestId("report-reference-0");
    expect(cell(hold, "Capital")).toBe("10,000.0016 shares at 600.00");
    expect(cell(hold, "Leakage")).toBe("—");

    expect(screen.getByText("Anonymised").nextSibling).toHaveTextContent(
      "yes: no ticker or date shown to the model",
    );
    expect(screen.getByTestId("backtest-origin")).toHaveTextContent("Backtest of GOOG swing");
  });

  it("shows no banner when no variant's model may have seen the window", async () => {
    stubDetail(makeBacktest({ status: "done", can_cancel: false }), makeReport());
    renderWithProviders(<BacktestPage />, { route: "/backtests/7", path: "/backtests/:id" });
    await screen.findByRole("table", { name: "Backtest report" }, { timeout: 5000 });
    expect(screen.queryByTestId("leakage-banner")).not.toBeInTheDocument();
    expect(screen.getByText("Anonymised").nextSibling).toHaveTextContent("no");
  });

  it("names a replay's source on its page, linking the source backtest", async () => {
    stubDetail(
      makeBacktest({
        id: 9,
        kind: "replay",
        source_variant: 11,
        source_backtest: 7,
        source_variant_label: "base",
        status: "done",
        can_cancel: false,
        variants: [makeBacktestVariant({ label: "original", recorded_answers: true, status: "done" })],
      }),
      makeReport({ backtest: 9 }),
    );
    renderWithProviders(<BacktestPage />, { route: "/backtests/9", path: "/backtests/:id" });
    expect(await screen.findByRole("heading", { level: 1 }, { timeout: 5000 })).toHaveTextContent(
      "Replay #9 of GOOG swing",
    );
    const origin = screen.getByTestId("backtest-origin");
    expect(origin).toHaveTextContent("Replay of backtest 7 (variant base)");
    expect(within(origin).getByRole("link", { name: "backtest 7" })).toHaveAttribute(
      "href",
      "/backtests/7",
    );
  });

  it("lists replays as replays of a backtest or of the strategy's runs", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          if (url.pathname === "/api/v1/strategies/")
            return jsonResponse({ count: 0, next: null, previous: null, results: [] });
          if (url.pathname === "/api/v1/backtests/")
            return jsonResponse({
              count: 3,
              next: null,
              previous: null,
              results: [
                makeBacktest({ id: 9, kind: "replay", source_variant: 11, source_backtest: 7, source_variant_label: "base" }),
                makeBacktest({ id: 8, kind: "replay" }),
                makeBacktest({ id: 7, anonymise: true }),
              ],
            });
          return undefined;
        }),
      ),
    );
    renderWithProviders(<BacktestsPage />, { route: "/backtests" });
    const ofBacktest = await screen.findByTestId("backtest-row-9", {}, { timeout: 5000 });
    expect(cell(ofBacktest, "Backtest")).toBe("#9 replayReplay of backtest 7 (variant base)");
    expect(cell(screen.getByTestId("backtest-row-8"), "Backtest")).toBe(
      "#8 replayReplay of GOOG swing's runs",
    );
    expect(cell(screen.getByTestId("backtest-row-7"), "Backtest")).toBe("#7anonymised");
  });
});
