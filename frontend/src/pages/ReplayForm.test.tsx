import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import { describe, expect, it, vi } from "vitest";
import type { Figure } from "../components/lineage/ChartView/PlotlyFigure";
import { makeBacktest, makeBacktestVariant, makeReport, makeSeries } from "../test/backtestFixtures";
import { makeLlmEndpoint, makePromptTemplate, makeStrategy } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { BacktestPage } from "./BacktestPage";
import { NewReplayPage } from "./NewReplayPage";

vi.mock("../components/lineage/ChartView/PlotlyFigure", () => ({
  default: ({ figure }: { figure: Figure }) => (
    <pre data-testid="plotly-figure">{JSON.stringify(figure)}</pre>
  ),
}));

const page = (results: unknown[]) => ({ count: results.length, next: null, previous: null, results });

const SOURCE = makeBacktest({
  id: 7,
  status: "done",
  can_cancel: false,
  variants: [
    makeBacktestVariant({ position: 1, label: "base", status: "done" }),
    makeBacktestVariant({ id: 12, position: 2, label: "v2 prompt", status: "done" }),
  ],
});
const REPLAY = makeBacktest({
  id: 42,
  kind: "replay",
  source_variant: 12,
  source_backtest: 7,
  source_variant_label: "v2 prompt",
  variants: [makeBacktestVariant({ label: "original", recorded_answers: true })],
});

/**
 * The API the backtest page and its replay form talk to; a replay is refused above the cost
 * limit until confirmed. POST bodies are collected in `bodies` as [path, body].
 */
function stubApi(bodies: [string, Record<string, unknown>][]) {
  vi.stubGlobal(
    "fetch",
    vi.fn(
      mockFetch(async (url, req) => {
        const path = url.pathname;
        if (req.method === "POST") {
          const body = (await req.json()) as Record<string, unknown>;
          bodies.push([path, body]);
          if (path === "/api/v1/backtests/replays/estimate/")
            return jsonResponse({
              estimate_usd: "1.250000",
              sources: 5,
              variants: 2,
              start: "2012-03-01T00:00:00Z",
              end: "2012-06-30T23:59:59.999999Z",
            });
          if (path === "/api/v1/backtests/replays/") {
            if (!body.confirm)
              return jsonResponse(
                { detail: "above", code: "BacktestCostAboveLimit", estimate_usd: "1.250000", max_cost_usd: "1" },
                400,
              );
            return jsonResponse(REPLAY, 201);
          }
        }
        if (path === "/api/v1/backtests/7/") return jsonResponse(SOURCE);
        if (path === "/api/v1/backtests/42/") return jsonResponse(REPLAY);
        if (/^\/api\/v1\/backtests\/\d+\/report\/$/.test(path)) return jsonResponse(makeReport());
        if (/^\/api\/v1\/backtests\/\d+\/series\/$/.test(path)) return jsonResponse(makeSeries());
        if (path.includes("/trades/"))
          return jsonResponse({ backtest: 7, variant: 1, label: "base", currency: "USD", trades: [] });
        if (path === "/api/v1/strategies/3/" || path === "/api/v1/strategies/")
          return path.endsWith("3/")
            ? jsonResponse(makeStrategy({ id: 3, name: "GOOG swing", slug: "goog-swing", prompt_template: 9 }))
            : jsonResponse(page([makeStrategy({ id: 3, name: "GOOG swing", slug: "goog-swing", prompt_template: 9 })]));
        if (path === "/api/v1/prompt-templates/9/")
          return jsonResponse(makePromptTemplate({ id: 9, name: "swing", version: 1 }));
        if (path === "/api/v1/prompt-templates/")
          return jsonResponse(page([makePromptTemplate({ id: 12, name: "swing", version: 2 })]));
        if (path === "/api/v1/llm-endpoints/")
          return jsonResponse(
            page([makeLlmEndpoint({ id: 5, name: "local" }), makeLlmEndpoint({ id: 6, name: "mine", owner: 1 })]),
          );
        return jsonResponse({ detail: "Not found." }, 404);
      }),
    ),
  );
}

describe("replay form", () => {
  it("replays a backtest's variant with another endpoint, confirms the cost and opens the replay", async () => {
    document.cookie = "csrftoken=tok123";
    const bodies: [string, Record<string, unknown>][] = [];
    stubApi(bodies);
    const user = userEvent.setup();
    renderWithProviders(
      <Routes>
        <Route path="/backtests/:id" element={<BacktestPage />} />
      </Routes>,
      { route: "/backtests/7" },
    );

    await user.click(await screen.findByRole("button", { name: "Replay with…" }, { timeout: 5000 }));
    const form = screen.getByRole("form", { name: "New replay" });
    await user.selectOptions(within(form).getByLabelText("Runs of variant"), "2");
    await user.type(within(form).getByLabelText("Max LLM cost (USD)"), "1");
    const variant = within(form).getByRole("group", { name: "Replay variant 2" });
    await user.type(within(variant).getByLabelText("Model"), "model-b");
    await within(variant).findByRole("option", { name: "mine (yours)" }, { timeout: 5000 });
    await user.selectOptions(within(variant).getByLabelText("LLM endpoint"), "6");
    await within(variant).findByRole("option", { name: "v2" }, { timeout: 5000 });
    await user.selectOptions(within(variant).getByLabelText("Prompt version"), "2");

    await user.click(within(form).getByRole("button", { name: "Estimate cost" }));
    expect(await screen.findByTestId("replay-estimate")).toHaveTextContent(
      "Estimated LLM cost: $1.25 for 5 source runs × 2 variant(s)",
    );
    await user.click(within(form).getByRole("button", { name: "Start replay" }));
    await user.click(await screen.findByRole("button", { name: "Start anyway" }));

    // the new replay's page, without the form
    expect(await screen.findByRole("heading", { level: 1, name: /Replay #42/ })).toBeInTheDocument();
    expect(screen.queryByRole("form", { name: "New replay" })).not.toBeInTheDocument();
    expect(bodies.map(([path]) => path)).toEqual([
      "/api/v1/backtests/replays/estimate/",
      "/api/v1/backtests/replays/",
      "/api/v1/backtests/replays/",
    ]);
    expect(bodies[1]![1]).toEqual({
      source_backtest: 7,
      source_position: 2,
      llm_cache: "off",
      confirm: false,
      max_cost: "1",
      variants: [{ label: "", llm_model: "model-b", prompt_version: 2, endpoint: "6", analyst: "" }],
    });
    expect(bodies[2]![1].confirm).toBe(true);
  });

  it("replays a strategy's runs over a window and numbers a variant's errors after the original", async () => {
    const bodies: [string, Record<string, unknown>][] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch(async (url, req) => {
          if (url.pathname === "/api/v1/backtests/replays/" && req.method === "POST") {
            bodies.push([url.pathname, (await req.json()) as Record<string, unknown>]);
            return jsonResponse(
              { variants: [{}, { endpoint: ["No LLM endpoint 'x' usable by the strategy's owner."] }] },
              400,
            );
          }
          if (url.pathname === "/api/v1/strategies/")
            return jsonResponse(page([makeStrategy({ id: 3, name: "GOOG swing", slug: "goog-swing", prompt_template: 9 })]));
          if (url.pathname === "/api/v1/llm-endpoints/") return jsonResponse(page([]));
          return jsonResponse({ detail: "Not found." }, 404);
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(
      <Routes>
        <Route path="/backtests/replay" element={<NewReplayPage />} />
      </Routes>,
      { route: "/backtests/replay?strategy=3" },
    );

    await screen.findByRole("option", { name: "GOOG swing (goog-swing)" }, { timeout: 5000 });
    expect(screen.getByLabelText("Strategy")).toHaveValue("3");
    const estimate = screen.getByRole("button", { name: "Estimate cost" });
    expect(estimate).toBeDisabled(); // no window yet
    await user.type(screen.getByLabelText("Start (UTC date)"), "2012-03-01");
    await user.type(screen.getByLabelText("End (UTC date, included)"), "2012-06-30");
    expect(estimate).toBeEnabled();
    await user.click(screen.getByRole("button", { name: "Add variant" }));
    await user.type(screen.getByLabelText("Label", { selector: "#rp-v2-label" }), "second");
    await user.click(screen.getByRole("button", { name: "Start replay" }));

    const errors = await screen.findByRole("alert", { name: "Errors" });
    expect(errors).toHaveTextContent("variant 3, endpoint: No LLM endpoint 'x' usable by the strategy's owner.");
    expect(bodies).toHaveLength(1);
    expect(bodies[0]![1]).toMatchObject({
      strategy: "3",
      start: "2012-03-01",
      end: "2012-06-30",
      source_position: 1,
      confirm: false,
      variants: [
        { label: "", llm_model: "", endpoint: "", analyst: "" },
        { label: "second", llm_model: "", endpoint: "", analyst: "" },
      ],
    });
    expect(bodies[0]![1]).not.toHaveProperty("source_backtest");
  });
});
