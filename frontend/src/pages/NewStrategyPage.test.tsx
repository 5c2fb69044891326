import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useParams } from "react-router";
import { describe, expect, it, vi } from "vitest";
import { makeLlmEndpoint, makePromptTemplate, makeStrategy, makeSymbol } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { NewStrategyPage } from "./NewStrategyPage";

function StrategyStub() {
  return <p>Strategy page {useParams().id}</p>;
}

const routes = (
  <Routes>
    <Route path="/strategies/new" element={<NewStrategyPage />} />
    <Route path="/strategies/:id" element={<StrategyStub />} />
  </Routes>
);

const page = <T,>(results: T[]) => ({ count: results.length, next: null, previous: null, results });

/** The reference data the form lists, and `onPost` for the create request. */
function stubApi(onPost: (req: Request) => Response | Promise<Response>) {
  const seen: Request[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(
      mockFetch((url, req) => {
        seen.push(req);
        if (url.pathname === "/api/v1/symbols/")
          return jsonResponse(
            page([
              makeSymbol({ id: 1, symbol: "SPY", exchange: "SMART", currency: "USD" }),
              makeSymbol({ id: 2, symbol: "EUR", exchange: "IDEALPRO", currency: "USD", sec_type: "CASH" }),
            ]),
          );
        if (url.pathname === "/api/v1/prompt-templates/")
          return jsonResponse(
            page([
              makePromptTemplate({ id: 11, name: "swing", version: 2 }),
              makePromptTemplate({ id: 10, name: "swing", version: 1 }),
              makePromptTemplate({ id: 12, name: "trend", version: 1 }),
            ]),
          );
        if (url.pathname === "/api/v1/llm-endpoints/")
          return jsonResponse(
            page([
              makeLlmEndpoint({ id: 3, name: "openrouter" }),
              makeLlmEndpoint({
                id: 4,
                name: "my vllm",
                owner: 1,
                base_url: "https://vllm.example.com/v1",
                has_api_key: false,
                offered_models: ["llama-3.1-8b", "qwen2.5-7b"],
              }),
              makeLlmEndpoint({ id: 5, name: "retired", is_active: false }),
            ]),
          );
        if (url.pathname === "/api/v1/strategies/" && req.method === "POST") return onPost(req);
        return undefined;
      }),
    ),
  );
  return seen;
}

/** Type a whole value at once: the form is large, and key-by-key typing is slow in jsdom. */
async function fill(user: ReturnType<typeof userEvent.setup>, label: string, text: string) {
  const input = screen.getByLabelText(label);
  await user.clear(input);
  await user.click(input);
  await user.paste(text);
}

/** Pick SPY and swing v2 once they are listed (a new strategy starts with neither). */
async function chooseSymbolAndTemplate(user: ReturnType<typeof userEvent.setup>) {
  const symbol = screen.getByLabelText("Symbol");
  await within(symbol).findByRole("option", { name: /SPY/ });
  await user.selectOptions(symbol, "1");
  const template = screen.getByLabelText("Prompt template");
  await within(template).findByRole("option", { name: "swing v2" });
  await user.selectOptions(template, "11");
}

// A large form under jsdom: allow more than the default 5 s when the machine is busy.
describe("NewStrategyPage", { timeout: 20_000 }, () => {
  it("POSTs the form with the model's defaults and opens the new strategy", async () => {
    document.cookie = "csrftoken=tok789";
    const seen = stubApi(() => jsonResponse(makeStrategy({ id: 99 }), 201));
    const user = userEvent.setup();
    renderWithProviders(routes, { route: "/strategies/new" });

    // Latest version per name by default, symbols with exchange and currency.
    const template = screen.getByLabelText("Prompt template");
    expect(await within(template).findByRole("option", { name: "swing v2" })).toBeInTheDocument();
    expect(within(template).getByRole("option", { name: "trend v1" })).toBeInTheDocument();
    expect(within(template).queryByRole("option", { name: /swing v1/ })).toBeNull();
    const symbol = screen.getByLabelText("Symbol");
    expect(
      await within(symbol).findByRole("option", { name: "EUR · IDEALPRO · USD (CASH)" }),
    ).toBeInTheDocument();

    await fill(user, "Name", "My EUR swing");
    expect(screen.getByLabelText("Slug")).toHaveValue("my-eur-swing");
    await user.selectOptions(symbol, "2");
    await user.selectOptions(template, "11");
    await user.selectOptions(screen.getByLabelText("Bar size"), "1 hour");
    await user.click(screen.getByRole("button", { name: "MACD" }));
    await fill(user, "Schedule (cron)", "5 * * * 1-5");
    await user.click(screen.getByRole("button", { name: "Create strategy" }));

    expect(await screen.findByText("Strategy page 99")).toBeInTheDocument();
    const post = seen.find((r) => r.method === "POST")!;
    expect(post.headers.get("X-CSRFToken")).toBe("tok789");
    expect(await post.clone().json()).toEqual({
      name: "My EUR swing",
      slug: "my-eur-swing",
      symbol: 2,
      bar_size: "1 hour",
      lookback: 200,
      indicators: [
        { name: "RSI", params: { timeperiod: 14 } },
        { name: "MACD", params: { fastperiod: 12, slowperiod: 26, signalperiod: 9 } },
      ],
      prompt_template: 11,
      analyst: "baseline",
      llm_model: "",
      llm_temperature: 0,
      llm_max_tokens: 800,
      llm_endpoint: null,
      llm_timeout_s: null,
      llm_accepts_images: true,
      llm_response_format: "auto",
      llm_fallback_model: "",
      schedule_cron: "5 * * * 1-5",
      schedule_timezone: "UTC",
      is_active: true,
      catch_up: "latest",
      skip_closed_market: false,
      capital: "100000",
      risk_per_trade_pct: "1",
      max_position_quantity: "1000",
      max_order_notional: "50000",
      min_confidence: "0.6",
      min_reward_risk: "1.5",
      max_entry_deviation_pct: "2",
      order_type: "LMT",
      time_in_force: "DAY",
      trading_mode: "paper",
      approval: "auto",
      daily_loss_limit: null,
      max_drawdown_pct: null,
      max_failed_runs: null,
      llm_budget_daily_usd: null,
      llm_budget_monthly_usd: null,
    });
  });

  it("shows a 400's messages beside their fields and non-field errors on top", async () => {
    stubApi(() =>
      jsonResponse(
        {
          schedule_cron: ["invalid cron expression '61 * * * *'"],
          indicators: ["unknown TA-Lib function 'FOO'"],
          non_field_errors: ["Something about the whole strategy."],
        },
        400,
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(routes, { route: "/strategies/new" });
    await chooseSymbolAndTemplate(user);
    await fill(user, "Name", "Bad one");
    await user.click(screen.getByRole("button", { name: "Create strategy" }));

    await waitFor(() =>
      expect(screen.getByLabelText("Schedule (cron)")).toHaveAccessibleDescription(
        expect.stringContaining("invalid cron expression '61 * * * *'"),
      ),
    );
    expect(screen.getByLabelText("Schedule (cron)")).toHaveAttribute("aria-invalid", "true");
    const indicators = screen.getByRole("group", { name: "Indicators" });
    expect(within(indicators).getByText("unknown TA-Lib function 'FOO'")).toBeInTheDocument();
    expect(indicators).toHaveAccessibleDescription("unknown TA-Lib function 'FOO'");
    expect(screen.getByRole("alert")).toHaveTextContent("Something about the whole strategy.");
    // Still on the form, with what was typed.
    expect(screen.getByLabelText("Name")).toHaveValue("Bad one");
  });

  it("asks for confirmation before creating a live strategy", async () => {
    const onPost = vi.fn(() => jsonResponse(makeStrategy({ id: 5, trading_mode: "live" }), 201));
    stubApi(onPost);
    const user = userEvent.setup();
    renderWithProviders(routes, { route: "/strategies/new" });
    await chooseSymbolAndTemplate(user);
    await fill(user, "Name", "Live one");
    await user.selectOptions(screen.getByLabelText("Trading mode"), "live");
    expect(screen.getByText(/real orders with real money/)).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Create strategy" }));
    // The message and the focus are on the box to tick, not on the mode select.
    const confirm = screen.getByLabelText(/this strategy will trade real money/);
    expect(confirm).toHaveAccessibleDescription("Tick the box to confirm live trading.");
    expect(confirm).toHaveAttribute("aria-invalid", "true");
    expect(confirm).toHaveAttribute("id", "strategy-live-confirm");
    expect(confirm).toHaveFocus();
    expect(screen.getByLabelText("Trading mode")).not.toHaveAttribute("aria-invalid");
    expect(onPost).not.toHaveBeenCalled();

    await user.click(screen.getByLabelText(/this strategy will trade real money/));
    await user.click(screen.getByRole("button", { name: "Create strategy" }));
    expect(await screen.findByText("Strategy page 5")).toBeInTheDocument();
  });

  it("starts with no symbol and no template chosen, and asks for both", async () => {
    const onPost = vi.fn(() => jsonResponse(makeStrategy({ id: 5 }), 201));
    stubApi(onPost);
    const user = userEvent.setup();
    renderWithProviders(routes, { route: "/strategies/new" });
    const symbol = screen.getByLabelText("Symbol");
    const template = screen.getByLabelText("Prompt template");
    await within(symbol).findByRole("option", { name: /SPY/ });
    await within(template).findByRole("option", { name: "swing v2" });
    // A placeholder, not silently the first one listed.
    expect(symbol).toHaveValue("");
    expect(symbol).toBeRequired();
    expect(within(symbol).getByRole("option", { name: "Choose…" })).toBeDisabled();
    expect(template).toHaveValue("");
    expect(template).toBeRequired();
    expect(within(template).getByRole("option", { name: "Choose…" })).toBeDisabled();

    await fill(user, "Name", "Unfinished");
    await user.click(screen.getByRole("button", { name: "Create strategy" }));
    expect(symbol).toHaveAccessibleDescription(expect.stringContaining("Choose a symbol."));
    expect(template).toHaveAccessibleDescription("Choose a prompt template.");
    expect(symbol).toHaveFocus();
    expect(onPost).not.toHaveBeenCalled();

    // Once chosen, the placeholder goes and the strategy is created with the choices.
    await user.selectOptions(symbol, "2");
    await user.selectOptions(template, "12");
    expect(within(symbol).queryByRole("option", { name: "Choose…" })).toBeNull();
    await user.click(screen.getByRole("button", { name: "Create strategy" }));
    expect(await screen.findByText("Strategy page 5")).toBeInTheDocument();
    expect(onPost).toHaveBeenCalledTimes(1);
    const [request] = onPost.mock.calls[0] as unknown as [Request];
    expect(await request.clone().json()).toMatchObject({ symbol: 2, prompt_template: 12 });
  });

  it("marks the indicators JSON invalid when the API rejects the indicators", async () => {
    stubApi(() => jsonResponse({ indicators: ["unknown TA-Lib function 'FOO'"] }, 400));
    const user = userEvent.setup();
    renderWithProviders(routes, { route: "/strategies/new" });
    await chooseSymbolAndTemplate(user);
    await fill(user, "Name", "JSON one");
    await user.click(screen.getByRole("button", { name: "Edit as JSON" }));
    const json = screen.getByLabelText("Indicators (JSON)");
    expect(json).not.toHaveAttribute("aria-invalid");
    await user.click(screen.getByRole("button", { name: "Create strategy" }));
    await waitFor(() => expect(json).toHaveAttribute("aria-invalid", "true"));
    expect(json).toHaveAccessibleDescription(
      expect.stringContaining("unknown TA-Lib function 'FOO'"),
    );
    expect(json).toHaveFocus();
  });

  it("lists the active LLM endpoints, offers the chosen one's models and sends its id", async () => {
    const onPost = vi.fn(() => jsonResponse(makeStrategy({ id: 6 }), 201));
    stubApi(onPost);
    const user = userEvent.setup();
    renderWithProviders(routes, { route: "/strategies/new" });
    await chooseSymbolAndTemplate(user);
    await fill(user, "Name", "Own endpoint");
    await user.click(screen.getByText("Model settings"));

    const endpoint = screen.getByLabelText("LLM endpoint");
    await within(endpoint).findByRole("option", { name: "my vllm" });
    // The operator default first (and chosen), then the active endpoints only.
    expect(within(endpoint).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "Operator default (LLM_BASE_URL)",
      "openrouter",
      "my vllm",
    ]);
    expect(endpoint).toHaveValue("");
    const model = screen.getByLabelText("Model");
    expect(model).not.toHaveAttribute("list");

    await user.selectOptions(endpoint, "4");
    expect(endpoint).toHaveAccessibleDescription(
      "https://vllm.example.com/v1 (no API key stored)",
    );
    const listId = model.getAttribute("list")!;
    const offered = document.getElementById(listId)!;
    expect([...offered.querySelectorAll("option")].map((o) => o.value)).toEqual([
      "llama-3.1-8b",
      "qwen2.5-7b",
    ]);
    await fill(user, "Model", "qwen2.5-7b");
    await user.click(screen.getByRole("button", { name: "Create strategy" }));

    expect(await screen.findByText("Strategy page 6")).toBeInTheDocument();
    const [request] = onPost.mock.calls[0] as unknown as [Request];
    expect(await request.clone().json()).toMatchObject({
      llm_endpoint: 4,
      llm_model: "qwen2.5-7b",
    });
  });

  it("shows the API's message on the endpoint beside the select, in opened model settings", async () => {
    stubApi(() =>
      jsonResponse({ llm_endpoint: ["this LLM endpoint is inactive; choose another"] }, 400),
    );
    const user = userEvent.setup();
    renderWithProviders(routes, { route: "/strategies/new" });
    await chooseSymbolAndTemplate(user);
    await fill(user, "Name", "Endpoint error");
    await user.click(screen.getByRole("button", { name: "Create strategy" }));

    const endpoint = screen.getByLabelText("LLM endpoint");
    await waitFor(() => expect(endpoint).toHaveAttribute("aria-invalid", "true"));
    expect(endpoint).toHaveAccessibleDescription(
      expect.stringContaining("this LLM endpoint is inactive; choose another"),
    );
    expect(endpoint.closest("details")).toHaveAttribute("open");
  });
});
