import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { ApprovalDetail } from "../api/approvals";
import { makeOrder } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { ApprovalsPage } from "./ApprovalsPage";

function makeApproval(overrides: Partial<ApprovalDetail> = {}): ApprovalDetail {
  return {
    id: 9,
    parent: 31,
    run: 42,
    strategy: 7,
    strategy_name: "SPY swing",
    account: 1,
    symbol: "SPY",
    side: "BUY",
    status: "pending",
    requested_quantity: "10.0000",
    approved_quantity: null,
    expires_at: "2025-01-03T22:00:00Z",
    why: "the strategy's approval is required",
    reason: "",
    decided_by: null,
    decided_at: null,
    created_at: "2025-01-02T22:00:05Z",
    orders: [makeOrder({ id: 31, status: "awaiting_approval" })],
    lineage: {
      artifacts: [
        { id: 1, kind: "chart_png", url: "http://testserver/api/v1/artifacts/1/" },
        { id: 2, kind: "prompt", url: "http://testserver/api/v1/artifacts/2/" },
        { id: 3, kind: "raw_answer", url: "http://testserver/api/v1/artifacts/3/" },
      ],
      action: "BUY",
      entry: "100.50000000",
      stop_loss: "98.00000000",
      take_profit: "105.00000000",
      confidence: "0.800",
      reward_risk: "1.8000",
      reasoning: "Breakout above resistance",
      checks: [{ name: "min_confidence", passed: true, detail: "0.8 >= 0.6" }],
      quantity: "10.0000",
      risk: "25.0000",
      reward: "45.0000",
    },
    ...overrides,
  };
}

describe("ApprovalsPage", () => {
  it("shows each pending approval with its lineage, approves a lower quantity and rejects with a reason", async () => {
    document.cookie = "csrftoken=tok123";
    const posts: { url: string; body: unknown }[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch(async (url, req) => {
          if (url.pathname === "/api/v1/approvals/") {
            expect(url.searchParams.get("status")).toBe("pending");
            return jsonResponse({ next: null, previous: null, results: [makeApproval()] });
          }
          if (url.pathname === "/api/v1/approvals/9/" && req.method === "GET")
            return jsonResponse(makeApproval());
          if (url.pathname === "/api/v1/approvals/9/approve/" && req.method === "POST") {
            posts.push({ url: url.pathname, body: await req.json() });
            return jsonResponse(makeApproval({ status: "approved", approved_quantity: "4" }));
          }
          if (url.pathname === "/api/v1/approvals/9/reject/" && req.method === "POST") {
            posts.push({ url: url.pathname, body: await req.json() });
            return jsonResponse(makeApproval({ status: "rejected", reason: "earnings" }));
          }
          return jsonResponse({ detail: "Not found." }, 404);
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(<ApprovalsPage />);

    const card = await screen.findByTestId("approval-9");
    await within(card).findByText("Breakout above resistance");
    expect(within(card).getByRole("img", { name: "Chart of run #42" })).toHaveAttribute(
      "src",
      "http://testserver/api/v1/artifacts/1/",
    );
    expect(within(card).getByRole("link", { name: "Prompt" })).toBeInTheDocument();
    expect(within(card).getByRole("link", { name: "Answer" })).toBeInTheDocument();
    expect(within(card).getByText(/min_confidence: 0.8 >= 0.6/)).toBeInTheDocument();
    expect(within(card).getByText("25.00")).toBeInTheDocument(); // risk

    const quantity = within(card).getByLabelText(/Quantity/);
    const approve = within(card).getByRole("button", { name: "Approve" });
    await user.clear(quantity);
    await user.type(quantity, "11");
    expect(approve).toBeDisabled(); // up is not allowed
    await user.clear(quantity);
    await user.type(quantity, "4");
    await user.click(approve);
    await waitFor(() => expect(posts).toHaveLength(1));
    expect(posts[0]).toEqual({ url: "/api/v1/approvals/9/approve/", body: { quantity: "4" } });

    const reject = within(card).getByRole("button", { name: "Reject" });
    expect(reject).toBeDisabled(); // a reason is required
    await user.type(within(card).getByLabelText("Reason"), "earnings");
    await user.click(reject);
    await waitFor(() => expect(posts).toHaveLength(2));
    expect(posts[1]).toEqual({ url: "/api/v1/approvals/9/reject/", body: { reason: "earnings" } });
  });

  it("says so when nothing waits", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) =>
          url.pathname === "/api/v1/approvals/"
            ? jsonResponse({ next: null, previous: null, results: [] })
            : undefined,
        ),
      ),
    );
    renderWithProviders(<ApprovalsPage />);
    expect(await screen.findByText("No order is waiting for approval.")).toBeInTheDocument();
  });
});
