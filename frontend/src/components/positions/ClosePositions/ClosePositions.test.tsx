import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { CloseAllResult } from "../../../api/types";
import { makePositionAction } from "../../../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../../../test/utils";
import { CloseAllButton, ClosePositionButton } from "./ClosePositions";

const position = { id: 5, side: "LONG", quantity: "10", symbol: "SPY", strategy: "SPY daily" };

/** Stub fetch with `answer` for POSTs (recorded with their JSON bodies); GETs answer 404. */
function stubPosts(answer: (url: URL) => Response) {
  const posts: { path: string; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(
      mockFetch(async (url, req) => {
        if (req.method !== "POST") return jsonResponse({ detail: "Not found." }, 404);
        posts.push({ path: url.pathname, body: await req.json() });
        return answer(url);
      }),
    ),
  );
  return posts;
}

describe("ClosePositionButton", () => {
  it("asks first, sends the note and shows the server's answer", async () => {
    const posts = stubPosts(() => jsonResponse(makePositionAction({ note: "earnings" })));
    const user = userEvent.setup();
    renderWithProviders(<ClosePositionButton position={position} />);

    await user.click(screen.getByRole("button", { name: "Close" }));
    const dialog = screen.getByRole("dialog", { name: "Close position #5" });
    expect(dialog).toHaveTextContent("Close SPY daily's LONG 10 SPY at market?");
    // Focus starts on Cancel: Enter alone closes nothing.
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();
    expect(posts).toEqual([]);

    await user.type(within(dialog).getByLabelText(/Note/), "earnings");
    await user.click(within(dialog).getByRole("button", { name: "Close position" }));

    const answer = await within(dialog).findByRole("status");
    expect(answer).toHaveTextContent("Close #9 done: order #21 SELL 10 MKT (submitted)");
    expect(posts).toEqual([{ path: "/api/v1/strategy-positions/5/close/", body: { note: "earnings" } }]);
    await user.click(within(dialog).getByRole("button", { name: "Done" }));
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("shows the server's refusal (409) and keeps the dialog open", async () => {
    const detail = "position 5 is closed, quantity 0: nothing to close";
    stubPosts(() => jsonResponse({ detail, code: "PositionNotOpenError" }, 409));
    const user = userEvent.setup();
    renderWithProviders(<ClosePositionButton position={position} />);

    await user.click(screen.getByRole("button", { name: "Close" }));
    await user.click(screen.getByRole("button", { name: "Close position" }));

    expect(await screen.findByRole("alert")).toHaveTextContent(detail);
    expect(screen.getByRole("dialog")).toBeInTheDocument();
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("Cancel sends nothing; a position already closing cannot be closed again", async () => {
    const posts = stubPosts(() => jsonResponse(makePositionAction()));
    const user = userEvent.setup();
    const { rerender } = renderWithProviders(<ClosePositionButton position={position} />);

    await user.click(screen.getByRole("button", { name: "Close" }));
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(posts).toEqual([]);

    rerender(<ClosePositionButton position={position} disabled />);
    expect(screen.getByRole("button", { name: "Closing…" })).toBeDisabled();
  });
});

describe("CloseAllButton", () => {
  const report: CloseAllResult = {
    action: makePositionAction({
      id: 30,
      strategy_position_id: null,
      orders: undefined,
      detail: { already_closing: ["a close of position 4 is already submitted"] },
    }),
    cancelled: ["sibyl-50-entry"],
    closes: [makePositionAction()],
    failures: ["close position 6: broker unreachable"],
  };

  it("closes an account's positions and reports closes, cancels and failures", async () => {
    const posts = stubPosts(() => jsonResponse(report));
    const user = userEvent.setup();
    renderWithProviders(<CloseAllButton scope={{ account: 1 }} what="account Paper (alice)" />);

    await user.click(screen.getByRole("button", { name: "Close all" }));
    const dialog = screen.getByRole("dialog", { name: "Close all positions of account Paper (alice)" });
    await user.click(within(dialog).getByRole("button", { name: "Close all" }));

    expect(await within(dialog).findByRole("status")).toHaveTextContent(
      "1 position closed, 1 working order cancelled, 1 already closing.",
    );
    expect(within(dialog).getByRole("alert")).toHaveTextContent("broker unreachable");
    expect(posts).toEqual([
      { path: "/api/v1/accounts/1/close-all/", body: { note: "", symbol: null, strategy: null } },
    ]);
  });

  it("closes a strategy's positions through the strategy's endpoint", async () => {
    const posts = stubPosts(() => jsonResponse({ ...report, failures: [] }));
    const user = userEvent.setup();
    renderWithProviders(<CloseAllButton scope={{ strategy: 7 }} what="strategy SPY daily" />);

    await user.click(screen.getByRole("button", { name: "Close all" }));
    await user.type(screen.getByLabelText(/Note/), "  risk off ");
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Close all" }));

    await screen.findByRole("status");
    expect(posts).toEqual([{ path: "/api/v1/strategies/7/close-all/", body: { note: "risk off" } }]);
  });
});
