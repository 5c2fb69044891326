import { render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import { makeSignal } from "../../../test/fixtures";
import { SignalsTable } from "./SignalsTable";

describe("SignalsTable", () => {
  it("names the strategy and the symbol instead of their ids", () => {
    render(
      <MemoryRouter>
        <SignalsTable
          signals={[
            makeSignal({ id: 3, strategy_id: 7, strategy_name: "SPY daily", symbol: "SPY" }),
            makeSignal({ id: 4, strategy_id: 8, strategy_name: "EUR hourly", symbol: "EUR", run_id: 43 }),
          ]}
        />
      </MemoryRouter>,
    );
    const rows = screen.getAllByRole("row").slice(1);
    expect(within(rows[0]!).getByRole("link", { name: "SPY daily" })).toHaveAttribute(
      "href",
      "/strategies/7",
    );
    expect(within(rows[0]!).getByRole("cell", { name: "SPY" })).toBeInTheDocument();
    expect(within(rows[1]!).getByRole("link", { name: "EUR hourly" })).toHaveAttribute(
      "href",
      "/strategies/8",
    );
    expect(within(rows[1]!).getByRole("cell", { name: "EUR" })).toBeInTheDocument();
    expect(within(rows[1]!).getByRole("link", { name: "run #43" })).toHaveAttribute("href", "/runs/43");
    expect(screen.queryByText("#7")).toBeNull();
    expect(screen.queryByText("#8")).toBeNull();
  });
});
