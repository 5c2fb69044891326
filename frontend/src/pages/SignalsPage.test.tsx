import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { makeSignal } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { SignalsPage } from "./SignalsPage";

describe("SignalsPage", () => {
  it("lists today's signals from the dashboard's link, and every signal without the filter", async () => {
    const asked: URL[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          asked.push(url);
          if (url.pathname === "/api/v1/signals/")
            return jsonResponse({
              count: 120,
              next: "http://testserver/api/v1/signals/?page=2",
              previous: null,
              results: [makeSignal({ id: 1 })],
            });
          return undefined;
        }),
      ),
    );
    renderWithProviders(<SignalsPage />, { route: "/signals?today=1", path: "/signals" });
    expect(await screen.findByText("120 signals")).toBeInTheDocument();
    const first = asked.at(-1)!;
    expect(first.searchParams.get("created_after")).toMatch(/T/);
    expect(first.searchParams.get("page_size")).toBe("50");

    await userEvent.click(screen.getByRole("checkbox", { name: "Today only" }));
    await waitFor(() => expect(asked.at(-1)!.searchParams.get("created_after")).toBeNull());

    await userEvent.click(await screen.findByRole("button", { name: "Older →" }));
    await waitFor(() => expect(asked.at(-1)!.searchParams.get("page")).toBe("2"));
  });
});
