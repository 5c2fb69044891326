import { describe, expect, it } from "vitest";
import { makeCurrencyPerformance } from "../../../test/fixtures";
import { equityFigure } from "./equityFigure";

type Trace = { name: string; x: string[]; y: number[]; yaxis: string; xaxis: string };

describe("equityFigure", () => {
  it("draws each currency's equity and drawdown on its own axes, never added", () => {
    const usd = makeCurrencyPerformance();
    const eur = makeCurrencyPerformance({
      currency: "EUR",
      equity: [
        { date: "2025-01-03", equity: "5000.0000", drawdown: "0.0000" },
        { date: "2025-01-06", equity: "4900.0000", drawdown: "100.0000" },
      ],
    });
    const figure = equityFigure([usd, eur]);
    const traces = figure.data as Trace[];
    expect(traces.map((t) => [t.name, t.yaxis])).toEqual([
      ["Equity USD", "y"],
      ["Drawdown USD", "y2"],
      ["Equity EUR", "y3"],
      ["Drawdown EUR", "y4"],
    ]);
    expect(traces.every((t) => t.xaxis === "x")).toBe(true);
    // Each currency's own values: the EUR curve is not summed into the USD one.
    expect(traces[0]!.x).toEqual(["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07"]);
    expect(traces[0]!.y).toEqual([10000, 10900, 10600, 11210.5]);
    expect(traces[1]!.y).toEqual([0, 0, 300, 0]);
    expect(traces[2]!.y).toEqual([5000, 4900]);
    expect(traces[3]!.y).toEqual([0, 100]);

    const layout = figure.layout as Record<string, { title: { text: string }; domain: number[] }>;
    expect(layout.yaxis!.title.text).toBe("Equity (USD)");
    expect(layout.yaxis4!.title.text).toBe("Drawdown (EUR)");
    // USD's block above EUR's; domains do not overlap.
    const domains = ["yaxis", "yaxis2", "yaxis3", "yaxis4"].map((k) => layout[k]!.domain);
    for (let i = 1; i < domains.length; i++)
      expect(domains[i]![1]).toBeLessThanOrEqual(domains[i - 1]![0]!);
    expect(domains[0]![1]).toBe(1);
    expect(domains[3]![0]).toBe(0);
    // Taller with each currency, so each keeps a readable block.
    expect(layout.height).toBe(880);
  });

  it("skips a currency without equity points", () => {
    const figure = equityFigure([makeCurrencyPerformance({ currency: "JPY", equity: [] })]);
    expect(figure.data).toEqual([]);
  });
});
