import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import { describe, expect, it, vi } from "vitest";
import { makeBacktest } from "../test/backtestFixtures";
import { makePromptTemplate, makeStrategy } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { errorLines, NewBacktestPage } from "./NewBacktestPage";

const page = (results: unknown[]) => ({ count: results.length, next: null, previous: null, results });

describe("NewBacktestPage", () => {
  it("estimates, is refused above the limit, starts anyway and opens the backtest", async () => {
    document.cookie = "csrftoken=tok123";
    const bodies: Record<string, unknown>[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch(async (url, req) => {
          if (url.pathname === "/api/v1/strategies/")
            return jsonResponse(page([makeStrategy({ id: 3, name: "GOOG swing", slug: "goog-swing", prompt_template: 9 })]));
          if (url.pathname === "/api/v1/prompt-templates/9/")
            return jsonResponse(makePromptTemplate({ id: 9, name: "swing", version: 1 }));
          if (url.pathname === "/api/v1/prompt-templates/")
            return jsonResponse(
              page([
                makePromptTemplate({ id: 12, name: "swing", version: 2 }),
                makePromptTemplate({ id: 9, name: "swing", version: 1 }),
              ]),
            );
          if (req.method === "POST") {
            const body = (await req.json()) as Record<string, unknown>;
            bodies.push(body);
            if (url.pathname === "/api/v1/backtests/estimate/")
              return jsonResponse({ estimate_usd: "2.500000", slots: 87, variants: 2 });
            if (url.pathname === "/api/v1/backtests/") {
              if (!body.confirm)
                return jsonResponse(
                  {
                    detail: "above",
                    code: "BacktestCostAboveLimit",
                    estimate_usd: "2.500000",
                    max_cost_usd: "1",
                  },
                  400,
                );
              return jsonResponse(makeBacktest({ id: 42 }), 201);
            }
          }
          return jsonResponse({ detail: "Not found." }, 404);
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(
      <Routes>
        <Route path="/backtests/new" element={<NewBacktestPage />} />
        <Route path="/backtests/:id" element={<p>backtest page</p>} />
      </Routes>,
      { route: "/backtests/new?strategy=3" },
    );

    await screen.findByRole("option", { name: "GOOG swing (goog-swing)" }, { timeout: 5000 });
    expect(screen.getByLabelText("Strategy")).toHaveValue("3");
    await user.type(screen.getByLabelText("Start (UTC date)"), "2012-03-01");
    await user.type(screen.getByLabelText("End (UTC date, included)"), "2012-06-30");
    await user.selectOptions(screen.getByLabelText("LLM answer cache"), "use");
    await user.type(screen.getByLabelText("Max LLM cost (USD)"), "1");
    const anonymise = screen.getByRole("checkbox", { name: "Anonymise (leakage guard)" });
    expect(anonymise).not.toBeChecked();
    await user.click(anonymise);
    await user.click(screen.getByRole("button", { name: "Add variant" }));
    const second = screen.getByRole("group", { name: "Variant 2" });
    await user.type(second.querySelector("input[id$='-label']")!, "v2 prompt");
    await user.type(second.querySelector("input[id$='-model']")!, "gpt-4o");
    await screen.findAllByRole("option", { name: "v2" }, { timeout: 5000 });
    await user.selectOptions(second.querySelector("select[id$='-prompt']")!, "2");

    await user.click(screen.getByRole("button", { name: "Estimate cost" }));
    expect(await screen.findByTestId("estimate")).toHaveTextContent(
      "Estimated LLM cost: $2.50 for 87 slots × 2 variant(s)",
    );
    await user.click(screen.getByRole("button", { name: "Start backtest" }));
    await user.click(await screen.findByRole("button", { name: "Start anyway" }));
    expect(await screen.findByText("backtest page")).toBeInTheDocument();

    expect(bodies).toHaveLength(3);
    expect(bodies[1]).toEqual({
      strategy: "3",
      start: "2012-03-01",
      end: "2012-06-30",
      llm_cache: "use",
      anonymise: true,
      confirm: false,
      max_cost: "1",
      variants: [
        { label: "base", llm_model: "", analyst: "" },
        { label: "v2 prompt", llm_model: "gpt-4o", prompt_version: 2, analyst: "" },
      ],
    });
    expect(bodies[2]!.confirm).toBe(true);
  });

  it("shows the API's field errors, a variant's by its number", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          if (url.pathname === "/api/v1/strategies/")
            return jsonResponse(page([makeStrategy({ id: 3, prompt_template: 9 })]));
          if (url.pathname === "/api/v1/backtests/" && req.method === "POST")
            return jsonResponse(
              {
                end: ["The window ends before it starts."],
                variants: [{ prompt_version: ["No version 9 of prompt 'swing'."] }],
              },
              400,
            );
          return jsonResponse({ detail: "Not found." }, 404);
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(<NewBacktestPage />, { route: "/backtests/new?strategy=3" });
    await screen.findByRole("option", { name: "SPY daily (spy-daily)" }, { timeout: 5000 });
    await user.type(screen.getByLabelText("Start (UTC date)"), "2012-03-09");
    await user.type(screen.getByLabelText("End (UTC date, included)"), "2012-03-01");
    await user.click(screen.getByRole("button", { name: "Start backtest" }));
    const errors = await screen.findByRole("alert", { name: "Errors" });
    await waitFor(() =>
      expect(errors).toHaveTextContent("end: The window ends before it starts."),
    );
    expect(errors).toHaveTextContent("variant 1, prompt_version: No version 9 of prompt 'swing'.");
  });

  it("turns an error body into lines", () => {
    expect(errorLines({ strategy: ["No such strategy."], variants: ["bad", {}] })).toEqual([
      "strategy: No such strategy.",
      "variants: bad",
    ]);
  });
});
