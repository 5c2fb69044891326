import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { makeBacktest, makeBacktestVariant } from "../test/backtestFixtures";
import { makeStrategy } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { BacktestsPage } from "./BacktestsPage";

describe("BacktestsPage", () => {
  it("lists backtests with their progress and filters by status and strategy", async () => {
    const queries: URLSearchParams[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          if (url.pathname === "/api/v1/strategies/")
            return jsonResponse({
              count: 1,
              next: null,
              previous: null,
              results: [makeStrategy({ id: 3, name: "GOOG swing" })],
            });
          if (url.pathname === "/api/v1/backtests/") {
            queries.push(url.searchParams);
            if (url.searchParams.get("status") === "failed")
              return jsonResponse({ count: 0, next: null, previous: null, results: [] });
            return jsonResponse({
              count: 1,
              next: null,
              previous: null,
              results: [
                makeBacktest({
                  status: "done",
                  variants: [
                    makeBacktestVariant({ slots_done: 10, status: "done" }),
                    makeBacktestVariant({ position: 2, label: "gpt-4o", slots_done: 5, status: "done" }),
                  ],
                }),
              ],
            });
          }
          return undefined;
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(<BacktestsPage />, { route: "/backtests?strategy=3" });

    const row = await screen.findByTestId("backtest-row-7", {}, { timeout: 5000 });
    expect(within(row).getByRole("link", { name: "#7" })).toHaveAttribute("href", "/backtests/7");
    expect(within(row).getByText("2012-03-01 → 2012-06-30")).toBeInTheDocument();
    expect(within(row).getByText("base, gpt-4o")).toBeInTheDocument();
    expect(within(row).getByText("15 / 20 (75%)")).toBeInTheDocument();
    expect(queries[0]!.get("strategy")).toBe("3");
    expect(screen.getByRole("link", { name: "New backtest" })).toHaveAttribute(
      "href",
      "/backtests/new?strategy=3",
    );

    await user.selectOptions(screen.getByLabelText("Status"), "failed");
    expect(await screen.findByText("No backtests yet.")).toBeInTheDocument();
  });
});
