import { screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { Figure } from "../../lineage/ChartView/PlotlyFigure";
import { makeCurrencyPerformance } from "../../../test/fixtures";
import { renderWithProviders } from "../../../test/utils";
import { PerformancePanel } from "./PerformancePanel";

// Plotly itself does not run in jsdom: the figure it would draw is shown as JSON instead.
vi.mock("../../lineage/ChartView/PlotlyFigure", () => ({
  default: ({ figure }: { figure: Figure }) => (
    <pre data-testid="plotly-figure">{JSON.stringify(figure)}</pre>
  ),
}));

const cell = (row: HTMLElement, label: string) =>
  row.querySelector(`td[data-label="${label}"]`)!.textContent;

describe("PerformancePanel", () => {
  it("shows a row of figures per currency and one equity and drawdown trace each", async () => {
    renderWithProviders(
      <PerformancePanel
        label="Performance by currency"
        currencies={[
          makeCurrencyPerformance(),
          makeCurrencyPerformance({
            currency: "EUR",
            realized_pnl: "-75.2500",
            unrealized_pnl: "0.0000",
            commission: "3.5000",
            trades: 2,
            wins: 0,
            losses: 2,
            win_rate: "0.0000",
            average_r: "-0.5000",
            open_positions: 0,
            max_drawdown: "80.0000",
            max_drawdown_fraction: null,
            equity: [{ date: "2025-01-03", equity: "4924.7500", drawdown: "75.2500" }],
          }),
        ]}
      />,
    );
    const table = screen.getByRole("table", { name: "Performance by currency" });
    const usd = within(table).getByTestId("performance-USD");
    expect(cell(usd, "Realized")).toBe("1,250.50");
    expect(cell(usd, "Unrealized")).toBe("-40.00");
    expect(cell(usd, "Commissions")).toBe("8.00");
    expect(cell(usd, "Trades")).toBe("4 (+1 open)");
    expect(cell(usd, "Win rate")).toBe("75%");
    expect(cell(usd, "Avg R")).toBe("+1.25 R");
    expect(cell(usd, "Max drawdown")).toBe("300.00 (3%)");

    const eur = within(table).getByTestId("performance-EUR");
    expect(cell(eur, "Realized")).toBe("-75.25");
    expect(cell(eur, "Trades")).toBe("2");
    expect(cell(eur, "Win rate")).toBe("0%");
    expect(cell(eur, "Avg R")).toBe("−0.50 R");
    expect(cell(eur, "Max drawdown")).toBe("80.00");
    // No total row: amounts in different currencies are never added.
    expect(within(table).getAllByRole("row")).toHaveLength(3);

    const figure = JSON.parse((await screen.findByTestId("plotly-figure")).textContent!) as Figure;
    const traces = figure.data as { name: string; y: number[] }[];
    expect(traces.map((t) => t.name)).toEqual([
      "Equity USD",
      "Drawdown USD",
      "Equity EUR",
      "Drawdown EUR",
    ]);
    expect(traces[2]!.y).toEqual([4924.75]);
  });

  it("notes open positions that could not be marked, and dashes for missing ratios", () => {
    renderWithProviders(
      <PerformancePanel
        label="Performance by currency"
        currencies={[
          makeCurrencyPerformance({
            trades: 0,
            wins: 0,
            win_rate: null,
            average_r: null,
            unpriced_positions: 1,
            max_drawdown: "0.0000",
            max_drawdown_fraction: null,
          }),
        ]}
      />,
    );
    const usd = screen.getByTestId("performance-USD");
    expect(cell(usd, "Unrealized")).toBe("-40.00 (1 not marked)");
    expect(cell(usd, "Win rate")).toBe("—");
    expect(cell(usd, "Avg R")).toBe("—");
  });

  it("shows the empty state without positions, and no chart", () => {
    renderWithProviders(
      <PerformancePanel label="Performance by currency" currencies={[]} empty="No positions yet." />,
    );
    expect(screen.getByText("No positions yet.")).toBeInTheDocument();
    expect(screen.queryByRole("table")).toBeNull();
    expect(screen.queryByTestId("plotly-figure")).toBeNull();
  });

  it("says so when positions exist but the curve has no points yet", () => {
    renderWithProviders(
      <PerformancePanel
        label="Performance by currency"
        currencies={[makeCurrencyPerformance({ equity: [] })]}
      />,
    );
    expect(screen.getByRole("table")).toBeInTheDocument();
    expect(screen.getByText("No equity curve yet.")).toBeInTheDocument();
    expect(screen.queryByTestId("plotly-figure")).toBeNull();
  });
});
