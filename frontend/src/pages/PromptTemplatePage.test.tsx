import { EditorView } from "@codemirror/view";
import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { PromptTemplate } from "../api/prompts";
import type { Strategy } from "../api/types";
import {
  makePromptScore,
  makePromptTemplate,
  makeRunListItem,
  makeStrategy,
} from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { PromptTemplatePage } from "./PromptTemplatePage";
import "../components/prompts/JinjaEditor/jsdomRanges";

const HEAD = "{{ symbol.symbol }} {{ bar_size }}";
const HEAD_V3 = `${HEAD} as of {{ as_of }}`;
const CLOSE = "Last close {{ bars.last.close }}";
const ASK = "Decide BUY, SELL or HOLD.";
const V1 = `${HEAD}\n${ASK}\n`;
const V2 = `${HEAD}\n${CLOSE}\n${ASK}\n`;
const V3 = `${HEAD_V3}\n${CLOSE}\n${ASK}\n`;

type StrategyRow = Pick<Strategy, "id" | "name" | "prompt_template"> & Partial<Strategy>;

/**
 * A fake API for one template, "swing" v1–v3 (each with `template`'s fields, e.g. another
 * owner's, and `others` listed too); POST …/versions/ saves the next version. `strategies` are
 * listed by `GET /strategies/` (SPY daily on v3 and QQQ hourly on another template unless
 * given); `PATCH /strategies/{id}/` changes one of them, or answers `patchError`.
 */
function fakeApi({
  template = {},
  others = [],
  saveError,
  strategiesError = false,
  strategies = [
    { id: 7, name: "SPY daily", prompt_template: 3 },
    { id: 8, name: "QQQ hourly", prompt_template: 99 },
  ],
  patchError,
}: {
  template?: Partial<PromptTemplate>;
  others?: PromptTemplate[];
  saveError?: unknown;
  strategiesError?: boolean;
  strategies?: StrategyRow[];
  patchError?: { status: number; body: unknown };
} = {}) {
  const versions: PromptTemplate[] = [
    makePromptTemplate({ id: 3, version: 3, body: V3, created_at: "2025-03-01T10:00:00Z" }),
    makePromptTemplate({ id: 2, version: 2, body: V2, created_at: "2025-02-01T10:00:00Z" }),
    makePromptTemplate({ id: 1, version: 1, body: V1, created_at: "2025-01-01T10:00:00Z" }),
  ].map((v) => ({ ...v, ...template }));
  versions.push(...others);
  const requests: { method: string; path: string; body: unknown; csrf: string | null }[] = [];
  const fetch = vi.fn(
    mockFetch(async (url, req): Promise<Response> => {
      const body =
        req.method === "POST" || req.method === "PATCH" ? await req.clone().json() : undefined;
      const csrf = req.headers.get("X-CSRFToken");
      requests.push({ method: req.method, path: url.pathname, body, csrf });
      const path = url.pathname;
      if (path === "/api/v1/prompt-templates/" && req.method === "GET") {
        const rows = versions.filter((v) => v.name === url.searchParams.get("name"));
        return jsonResponse({ count: rows.length, next: null, previous: null, results: rows });
      }
      const versionsOf = path.match(/^\/api\/v1\/prompt-templates\/(\d+)\/versions\/$/);
      if (versionsOf && req.method === "POST") {
        if (saveError) return jsonResponse(saveError, 400);
        const input = body as { body: string };
        const saved = makePromptTemplate({
          id: 4,
          name: versions.find((v) => v.id === Number(versionsOf[1]))!.name,
          version: 4,
          body: input.body,
          created_at: "2025-04-01T10:00:00Z",
        });
        versions.unshift(saved);
        return jsonResponse(saved, 201);
      }
      if (path === "/api/v1/prompt-templates/scores/")
        return jsonResponse([
          makePromptScore({ template_id: 3, template_version: 3, win_rate: 0.6 }),
          makePromptScore({
            template_id: 2,
            template_version: 2,
            win_rate: 0.25,
            avg_r_multiple: -0.4,
          }),
          makePromptScore({ template_id: 8, template_name: "alpha", template_version: 1 }),
        ]);
      if (path === "/api/v1/strategies/" && strategiesError)
        return jsonResponse({ detail: "Server trouble." }, 500);
      if (path === "/api/v1/strategies/")
        return jsonResponse({
          count: strategies.length,
          next: null,
          previous: null,
          results: strategies,
        });
      const strategy = path.match(/^\/api\/v1\/strategies\/(\d+)\/$/);
      if (strategy && req.method === "PATCH") {
        if (patchError) return jsonResponse(patchError.body, patchError.status);
        const row = strategies.find((s) => s.id === Number(strategy[1]));
        if (!row) return jsonResponse({ detail: "Not found." }, 404);
        Object.assign(row, body);
        return jsonResponse(makeStrategy({ ...row }));
      }
      if (path === "/api/v1/runs/")
        return jsonResponse({
          next: null,
          previous: null,
          results: [
            makeRunListItem({ id: 50, strategy: { id: 8, slug: "qqq", name: "QQQ hourly" } }),
            makeRunListItem({ id: 42 }),
          ],
        });
      const preview = path.match(/^\/api\/v1\/prompt-templates\/(\d+)\/preview\/$/);
      if (preview && req.method === "POST") {
        const id = Number(preview[1]);
        if (id === 3)
          return jsonResponse({ prompt: "SPY 1 day as of 2025-01-02\nLast close 590.1" });
        return jsonResponse(
          {
            detail: "TemplateSyntaxError: unexpected '}' (line 1)",
            code: "PromptRenderError",
          },
          400,
        );
      }
      return jsonResponse({ detail: "Not found." }, 404);
    }),
  );
  vi.stubGlobal("fetch", fetch);
  return { requests };
}

const renderPage = (name = "swing") =>
  renderWithProviders(<PromptTemplatePage />, {
    route: `/prompts/${name}`,
    path: "/prompts/:name",
  });

/** The CodeMirror view behind the editor's accessible textbox (the editor loads lazily). */
async function editorView(): Promise<EditorView> {
  const box = await screen.findByRole("textbox", { name: "Template body of swing" });
  const view = EditorView.findFromDOM(box);
  if (!view) throw new Error("no EditorView");
  return view;
}

/** Replaces the editor's text as typing would: through a transaction on its view. */
async function setEditorText(text: string) {
  const view = await editorView();
  act(() => {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
  });
}

/** The lines of one side of the diff: kind (from the CSS class) and text. */
const diffLines = (side: "old" | "new") =>
  within(screen.getByTestId("version-diff"))
    .queryAllByTestId(`diff-${side}-line`)
    .map((el) => ({
      kind: el.className.match(/diff-(context|removed|added)/)![1],
      text: el.querySelector(".diff-text")!.textContent,
    }));

describe("PromptTemplatePage", () => {
  it("shows the versions, the diff of the previous vs the latest, and the scores", async () => {
    fakeApi();
    renderPage();
    expect(screen.getByRole("status")).toHaveTextContent("Loading template…");
    expect(await screen.findByRole("heading", { name: /swing/ })).toHaveTextContent("v3");

    // Versions, newest first; v3 is pinned by the SPY strategy.
    const rows = [3, 2, 1].map((v) => screen.getByTestId(`version-row-${v}`));
    expect(rows[0]).toHaveTextContent("v3");
    const spy = await within(rows[0]!).findByRole("link", { name: "SPY daily" });
    expect(spy).toHaveAttribute("href", "/strategies/7");
    expect(within(rows[2]!).queryByRole("button", { name: "Diff with previous" })).toBeNull();
    // Every strategy of this template is on the latest version: nothing to switch.
    expect(screen.queryByText(/Use v\d in…/)).toBeNull();
    expect(screen.queryByRole("button", { name: /^Switch / })).toBeNull();

    // Default diff: v2 (left) → v3 (right); only the first line changed.
    expect(screen.getByLabelText("From")).toHaveValue("2");
    expect(screen.getByLabelText("To")).toHaveValue("3");
    const diff = screen.getByTestId("version-diff");
    expect(diff).toHaveTextContent(/v2 ·/);
    expect(diff).toHaveTextContent(/v3 ·/);
    expect(diffLines("old")).toEqual([
      { kind: "removed", text: HEAD },
      { kind: "context", text: CLOSE },
      { kind: "context", text: ASK },
    ]);
    expect(diffLines("new")[0]).toEqual({ kind: "added", text: HEAD_V3 });
    expect(diff.querySelector("ins.diff-word")).toHaveTextContent("as of {{ as_of }}");

    // "Diff with previous" on v2 compares v1 → v2: one added line, a spacer on the left.
    await userEvent.click(within(rows[1]!).getByRole("button", { name: "Diff with previous" }));
    expect(screen.getByLabelText("From")).toHaveValue("1");
    expect(diffLines("new").filter((l) => l.kind === "added")).toEqual([
      { kind: "added", text: "Last close {{ bars.last.close }}" },
    ]);
    expect(diffLines("old")).toHaveLength(2);

    // The editor starts from the latest body.
    expect((await editorView()).state.doc.toString()).toBe(V3);

    // Scores: only this template's versions.
    expect(await screen.findByTestId("score-row-3")).toHaveTextContent("60%");
    expect(screen.getByTestId("score-row-3")).toHaveTextContent("+1.20 R");
    expect(screen.getByTestId("score-row-2")).toHaveTextContent("−0.40 R");
    expect(screen.queryByTestId("score-row-1")).toBeNull();
  });

  it("previews a version against a run, and shows the API's render error prominently", async () => {
    const { requests } = fakeApi();
    const user = userEvent.setup();
    renderPage();
    await screen.findByRole("heading", { name: /swing/ });

    // The run of a strategy using this template comes first, ahead of newer runs.
    const runSelect = screen.getByLabelText("Run");
    await waitFor(() => expect(runSelect).toHaveValue("42"));
    expect(screen.getByLabelText("Version")).toHaveValue("3");
    await user.click(screen.getByRole("button", { name: "Render preview" }));
    expect(await screen.findByTestId("preview-text")).toHaveTextContent(
      "SPY 1 day as of 2025-01-02 Last close 590.1",
    );
    const asked = requests.find((r) => r.path === "/api/v1/prompt-templates/3/preview/");
    expect(asked?.body).toEqual({ run_id: 42 });

    // Another version whose body does not render: the error replaces the text.
    await user.selectOptions(screen.getByLabelText("Version"), "v1");
    expect(screen.queryByTestId("preview-text")).toBeNull();
    await user.click(screen.getByRole("button", { name: "Render preview" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveClass("preview-error");
    expect(alert).toHaveTextContent("Could not render v1 against run #42");
    expect(alert).toHaveTextContent("PromptRenderError");
    expect(alert).toHaveTextContent("TemplateSyntaxError: unexpected '}' (line 1)");
  });

  it("saves the editor's text as the next version, then selects it", async () => {
    document.cookie = "csrftoken=tok123";
    const { requests } = fakeApi();
    const user = userEvent.setup();
    renderPage();
    await screen.findByRole("heading", { name: /swing/ });
    const save = screen.getByRole("button", { name: "Save as v4" });
    expect(save).toBeDisabled(); // same text as v3

    const edited = V3.replace(ASK, "Decide BUY, SELL or HOLD; explain in one line.");
    await setEditorText(edited);
    expect(save).toBeEnabled();

    // The unsaved text can be compared with the latest version before saving.
    await user.selectOptions(screen.getByLabelText("From"), "v3");
    await user.selectOptions(screen.getByLabelText("To"), "draft");
    expect(diffLines("new").filter((l) => l.kind === "added")).toEqual([
      { kind: "added", text: "Decide BUY, SELL or HOLD; explain in one line." },
    ]);

    await user.click(save);
    expect(await screen.findByText("Saved as v4.")).toHaveAttribute("role", "status");
    const post = requests.find(
      (r) => r.method === "POST" && r.path === "/api/v1/prompt-templates/3/versions/",
    );
    expect(post?.body).toEqual({ body: edited });
    expect(post?.csrf).toBe("tok123");

    // The new version is listed, headed, diffed against the old latest, and up for preview.
    expect(await screen.findByTestId("version-row-4")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: /swing/ })).toHaveTextContent("v4");
    expect(screen.getByLabelText("From")).toHaveValue("3");
    expect(screen.getByLabelText("To")).toHaveValue("4");
    expect(screen.getByLabelText("Version")).toHaveValue("4");
    expect(screen.getByRole("button", { name: "Save as v5" })).toBeDisabled();

    // SPY daily stays on v3 until switched, and is offered the new version.
    const useLatest = await screen.findByRole("list", { name: "Use v4 in…" });
    expect(within(useLatest).getAllByRole("listitem")).toHaveLength(1);
    expect(
      within(useLatest).getByRole("button", { name: "Switch SPY daily to v4" }),
    ).toBeInTheDocument();
  });

  it("shows the field errors of a 400 on save", async () => {
    fakeApi({ saveError: { body: ["Ensure this field has no more than 20000 characters."] } });
    const user = userEvent.setup();
    renderPage();
    await screen.findByRole("heading", { name: /swing/ });
    await setEditorText("x".repeat(30));
    await user.click(screen.getByRole("button", { name: "Save as v4" }));
    const errors = await screen.findByRole("alert", { name: "Field errors" });
    expect(errors).toHaveTextContent("body: Ensure this field has no more than 20000 characters.");
    expect(screen.queryByTestId("version-row-4")).toBeNull();
  });

  it("hides saving on a template published by another user", async () => {
    fakeApi({
      template: { owner: 2, owner_username: "alice", is_published: true, can_write: false },
    });
    renderPage();
    await screen.findByRole("heading", { name: /swing/ });
    expect(screen.getByText(/alice · published · 3 versions/)).toBeInTheDocument();
    expect(screen.getByTestId("read-only")).toHaveTextContent(
      "Read-only: this template is alice's, published for everyone to read and use.",
    );
    expect(screen.queryByRole("button", { name: /Save as v4/ })).toBeNull();
  });

  it("shows your own template when another user published one of the same name", async () => {
    const theirs = makePromptTemplate({
      id: 20,
      version: 7,
      body: "theirs",
      owner: 2,
      owner_username: "alice",
      is_published: true,
      can_write: false,
    });
    fakeApi({ others: [theirs] });
    renderPage();
    const heading = await screen.findByRole("heading", { name: /swing/ });
    expect(heading).toHaveTextContent("v3");
    expect(screen.getByRole("button", { name: "Save as v4" })).toBeInTheDocument();
  });

  it("shows the owner ?owner= asks for", async () => {
    const theirs = makePromptTemplate({
      id: 20,
      version: 7,
      body: "theirs",
      owner: 2,
      owner_username: "alice",
      is_published: true,
      can_write: false,
    });
    fakeApi({ others: [theirs] });
    renderWithProviders(<PromptTemplatePage />, {
      route: "/prompts/swing?owner=2",
      path: "/prompts/:name",
    });
    const heading = await screen.findByRole("heading", { name: /swing/ });
    expect(heading).toHaveTextContent("v7");
    expect(screen.queryByRole("button", { name: /Save as/ })).toBeNull();
  });

  it("shows an empty state for an unknown template name", async () => {
    fakeApi();
    renderPage("nope");
    const empty = await screen.findByText(/No template named/);
    expect(empty).toHaveTextContent("No template named nope.");
  });

  it('asks before "Edit from vN" replaces unsaved changes', async () => {
    fakeApi();
    const user = userEvent.setup();
    renderPage();
    await screen.findByRole("heading", { name: /swing/ });
    const v1Row = screen.getByTestId("version-row-1");

    // Nothing unsaved: loads at once.
    await user.click(within(v1Row).getByRole("button", { name: "Edit from v1" }));
    expect((await editorView()).state.doc.toString()).toBe(V1);
    expect(screen.queryByRole("alertdialog")).toBeNull();

    // Unsaved text: asks, and keeps it unless told to replace it.
    const draft = `${V1}My own line.\n`;
    await setEditorText(draft);
    await user.click(within(screen.getByTestId("version-row-2")).getByRole("button", { name: "Edit from v2" }));
    const ask = screen.getByRole("alertdialog", { name: "Replace unsaved changes" });
    expect(ask).toHaveTextContent(
      "The editor has unsaved changes (from v1). Replace them with the text of v2?",
    );
    expect((await editorView()).state.doc.toString()).toBe(draft);
    await user.click(within(ask).getByRole("button", { name: "Keep my changes" }));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect((await editorView()).state.doc.toString()).toBe(draft);
    expect(screen.getByText(/Editing from v1 — unsaved changes/)).toBeInTheDocument();

    await user.click(within(screen.getByTestId("version-row-2")).getByRole("button", { name: "Edit from v2" }));
    await user.click(
      within(screen.getByRole("alertdialog")).getByRole("button", { name: "Replace" }),
    );
    expect((await editorView()).state.doc.toString()).toBe(V2);
    expect(screen.getByText(/Editing from v2\./)).toBeInTheDocument();
  });

  it("says when the strategies using each version could not be loaded", async () => {
    fakeApi({ strategiesError: true });
    renderPage();
    await screen.findByRole("heading", { name: /swing/ });
    const versions = screen.getByRole("heading", { name: "Versions" }).closest("section")!;
    const alert = await within(versions).findByRole("alert");
    expect(alert).toHaveTextContent("Could not load the strategies using these versions");
    expect(alert).toHaveTextContent("Server trouble.");
    const usedBy = screen.getByTestId("version-row-3").querySelector('td[data-label="Used by"]');
    expect(usedBy).toHaveTextContent("unknown");
    // The actions column is named for screen readers.
    expect(within(versions).getByRole("columnheader", { name: "Actions" })).toBeInTheDocument();
  });

  describe("Use vN in…", () => {
    /** SPY daily on v3 (the latest), E2E swing on v2, Live swing (live) on v1, QQQ elsewhere. */
    const someBehind = (): StrategyRow[] => [
      { id: 7, name: "SPY daily", prompt_template: 3, trading_mode: "paper" },
      { id: 9, name: "E2E swing", prompt_template: 2, trading_mode: "paper" },
      { id: 10, name: "Live swing", prompt_template: 1, trading_mode: "live" },
      { id: 8, name: "QQQ hourly", prompt_template: 99, trading_mode: "paper" },
    ];
    const patches = <R extends { method: string }>(requests: R[]) =>
      requests.filter((r) => r.method === "PATCH");

    it("lists only the strategies on an older version of this template", async () => {
      fakeApi({ strategies: someBehind() });
      renderPage();
      const list = await screen.findByRole("list", { name: "Use v3 in…" });
      const items = within(list).getAllByRole("listitem");
      expect(items.map((li) => within(li).getByRole("button").textContent)).toEqual([
        "Switch E2E swing to v3",
        "Switch Live swing to v3",
      ]);
      expect(items[0]).toHaveTextContent("E2E swing on v2");
      expect(items[1]).toHaveTextContent("Live swing on v1");
      expect(within(items[1]!).getByText("live")).toHaveClass("mode-live");
      expect(within(list).queryByText("SPY daily")).toBeNull();
      expect(within(list).queryByText("QQQ hourly")).toBeNull();
    });

    it("switches a strategy: PATCHes only prompt_template, then moves it to the latest", async () => {
      document.cookie = "csrftoken=tokswitch";
      const { requests } = fakeApi({ strategies: someBehind() });
      const user = userEvent.setup();
      renderPage();
      const list = await screen.findByRole("list", { name: "Use v3 in…" });
      expect(
        within(screen.getByTestId("version-row-2")).getByRole("link", { name: "E2E swing" }),
      ).toBeInTheDocument();

      await user.click(within(list).getByRole("button", { name: "Switch E2E swing to v3" }));
      expect(await screen.findByText("E2E swing now uses v3.")).toHaveAttribute("role", "status");
      const sent = patches(requests);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.path).toBe("/api/v1/strategies/9/");
      expect(sent[0]!.body).toEqual({ prompt_template: 3 });
      expect(sent[0]!.csrf).toBe("tokswitch");

      // The strategies were read again: "Used by" shows it on v3, and it leaves the list.
      const v3Row = screen.getByTestId("version-row-3");
      expect(await within(v3Row).findByRole("link", { name: "E2E swing" })).toBeInTheDocument();
      expect(within(screen.getByTestId("version-row-2")).queryByRole("link")).toBeNull();
      expect(
        screen.queryByRole("button", { name: "Switch E2E swing to v3" }),
      ).not.toBeInTheDocument();
      expect(screen.getByRole("button", { name: "Switch Live swing to v3" })).toBeInTheDocument();
    });

    it("asks before switching a live strategy, and sends nothing until Confirm", async () => {
      const { requests } = fakeApi({ strategies: someBehind() });
      const user = userEvent.setup();
      renderPage();
      const button = await screen.findByRole("button", { name: "Switch Live swing to v3" });

      await user.click(button);
      const confirm = screen.getByRole("alertdialog", { name: "Confirm live trading" });
      expect(confirm).toHaveTextContent(
        "Live swing trades live: its next runs send real orders decided from v3's prompt. " +
          "Switch it from v1 to v3?",
      );
      expect(within(confirm).getByRole("button", { name: "Cancel" })).toHaveFocus();
      expect(button).toHaveAttribute("aria-expanded", "true");
      expect(patches(requests)).toEqual([]);

      // Cancel: nothing sent, the question goes away.
      await user.click(within(confirm).getByRole("button", { name: "Cancel" }));
      expect(screen.queryByRole("alertdialog")).toBeNull();
      expect(patches(requests)).toEqual([]);

      // Ask again, and confirm.
      await user.click(button);
      await user.click(
        within(screen.getByRole("alertdialog")).getByRole("button", { name: "Confirm" }),
      );
      expect(await screen.findByText("Live swing now uses v3.")).toBeInTheDocument();
      expect(patches(requests).map((r) => [r.path, r.body])).toEqual([
        ["/api/v1/strategies/10/", { prompt_template: 3 }],
      ]);
      expect(screen.queryByRole("alertdialog")).toBeNull();
    });

    it.each([
      {
        status: 403,
        body: { detail: "You do not have permission to perform this action." },
        message: "You do not have permission to perform this action.",
      },
      {
        status: 400,
        body: { prompt_template: ["Invalid pk \"3\" - object does not exist."] },
        message: 'prompt_template: Invalid pk "3" - object does not exist.',
      },
    ])("shows the API's error inline on a $status", async ({ status, body, message }) => {
      const { requests } = fakeApi({ strategies: someBehind(), patchError: { status, body } });
      const user = userEvent.setup();
      renderPage();
      await user.click(await screen.findByRole("button", { name: "Switch E2E swing to v3" }));
      const item = screen.getByTestId("use-latest-9");
      const alert = await within(item).findByRole("alert");
      expect(alert).toHaveTextContent("Could not switch E2E swing to v3");
      expect(alert).toHaveTextContent(message);
      // Signed in but not allowed (or invalid): signing in again would not help.
      expect(within(alert).queryByRole("link", { name: "Sign in" })).toBeNull();
      expect(patches(requests)).toHaveLength(1);
      expect(screen.queryByText(/now uses/)).toBeNull();
      // Still on v2, still offered.
      expect(
        within(screen.getByTestId("version-row-2")).getByRole("link", { name: "E2E swing" }),
      ).toBeInTheDocument();
      expect(within(item).getByRole("button", { name: "Switch E2E swing to v3" })).toBeEnabled();
    });
  });
});
