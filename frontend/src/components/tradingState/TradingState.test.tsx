import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { AppRoutes } from "../../App";
import type { Account } from "../../api/accounts";
import type { GlobalTradingState } from "../../api/tradingState";
import {
  makeAccountTradingState,
  makeTradingStateChange,
  makeUser,
} from "../../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../../test/utils";
import { AccountsTable } from "../accounts/AccountsTable/AccountsTable";
import { AccountTradingStatePanel } from "./TradingState";

const header = () => screen.getByRole("banner");
const ACTIVE: GlobalTradingState = { state: "active", change: null };

/**
 * The app signed in as `user` with a global state that a POST changes (recorded in `posts`
 * with their bodies); any other route is a 404.
 */
function stubApp({ staff, global }: { staff: boolean; global: GlobalTradingState }) {
  let state = global;
  const posts: { request: Request; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(
      mockFetch(async (url, req) => {
        if (url.pathname === "/api/v1/auth/session/")
          return jsonResponse(makeUser({ username: "ada", is_staff: staff }));
        if (url.pathname === "/api/v1/trading-state/") {
          if (req.method === "POST") {
            const body = (await req.json()) as { state: "halted"; reason: string };
            posts.push({ request: req, body });
            state = {
              state: body.state,
              change: makeTradingStateChange({ account: null, state: body.state, reason: body.reason }),
            };
          }
          return jsonResponse(state);
        }
        return jsonResponse({ detail: "Not found." }, 404);
      }),
    ),
  );
  return posts;
}

describe("the global kill switch in the header", () => {
  it("staff change it in a dialog that posts {state, reason}; a blank reason is blocked", async () => {
    document.cookie = "csrftoken=tok789";
    const posts = stubApp({ staff: true, global: ACTIVE });
    const user = userEvent.setup();
    renderWithProviders(<AppRoutes />, { route: "/nowhere" });

    const indicator = await within(header()).findByTestId("global-trading-state", {}, { timeout: 5000 });
    expect(indicator).toHaveTextContent("Trading: active");
    expect(screen.queryByTestId("trading-banner")).not.toBeInTheDocument();

    await user.click(within(indicator).getByRole("button", { name: "Change" }));
    const dialog = screen.getByRole("dialog", { name: "Global trading state" });
    await user.selectOptions(within(dialog).getByLabelText("State"), "halted");
    // a blank (whitespace) reason is refused before anything is sent
    await user.type(within(dialog).getByLabelText("Reason"), "   ");
    await user.click(within(dialog).getByRole("button", { name: "Set halted" }));
    expect(within(dialog).getByRole("alert")).toHaveTextContent("A reason is required.");
    expect(posts).toHaveLength(0);

    await user.type(within(dialog).getByLabelText("Reason"), "broker outage");
    await user.click(within(dialog).getByRole("button", { name: "Set halted" }));
    await waitFor(() => expect(posts).toHaveLength(1));
    expect(posts[0]!.body).toEqual({ state: "halted", reason: "broker outage" });
    expect(posts[0]!.request.headers.get("X-CSRFToken")).toBe("tok789");

    // halted: the dialog closes, the header and a banner under it say so with the reason
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    const banner = await screen.findByTestId("trading-banner");
    expect(banner).toHaveAttribute("role", "alert");
    expect(banner).toHaveClass("trading-banner-halted");
    expect(banner).toHaveTextContent("Trading halted: no order goes out on any account. Reason: broker outage");
    expect(within(header()).getByTestId("global-trading-state")).toHaveClass("trading-indicator-halted");
  });

  it("a user who is not staff sees the state but no control to change it", async () => {
    stubApp({ staff: false, global: ACTIVE });
    renderWithProviders(<AppRoutes />, { route: "/nowhere" });
    const indicator = await within(header()).findByTestId("global-trading-state", {}, { timeout: 5000 });
    expect(indicator).toHaveTextContent("Trading: active");
    expect(within(indicator).queryByRole("button", { name: "Change" })).not.toBeInTheDocument();
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("halted shows prominently on every page, with its reason, to everyone", async () => {
    stubApp({
      staff: false,
      global: { state: "halted", change: makeTradingStateChange({ account: null, reason: "market turmoil" }) },
    });
    renderWithProviders(<AppRoutes />, { route: "/somewhere/else" });
    const banner = await screen.findByTestId("trading-banner", {}, { timeout: 5000 });
    expect(banner).toHaveAttribute("role", "alert");
    expect(banner).toHaveTextContent("Trading halted");
    expect(banner).toHaveTextContent("Reason: market turmoil (by ada,");
    const indicator = within(header()).getByTestId("global-trading-state");
    expect(indicator).toHaveClass("trading-indicator-halted");
    expect(indicator).toHaveTextContent("halted market turmoil");
  });

  it("signed out: no state is fetched or shown", async () => {
    const seen: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          seen.push(url.pathname);
          return url.pathname === "/api/v1/auth/session/"
            ? jsonResponse({ detail: "Not signed in." }, 401)
            : undefined;
        }),
      ),
    );
    renderWithProviders(<AppRoutes />, { route: "/nowhere" });
    await within(header()).findByRole("link", { name: "Sign in" }, { timeout: 5000 });
    expect(screen.queryByTestId("global-trading-state")).not.toBeInTheDocument();
    expect(seen).not.toContain("/api/v1/trading-state/");
  });
});

describe("an account's kill switch", () => {
  it("shows its own and effective state and changes, and posts {state, reason}", async () => {
    let state = makeAccountTradingState({
      state: "reducing",
      effective_state: "halted",
      effective_scope: "global",
      effective_reason: "market turmoil",
      changes: [makeTradingStateChange({ id: 3, state: "reducing", previous: "active", reason: "too many losses" })],
    });
    const posts: unknown[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch(async (url, req) => {
          if (url.pathname !== "/api/v1/accounts/2/trading-state/") return jsonResponse({ detail: "Not found." }, 404);
          if (req.method === "POST") {
            const body = (await req.json()) as { state: "active"; reason: string };
            posts.push(body);
            state = makeAccountTradingState({
              state: body.state,
              changes: [
                makeTradingStateChange({ id: 4, state: body.state, previous: "reducing", reason: body.reason }),
                ...state.changes,
              ],
            });
          }
          return jsonResponse(state);
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(<AccountTradingStatePanel accountId={2} />);

    expect(await screen.findByTestId("account-own-state", {}, { timeout: 5000 })).toHaveTextContent("reducing");
    expect(screen.getByTestId("account-effective-state")).toHaveTextContent(
      "halted set globally: market turmoil",
    );
    expect(screen.getByRole("alert")).toHaveTextContent("Trading halted on this account");
    const changes = screen.getByRole("table", { name: "Trading state changes" });
    expect(within(changes).getByText("too many losses")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Change trading state" }));
    const dialog = screen.getByRole("dialog", { name: "Account trading state" });
    await user.selectOptions(within(dialog).getByLabelText("State"), "active");
    await user.click(within(dialog).getByRole("button", { name: "Set active" }));
    expect(within(dialog).getByRole("alert")).toHaveTextContent("A reason is required.");
    expect(posts).toEqual([]);

    await user.type(within(dialog).getByLabelText("Reason"), "  losses reviewed ");
    await user.click(within(dialog).getByRole("button", { name: "Set active" }));
    await waitFor(() => expect(posts).toEqual([{ state: "active", reason: "losses reviewed" }]));
    expect(await within(changes).findByText("losses reviewed")).toBeInTheDocument();
    expect(screen.getByTestId("account-own-state")).toHaveTextContent("active");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("the accounts list shows the effective state when the global one is stricter, and changes the account's", async () => {
    const posts: { path: string; body: unknown }[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch(async (url, req) => {
          if (url.pathname === "/api/v1/auth/session/") return jsonResponse(makeUser());
          if (url.pathname === "/api/v1/trading-state/")
            return jsonResponse({ state: "reducing", change: makeTradingStateChange({ account: null, state: "reducing" }) });
          if (url.pathname === "/api/v1/accounts/5/trading-state/" && req.method === "POST") {
            posts.push({ path: url.pathname, body: await req.json() });
            return jsonResponse(makeAccountTradingState({ account: 5, state: "halted", effective_state: "halted" }));
          }
          return jsonResponse({ detail: "Not found." }, 404);
        }),
      ),
    );
    const account = {
      id: 5,
      name: "Paper (ada)",
      kind: "paper",
      broker: "paper",
      broker_account_id: "",
      base_currency: "USD",
      position_mode: "netting",
      opposite_policy: "reject",
      same_direction_policy: "accumulate",
      max_position_per_symbol: null,
      trading_state: "active",
      cash: [],
    } as unknown as Account;
    const user = userEvent.setup();
    renderWithProviders(<AccountsTable accounts={[account]} />);
    const effective = await screen.findByTestId("account-effective-5", {}, { timeout: 5000 });
    expect(effective).toHaveTextContent("effective reducing (global)");

    await user.click(screen.getByRole("button", { name: "Change trading state of Paper (ada)" }));
    const dialog = screen.getByRole("dialog", { name: "Trading state of Paper (ada)" });
    expect(within(dialog).getByLabelText("State")).toHaveValue("halted");
    await user.type(within(dialog).getByLabelText("Reason"), "stop it");
    await user.click(within(dialog).getByRole("button", { name: "Set halted" }));
    await waitFor(() =>
      expect(posts).toEqual([
        { path: "/api/v1/accounts/5/trading-state/", body: { state: "halted", reason: "stop it" } },
      ]),
    );
  });
});
