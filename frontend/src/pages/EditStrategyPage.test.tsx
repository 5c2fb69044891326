import { act, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useParams } from "react-router";
import { describe, expect, it, vi } from "vitest";
import { makeLlmEndpoint, makePromptTemplate, makeStrategy, makeSymbol } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { strategyKeys } from "../api/strategies";
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

  /** Strategy 7 as the API has it (`server`, changeable), and the requests seen. */
  function stubApi(server: { strategy: ReturnType<typeof makeStrategy> }) {
    const seen: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          seen.push(req);
          if (url.pathname === "/api/v1/strategies/7/" && req.method === "GET")
            return jsonResponse(server.strategy);
          if (url.pathname === "/api/v1/strategies/7/" && req.method === "PATCH")
            return req
              .clone()
              .json()
              .then((patch: object) => {
                server.strategy = {
                  ...server.strategy,
                  ...patch,
                  updated_at: "2025-01-02T12:00:00Z",
                };
                return jsonResponse(server.strategy);
              });
          if (url.pathname === "/api/v1/symbols/") return jsonResponse(page([makeSymbol({ id: 1 })]));
          if (url.pathname === "/api/v1/prompt-templates/")
            return jsonResponse(page([makePromptTemplate({ id: 11, name: "swing", version: 2 })]));
          if (url.pathname === "/api/v1/llm-endpoints/")
            return jsonResponse(
              page([
                makeLlmEndpoint({ id: 3, name: "openrouter" }),
                makeLlmEndpoint({ id: 5, name: "retired", is_active: false }),
                makeLlmEndpoint({ id: 6, name: "also retired", is_active: false }),
              ]),
            );
          return undefined;
        }),
      ),
    );
    return seen;
  }

  const renderEdit = () =>
    renderWithProviders(
      <Routes>
        <Route path="/strategies/:id/edit" element={<EditStrategyPage />} />
        <Route path="/strategies/:id" element={<StrategyStub />} />
      </Routes>,
      { route: "/strategies/7/edit" },
    );

  it("does not undo a change made elsewhere while the form was open", async () => {
    const server = { strategy: makeStrategy({ id: 7, is_active: true }) };
    const seen = stubApi(server);
    const user = userEvent.setup();
    const { queryClient } = renderEdit();
    const name = await screen.findByLabelText("Name");
    expect(screen.getByLabelText("Active")).toBeChecked();
    expect(screen.queryByRole("alert")).toBeNull();

    // Someone deactivates the strategy elsewhere; the page refetches it (e.g. window focus).
    server.strategy = {
      ...server.strategy,
      is_active: false,
      next_run_at: null,
      updated_at: "2025-01-02T09:00:00Z",
    };
    await act(() => queryClient.refetchQueries({ queryKey: strategyKeys.detail(7) }));
    const warning = await screen.findByRole("alert");
    expect(warning).toHaveTextContent(
      "This strategy was changed elsewhere since you opened it — reload before saving.",
    );
    expect(within(warning).getByRole("button", { name: "Reload" })).toBeInTheDocument();
    // What the user typed is kept.
    expect(screen.getByLabelText("Active")).toBeChecked();

    await user.clear(name);
    await user.click(name);
    await user.paste("SPY daily v2");
    await user.click(screen.getByRole("button", { name: "Save changes" }));

    expect(await screen.findByText("Strategy page 7")).toBeInTheDocument();
    const patch = seen.find((r) => r.method === "PATCH")!;
    // Only the name: the stale is_active: true is not sent back.
    expect(await patch.clone().json()).toEqual({ name: "SPY daily v2" });
    expect(server.strategy.is_active).toBe(false);
  });

  it("reloads the form from the strategy changed elsewhere", async () => {
    const server = { strategy: makeStrategy({ id: 7, is_active: true, lookback: 200 }) };
    const seen = stubApi(server);
    const user = userEvent.setup();
    const { queryClient } = renderEdit();
    const lookback = await screen.findByLabelText("Lookback (bars)");
    await user.clear(lookback);
    await user.type(lookback, "250");

    server.strategy = {
      ...server.strategy,
      is_active: false,
      lookback: 300,
      updated_at: "2025-01-02T09:00:00Z",
    };
    await act(() => queryClient.refetchQueries({ queryKey: strategyKeys.detail(7) }));
    await user.click(
      within(await screen.findByRole("alert")).getByRole("button", { name: "Reload" }),
    );

    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.getByLabelText("Active")).not.toBeChecked();
    expect(screen.getByLabelText("Lookback (bars)")).toHaveValue(300);

    // Now the form is diffed against the reloaded values.
    await user.click(screen.getByLabelText("Active"));
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    expect(await screen.findByText("Strategy page 7")).toBeInTheDocument();
    const patch = seen.find((r) => r.method === "PATCH")!;
    expect(await patch.clone().json()).toEqual({ is_active: true });
  });

  it("keeps a saved inactive endpoint selectable and PATCHes null for the operator default", async () => {
    const server = {
      strategy: makeStrategy({ id: 7, llm_endpoint: 5, llm_endpoint_name: "retired" }),
    };
    const seen = stubApi(server);
    const user = userEvent.setup();
    renderEdit();
    const endpoint = await screen.findByLabelText("LLM endpoint");
    await within(endpoint).findByRole("option", { name: "retired (inactive)" });
    expect(endpoint).toHaveValue("5");
    expect(within(endpoint).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "Operator default (LLM_BASE_URL)",
      "openrouter",
      "retired (inactive)",
    ]);

    await user.selectOptions(endpoint, "");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    expect(await screen.findByText("Strategy page 7")).toBeInTheDocument();
    const patch = seen.find((r) => r.method === "PATCH")!;
    expect(await patch.clone().json()).toEqual({ llm_endpoint: null });
  });
});
