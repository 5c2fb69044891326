import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { StrategyPosition } from "../api/types";
import { makeStrategy } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { PositionHistoryPage } from "./PositionHistoryPage";

const lifetime = (over: Partial<StrategyPosition> = {}): StrategyPosition => ({
  id: 1,
  account_id: 1,
  account: "Paper (alice)",
  strategy_id: 7,
  strategy: "spy-daily",
  strategy_name: "SPY daily",
  symbol_id: 1,
  symbol: "SPY",
  currency: "USD",
  side: "LONG",
  status: "closed",
  quantity: "0.0000",
  average_cost: "0.0000",
  realized_pnl: "-50.0000",
  commission: "2.0000",
  entry_quantity: "10.0000",
  entry_price: "500.0000",
  exit_quantity: "10.0000",
  exit_price: "495.2000",
  initial_risk: "100.0000",
  r_multiple: "-0.5000",
  outcome: "loss",
  opened_at: "2026-03-02T14:30:00Z",
  closed_at: "2026-03-04T17:45:00Z",
  opening_run_id: 42,
  prompt_template_id: 11,
  llm_model: "gpt-4o",
  working_orders: [],
  updated_at: "2026-03-04T17:45:00Z",
  ...over,
});

/** The positions endpoint answers `results`; every request's query is recorded. */
function stub(results: StrategyPosition[], next: string | null = null) {
  const seen: URLSearchParams[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(
      mockFetch((url) => {
        if (url.pathname === "/api/v1/strategy-positions/") {
          seen.push(url.searchParams);
          return jsonResponse({ next, previous: null, results });
        }
        if (url.pathname === "/api/v1/strategies/")
          return jsonResponse({
            count: 2,
            next: null,
            previous: null,
            results: [makeStrategy(), makeStrategy({ id: 8, name: "QQQ swing", slug: "qqq-swing" })],
          });
        return undefined;
      }),
    ),
  );
  return seen;
}

/** The row's cell labelled `label` (by dataset: jsdom's selector engine misreads "P&L"). */
const cell = (row: HTMLElement, label: string) =>
  Array.from(row.querySelectorAll("td")).find((td) => td.dataset.label === label) ?? null;

describe("PositionHistoryPage", () => {
  it("shows a closed lifetime's prices, duration, P&L, R and outcome, linked to its opening run", async () => {
    stub([
      lifetime(),
      lifetime({
        id: 2,
        status: "open",
        side: "SHORT",
        quantity: "4.0000",
        entry_quantity: "6.0000",
        exit_quantity: "2.0000",
        exit_price: "498.0000",
        realized_pnl: "3.0000",
        r_multiple: null,
        outcome: "",
        closed_at: null,
        opening_run_id: null,
      }),
    ]);
    renderWithProviders(<PositionHistoryPage />, { route: "/positions/history" });
    const closed = await screen.findByTestId("lifetime-1");
    expect(cell(closed, "Strategy")).toHaveTextContent("SPY daily");
    expect(cell(closed, "Quantity")).toHaveTextContent("10");
    expect(cell(closed, "Entry")).toHaveTextContent("500.00");
    expect(cell(closed, "Exit")).toHaveTextContent("495.20");
    expect(cell(closed, "Duration")).toHaveTextContent("2 d 3 h");
    expect(cell(closed, "Realized P&L")).toHaveTextContent("-50.00 USD");
    expect(cell(closed, "R")).toHaveTextContent("-0.50 R");
    expect(within(cell(closed, "Outcome") as HTMLElement).getByText("loss")).toHaveClass(
      "outcome-loss",
    );
    expect(within(closed).getByRole("link", { name: "run #42" })).toHaveAttribute("href", "/runs/42");

    const open = screen.getByTestId("lifetime-2");
    expect(cell(open, "Quantity")).toHaveTextContent("4 of 6");
    expect(cell(open, "R")).toHaveTextContent("—");
    expect(cell(open, "Outcome")).toHaveTextContent("open");
    expect(cell(open, "Duration")).toHaveTextContent("so far");
    expect(within(open).queryByRole("link", { name: /run #/ })).toBeNull();
  });

  it("sends the status, side and strategy filters, and the account from the URL", async () => {
    const seen = stub([lifetime()]);
    const user = userEvent.setup();
    renderWithProviders(<PositionHistoryPage />, { route: "/positions/history?account=3" });
    await screen.findByTestId("lifetime-1");
    expect(seen.at(-1)?.get("account")).toBe("3");
    expect(seen.at(-1)?.get("status")).toBeNull();

    await user.selectOptions(screen.getByLabelText("Status"), "closed");
    await waitFor(() => expect(seen.at(-1)?.get("status")).toBe("closed"));
    await user.selectOptions(screen.getByLabelText("Side"), "SHORT");
    await waitFor(() => expect(seen.at(-1)?.get("side")).toBe("SHORT"));
    await screen.findByRole("option", { name: "QQQ swing" });
    await user.selectOptions(screen.getByLabelText("Strategy"), "QQQ swing");
    await waitFor(() => expect(seen.at(-1)?.get("strategy")).toBe("8"));
    const last = seen.at(-1)!;
    expect([last.get("status"), last.get("side"), last.get("account"), last.get("page_size")]).toEqual([
      "closed",
      "SHORT",
      "3",
      "50",
    ]);

    await user.selectOptions(screen.getByLabelText("Status"), "all");
    await waitFor(() => expect(seen.at(-1)?.get("status")).toBeNull());
  });

  it("pages by cursor", async () => {
    const seen = stub([lifetime()], "http://testserver/api/v1/strategy-positions/?cursor=abc");
    const user = userEvent.setup();
    renderWithProviders(<PositionHistoryPage />, { route: "/positions/history" });
    await screen.findByTestId("lifetime-1");
    await user.click(screen.getByRole("button", { name: "Older →" }));
    await waitFor(() => expect(seen.at(-1)?.get("cursor")).toBe("abc"));
  });

  it("says so when nothing matches", async () => {
    stub([]);
    renderWithProviders(<PositionHistoryPage />, { route: "/positions/history" });
    expect(await screen.findByText("No positions match.")).toBeInTheDocument();
  });
});
