import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useParams } from "react-router";
import { describe, expect, it, vi } from "vitest";
import { makePromptTemplate, makeStrategy, makeSymbol } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { EditStrategyPage } from "./EditStrategyPage";

function StrategyStub() {
  return <p>Strategy page {useParams().id}</p>;
}

const page = <T,>(results: T[]) => ({ count: results.length, next: null, previous: null, results });

// A large form under jsdom: allow more than the default 5 s when the machine is busy.
describe("EditStrategyPage", { timeout: 20_000 }, () => {
  it("prefills the form (a pinned template version too) and PATCHes only the changes", async () => {
    document.cookie = "csrftoken=tokedit";
    const strategy = makeStrategy({
      id: 7,
      name: "SPY daily",
      prompt_template: 10, // swing v1, older than the latest
      indicators: [
        { name: "RSI", params: { timeperiod: 14 } },
        { name: "SMA", key: "SMA50", params: { timeperiod: 50 } },
      ],
    });
    const seen: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          seen.push(req);
          if (url.pathname === "/api/v1/strategies/7/" && req.method === "GET")
            return jsonResponse(strategy);
          if (url.pathname === "/api/v1/strategies/7/" && req.method === "PATCH")
            return jsonResponse({ ...strategy, lookback: 300, name: "SPY daily v2" });
          if (url.pathname === "/api/v1/symbols/") return jsonResponse(page([makeSymbol({ id: 1 })]));
          if (url.pathname === "/api/v1/prompt-templates/")
            return jsonResponse(
              page([
                makePromptTemplate({ id: 11, name: "swing", version: 2 }),
                makePromptTemplate({ id: 10, name: "swing", version: 1 }),
              ]),
            );
          return undefined;
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(
      <Routes>
        <Route path="/strategies/:id/edit" element={<EditStrategyPage />} />
        <Route path="/strategies/:id" element={<StrategyStub />} />
      </Routes>,
      { route: "/strategies/7/edit" },
    );

    const name = await screen.findByLabelText("Name");
    expect(name).toHaveValue("SPY daily");
    expect(screen.getByLabelText("Slug")).toHaveValue("spy-daily");
    expect(screen.getByLabelText("Lookback (bars)")).toHaveValue(200);
    expect(screen.getByLabelText("Active")).toBeChecked();
    const template = screen.getByLabelText("Prompt template");
    await within(template).findByRole("option", { name: "swing v2" });
    expect(template).toHaveValue("10");
    expect(
      within(template).getByRole("option", { name: "swing v1 (pinned, not the latest)" }),
    ).toBeInTheDocument();
    const second = screen.getByRole("listitem", { name: "Indicator 2" });
    expect(within(second).getByLabelText("Key")).toHaveValue("SMA50");
    expect(within(second).getByLabelText("Parameters")).toHaveValue("timeperiod=50");

    await user.clear(name);
    await user.click(name);
    await user.paste("SPY daily v2");
    const lookback = screen.getByLabelText("Lookback (bars)");
    await user.clear(lookback);
    await user.type(lookback, "300");
    // The slug of a saved strategy does not follow its name.
    expect(screen.getByLabelText("Slug")).toHaveValue("spy-daily");
    await user.click(screen.getByRole("button", { name: "Save changes" }));

    expect(await screen.findByText("Strategy page 7")).toBeInTheDocument();
    const patch = seen.find((r) => r.method === "PATCH")!;
    expect(patch.url).toMatch(/\/api\/v1\/strategies\/7\/$/);
    expect(patch.headers.get("X-CSRFToken")).toBe("tokedit");
    expect(await patch.clone().json()).toEqual({ name: "SPY daily v2", lookback: 300 });
    expect(seen.some((r) => r.method === "POST" || r.method === "PUT")).toBe(false);
  });
});
