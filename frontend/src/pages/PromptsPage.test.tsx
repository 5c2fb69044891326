import { EditorView } from "@codemirror/view";
import { act, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useParams } from "react-router";
import { describe, expect, it, vi } from "vitest";
import "../components/prompts/JinjaEditor/jsdomRanges";
import { makePromptPerformance, makePromptScore, makePromptTemplate } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { PromptsPage } from "./PromptsPage";

const page = (results: unknown[], next: string | null = null) =>
  jsonResponse({ count: results.length, next, previous: null, results });

describe("PromptsPage", () => {
  it("shows loading, then a row per template: latest version, count, score", async () => {
    const seen: URL[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          seen.push(url);
          if (url.pathname === "/api/v1/prompt-templates/scores/")
            return jsonResponse([
              makePromptScore({
                template_id: 3,
                template_version: 2,
                win_rate: 0.6,
                avg_r_multiple: -0.5,
              }),
              makePromptScore({ template_id: 2, template_version: 1 }),
            ]);
          if (url.pathname === "/api/v1/prompt-templates/") {
            // Two pages: the list walks them all.
            if (url.searchParams.get("page") === "2")
              return page([makePromptTemplate({ id: 2, version: 1 })]);
            return page(
              [
                makePromptTemplate({ id: 9, name: "alpha", version: 1 }),
                makePromptTemplate({ id: 4, version: 3, created_at: "2025-02-01T09:00:00Z" }),
                makePromptTemplate({ id: 3, version: 2 }),
              ],
              "http://localhost/api/v1/prompt-templates/?page=2&page_size=200",
            );
          }
          return undefined;
        }),
      ),
    );
    renderWithProviders(<PromptsPage />);
    expect(
      screen.getAllByRole("status").find((s) => s.textContent?.includes("Loading templates…")),
    ).toBeDefined();

    const swing = await screen.findByTestId("template-row-swing");
    expect(within(swing).getByRole("link", { name: "swing" })).toHaveAttribute(
      "href",
      "/prompts/swing",
    );
    const cell = (row: HTMLElement, label: string) =>
      row.querySelector(`td[data-label="${label}"]`)!.textContent;
    expect(cell(swing, "Latest")).toBe("v3");
    expect(cell(swing, "Versions")).toBe("3");
    // The newest scored version (v2; v3 has no score yet).
    expect(cell(swing, "Scored version")).toBe("v2");
    expect(cell(swing, "Win rate")).toBe("60%");
    expect(cell(swing, "Avg R")).toBe("−0.50 R");

    const alpha = screen.getByTestId("template-row-alpha");
    expect(cell(alpha, "Latest")).toBe("v1");
    expect(cell(alpha, "Versions")).toBe("1");
    expect(cell(alpha, "Scored version")).toBe("—");

    const pages = seen
      .filter((u) => u.pathname === "/api/v1/prompt-templates/")
      .map((u) => u.searchParams.get("page"));
    expect(pages).toEqual(["1", "2"]);
  });

  it("shows the empty state when there are no templates", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) => {
          if (url.pathname === "/api/v1/prompt-templates/scores/") return jsonResponse([]);
          if (url.pathname === "/api/v1/prompt-templates/") return page([]);
          if (url.pathname === "/api/v1/performance/prompts/") return jsonResponse([]);
          return undefined;
        }),
      ),
    );
    renderWithProviders(<PromptsPage />);
    expect(await screen.findByText("No prompt templates yet.")).toBeInTheDocument();
    expect(await screen.findByText("No positions opened by a prompt yet.")).toBeInTheDocument();
    expect(screen.queryByRole("table")).toBeNull();
  });

  it("shows the API error state", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch(() =>
          jsonResponse({ detail: "Authentication credentials were not provided." }, 401),
        ),
      ),
    );
    renderWithProviders(<PromptsPage />);
    const alerts = await screen.findAllByRole("alert");
    const list = alerts.find((a) => a.textContent?.includes("Could not load prompt templates"))!;
    expect(list).toHaveTextContent("Authentication credentials were not provided.");
    expect(screen.queryByRole("table")).toBeNull();
  });

  describe("New template", () => {
    function TemplateStub() {
      return <p>Template page {useParams().name}</p>;
    }
    const routes = (
      <Routes>
        <Route path="/prompts" element={<PromptsPage />} />
        <Route path="/prompts/:name" element={<TemplateStub />} />
      </Routes>
    );

    /** One template, "swing"; POST answers `onPost`. */
    function stubApi(onPost: (body: { name: string; body: string }) => Response) {
      const posts: { body: unknown; csrf: string | null }[] = [];
      vi.stubGlobal(
        "fetch",
        vi.fn(
          mockFetch(async (url, req): Promise<Response> => {
            if (url.pathname === "/api/v1/prompt-templates/scores/") return jsonResponse([]);
            if (url.pathname === "/api/v1/prompt-templates/" && req.method === "GET")
              return page([makePromptTemplate({ id: 1, name: "swing" })]);
            if (url.pathname === "/api/v1/prompt-templates/" && req.method === "POST") {
              const body = (await req.clone().json()) as { name: string; body: string };
              posts.push({ body, csrf: req.headers.get("X-CSRFToken") });
              return onPost(body);
            }
            return jsonResponse({ detail: "Not found." }, 404);
          }),
        ),
      );
      return posts;
    }

    /** Types into the (lazily loaded) CodeMirror editor through its view. */
    async function setBody(text: string) {
      const box = await screen.findByRole("textbox", { name: "Template body" });
      const view = EditorView.findFromDOM(box)!;
      act(() => {
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
      });
    }

    it("creates version 1 of a new name, then opens it", async () => {
      document.cookie = "csrftoken=toknew";
      const posts = stubApi((body) =>
        jsonResponse(makePromptTemplate({ id: 9, version: 1, ...body }), 201),
      );
      const user = userEvent.setup();
      renderWithProviders(routes, { route: "/prompts" });
      await screen.findByTestId("template-row-swing");

      await user.click(screen.getByRole("button", { name: "New template" }));
      const form = screen.getByRole("form", { name: "New template" });
      await user.type(within(form).getByLabelText("Name"), "breakout");
      await setBody("{{ symbol.symbol }} broke out?\n");
      await user.click(within(form).getByRole("button", { name: "Create template" }));

      expect(await screen.findByText("Template page breakout")).toBeInTheDocument();
      expect(posts).toEqual([
        { body: { name: "breakout", body: "{{ symbol.symbol }} broke out?\n" }, csrf: "toknew" },
      ]);
    });

    it("shows the API's field errors beside their fields", async () => {
      const posts = stubApi(() =>
        jsonResponse(
          {
            name: ["Use letters, digits, - and _ only."],
            body: ["TemplateSyntaxError: unexpected '}'"],
          },
          400,
        ),
      );
      const user = userEvent.setup();
      renderWithProviders(routes, { route: "/prompts" });
      await screen.findByTestId("template-row-swing");
      await user.click(screen.getByRole("button", { name: "New template" }));
      const form = screen.getByRole("form", { name: "New template" });
      const name = within(form).getByLabelText("Name");
      await user.type(name, "bad name");
      await setBody("{{ oops }");
      await user.click(within(form).getByRole("button", { name: "Create template" }));

      expect(await within(form).findByText("Use letters, digits, - and _ only.")).toBeInTheDocument();
      expect(name).toHaveAttribute("aria-invalid", "true");
      expect(name).toHaveAccessibleDescription(
        expect.stringContaining("Use letters, digits, - and _ only."),
      );
      const body = screen.getByRole("textbox", { name: "Template body" });
      expect(body).toHaveAttribute("aria-invalid", "true");
      expect(body).toHaveAccessibleDescription(
        expect.stringContaining("TemplateSyntaxError: unexpected '}'"),
      );
      expect(posts).toHaveLength(1);
      // Still on the list, with what was typed.
      expect(name).toHaveValue("bad name");
    });

    it("refuses a name that is taken (it would add a version there), linking to it", async () => {
      const posts = stubApi(() => jsonResponse({}, 500));
      const user = userEvent.setup();
      renderWithProviders(routes, { route: "/prompts" });
      await screen.findByTestId("template-row-swing");
      await user.click(screen.getByRole("button", { name: "New template" }));
      const form = screen.getByRole("form", { name: "New template" });
      await user.type(within(form).getByLabelText("Name"), "swing");
      await user.click(within(form).getByRole("button", { name: "Create template" }));

      expect(within(form).getByLabelText("Name")).toHaveAccessibleDescription(
        expect.stringContaining("A template with this name exists"),
      );
      expect(within(form).getByRole("link", { name: "Open swing" })).toHaveAttribute(
        "href",
        "/prompts/swing",
      );
      expect(within(form).getByText("The body cannot be empty.")).toBeInTheDocument();
      expect(posts).toEqual([]);

      // Cancel closes the form.
      await user.click(within(form).getByRole("button", { name: "Cancel" }));
      expect(screen.queryByRole("form", { name: "New template" })).toBeNull();
    });
  });

  describe("Prompt performance", () => {
    function stub(performance: () => Response) {
      vi.stubGlobal(
        "fetch",
        vi.fn(
          mockFetch((url) => {
            if (url.pathname === "/api/v1/prompt-templates/scores/") return jsonResponse([]);
            if (url.pathname === "/api/v1/prompt-templates/")
              return page([makePromptTemplate({ id: 3, version: 2 })]);
            if (url.pathname === "/api/v1/performance/prompts/") return performance();
            return undefined;
          }),
        ),
      );
    }
    const cell = (row: HTMLElement, label: string) =>
      row.querySelector(`td[data-label="${label}"]`)!.textContent;

    it("shows a row per prompt version, model and currency, currencies kept apart", async () => {
      stub(() =>
        jsonResponse([
          makePromptPerformance({ currency: "EUR", realized_pnl: "-20.0000", trades: 1 }),
          makePromptPerformance({ currency: "USD" }),
          makePromptPerformance({
            llm_model: "",
            win_rate: null,
            average_r: null,
            trades: 0,
            realized_pnl: "0.0000",
          }),
          makePromptPerformance({
            template: null,
            template_name: "",
            template_version: null,
            llm_model: "claude-x",
            average_r: "-0.2500",
          }),
        ]),
      );
      renderWithProviders(<PromptsPage />);
      const table = await screen.findByRole("table", { name: "Prompt performance" });
      expect(within(table).getAllByRole("row")).toHaveLength(5);

      const eur = within(table).getByTestId("prompt-performance-3-gpt-4o-EUR");
      expect(within(eur).getByRole("link", { name: "swing v2" })).toHaveAttribute(
        "href",
        "/prompts/swing",
      );
      expect(cell(eur, "Model")).toBe("gpt-4o");
      expect(cell(eur, "Trades")).toBe("1");
      expect(cell(eur, "Realized")).toBe("-20.00");

      const usd = within(table).getByTestId("prompt-performance-3-gpt-4o-USD");
      expect(cell(usd, "Trades")).toBe("4");
      expect(cell(usd, "Win rate")).toBe("75%");
      expect(cell(usd, "Avg R")).toBe("+1.25 R");
      expect(cell(usd, "Realized")).toBe("1,250.50");

      const baseline = within(table).getByTestId("prompt-performance-3-baseline-USD");
      expect(cell(baseline, "Model")).toBe("baseline analyst");
      expect(cell(baseline, "Win rate")).toBe("—");
      expect(cell(baseline, "Avg R")).toBe("—");

      const untracked = within(table).getByTestId("prompt-performance-untracked-claude-x-USD");
      expect(cell(untracked, "Prompt version")).toBe("untracked");
      expect(within(untracked).queryByRole("link")).toBeNull();
      expect(cell(untracked, "Avg R")).toBe("−0.25 R");
    });

    it("shows the API's error without hiding the templates", async () => {
      stub(() => jsonResponse({ detail: "Server error." }, 500));
      renderWithProviders(<PromptsPage />);
      const alert = await screen.findByRole("alert");
      expect(alert).toHaveTextContent("Could not load prompt performance");
      expect(alert).toHaveTextContent("Server error.");
      expect(await screen.findByTestId("template-row-swing")).toBeInTheDocument();
    });
  });
});
