import { screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { makePromptScore, makePromptTemplate } from "../test/fixtures";
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
    expect(screen.getByRole("status")).toHaveTextContent("Loading templates…");

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
          return undefined;
        }),
      ),
    );
    renderWithProviders(<PromptsPage />);
    expect(await screen.findByText("No prompt templates yet.")).toBeInTheDocument();
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
});
