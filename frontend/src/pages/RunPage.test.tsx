import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { makeRun, makeStep } from "../test/fixtures";
import { RunPage } from "./RunPage";

const run = makeRun({
  status: "failed",
  error_message: "LLM timed out",
  current_step: "llm",
  steps: [
    makeStep({ id: 1, name: "data", sequence: 1 }),
    makeStep({ id: 2, name: "indicators", sequence: 2 }),
    makeStep({
      id: 3,
      name: "charts",
      sequence: 3,
      artifacts: [],
    }),
    makeStep({
      id: 4,
      name: "llm",
      sequence: 4,
      status: "failed",
      error_type: "LlmTimeout",
      error_message: "no answer in 60 s",
      artifacts: [
        {
          id: 77,
          kind: "prompt",
          content_type: "text/plain",
          size_bytes: 20,
          created_at: "2025-01-02T10:00:05Z",
          url: "http://localhost/api/v1/artifacts/77/",
        },
      ],
    }),
  ],
  llm_calls: [
    {
      id: 1,
      model: "gpt-test",
      response_format: "json_schema",
      prompt_tokens: 1200,
      completion_tokens: 0,
      latency_ms: 60000,
      attempts: 2,
      attempt_log: [
        { attempt: 1, model: "gpt-test", mode: "json_schema", status: 429, duration_ms: 12 },
        { attempt: 2, model: "gpt-test", mode: "json_schema", error: "timeout", duration_ms: 59000 },
      ],
      finish_reason: "length",
      cost_usd: "0.0042",
      succeeded: false,
      error: "timeout",
      created_at: "2025-01-02T10:00:05Z",
    },
  ],
});

describe("RunPage (lineage viewer)", () => {
  it("shows loading, then the run's lineage from the API", async () => {
    const fetch = vi.fn(
      mockFetch((url) => {
        if (url.pathname === "/api/v1/runs/42/") return jsonResponse(run);
        if (url.pathname === "/api/v1/artifacts/77/")
          return new Response("Analyse SPY daily bars", { headers: { "Content-Type": "text/plain" } });
        return undefined;
      }),
    );
    vi.stubGlobal("fetch", fetch);
    renderWithProviders(<RunPage />, { route: "/runs/42", path: "/runs/:id" });

    expect(screen.getByText("Loading run…")).toBeInTheDocument();
    expect(await screen.findByRole("heading", { name: /Run #42/ })).toBeInTheDocument();

    expect(screen.getByText(/Run failed in llm/).closest(".step-error")).toHaveTextContent(
      "Run failed in llm: LLM timed out",
    );
    const llm = screen.getByTestId("step-llm");
    expect(within(llm).getByRole("alert")).toHaveTextContent("LlmTimeout: no answer in 60 s");
    expect(within(screen.getByTestId("step-signal")).getByText("skipped")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "SPY daily" })).toHaveAttribute("href", "/strategies/7");

    // The prompt artifact is fetched and shown as text; the chart has none.
    expect(await screen.findByText("Analyse SPY daily bars")).toBeInTheDocument();
    expect(screen.getByText(/No chart for this run/)).toBeInTheDocument();
    expect(screen.getByText("No raw answer.")).toBeInTheDocument();
    expect(screen.getByText("gpt-test")).toBeInTheDocument();
    expect(screen.getByText("$0.0042")).toBeInTheDocument();
    // each attempt with its status or error and duration; a length finish says it was cut
    expect(screen.getByText(/1: 429 · .*, 2: timeout · /)).toBeInTheDocument();
    expect(screen.getByText("cut at max_tokens")).toBeInTheDocument();
    expect(screen.getByText("No signal.")).toBeInTheDocument();

    const urls = fetch.mock.calls.map(([req]) => new URL((req as Request).url).pathname);
    expect(urls).toContain("/api/v1/runs/42/");
    expect(urls).toContain("/api/v1/artifacts/77/");
  });

  it("shows the API error (with a Sign in link on 401/403)", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch(() =>
          jsonResponse({ detail: "Authentication credentials were not provided." }, 401),
        ),
      ),
    );
    renderWithProviders(<RunPage />, { route: "/runs/42", path: "/runs/:id" });
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load the run");
    expect(alert).toHaveTextContent("Authentication credentials were not provided.");
    expect(within(alert).getByRole("link", { name: "Sign in" })).toHaveAttribute(
      "href",
      "/login?next=%2Fruns%2F42",
    );
  });

  it("polls every 2 s while the run is pending or running", async () => {
    let calls = 0;
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          if (url.pathname !== "/api/v1/runs/42/") return undefined;
          calls += 1;
          return jsonResponse(
            calls === 1
              ? makeRun({ status: "running", steps: [], finished_at: null })
              : makeRun({ status: "succeeded" }),
          );
        }),
      ),
    );
    renderWithProviders(<RunPage />, { route: "/runs/42", path: "/runs/:id" });
    expect(await screen.findByText(/refreshing every 2 s/)).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByText(/refreshing every 2 s/)).toBeNull(), {
      timeout: 4000,
    });
    expect(calls).toBe(2);
  });
});
