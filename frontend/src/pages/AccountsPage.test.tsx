import { screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { Account } from "../api/accounts";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { AccountPage } from "./AccountPage";
import { AccountsPage } from "./AccountsPage";

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
  cash: [],
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
          if (url.pathname === "/api/v1/accounts/") return jsonResponse([paper, live]);
          if (url.pathname === "/api/v1/accounts/2/portfolio/")
            return jsonResponse({ account_id: 2, equity: "1000.00" });
          return undefined;
        }),
      ),
    );
    renderWithProviders(<AccountPage />, { route: "/accounts/2", path: "/accounts/:id" });
    expect(await screen.findByRole("heading", { name: "IBKR main" })).toBeInTheDocument();
    expect(screen.getByTestId("account-row-2")).toBeInTheDocument();
    expect(await screen.findByText(/"1000\.00"/)).toBeInTheDocument();
  });
});
