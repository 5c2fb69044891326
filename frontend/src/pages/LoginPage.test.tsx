import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { safeNext, sessionKeys } from "../api/session";
import { strategyKeys } from "../api/strategies";
import { makeStrategy, makeUser } from "../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../test/utils";
import { LoginPage } from "./LoginPage";

const routes = (
  <Routes>
    <Route path="/login" element={<LoginPage />} />
    <Route path="/orders" element={<p>Orders page</p>} />
    <Route path="/" element={<p>Home page</p>} />
  </Routes>
);

describe("LoginPage", () => {
  beforeEach(() => {
    document.cookie = "csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
  });

  it("signs in with the CSRF token the session GET set, then goes to ?next=", async () => {
    const seen: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          if (url.pathname !== "/api/v1/auth/session/") return undefined;
          seen.push(req);
          if (req.method === "GET") {
            // What Django's ensure_csrf_cookie does in a browser.
            document.cookie = "csrftoken=fromget";
            return jsonResponse({ detail: "Not signed in." }, 401);
          }
          if (req.method === "POST")
            return req
              .clone()
              .json()
              .then((body: { username: string; password: string }) =>
                body.password === "s3cret"
                  ? jsonResponse(makeUser({ username: body.username }))
                  : jsonResponse({ detail: "Wrong username or password." }, 401),
              );
          return undefined;
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(routes, { route: "/login?next=%2Forders%3Fstatus%3Dfilled" });

    await user.type(screen.getByLabelText("Username"), "ada");
    await user.type(screen.getByLabelText("Password"), "s3cret");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByText("Orders page")).toBeInTheDocument();
    const post = seen.find((r) => r.method === "POST")!;
    expect(post.headers.get("X-CSRFToken")).toBe("fromget");
    expect(await post.clone().json()).toEqual({ username: "ada", password: "s3cret" });
    // The cookie existed before the POST: the GET came first.
    expect(seen[0]!.method).toBe("GET");
  });

  it("forgets the previous user's cached data on sign-in, and never leaves the app", async () => {
    document.cookie = "csrftoken=tok";
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          if (url.pathname !== "/api/v1/auth/session/") return undefined;
          if (req.method === "GET") return jsonResponse(makeUser({ username: "alice" }));
          return jsonResponse(makeUser({ id: 2, username: "bob" }));
        }),
      ),
    );
    const user = userEvent.setup();
    // A tab in ?next= is dropped by browsers: /<tab>/evil.example would become //evil.example.
    const { queryClient } = renderWithProviders(routes, {
      route: "/login?next=%2F%09%2Fevil.example%2F",
    });
    expect(await screen.findByText("alice")).toBeInTheDocument();
    // What alice's pages cached before she left the browser to bob.
    queryClient.setQueryData(strategyKeys.list({}), {
      next: null,
      previous: null,
      results: [makeStrategy({ name: "Alice's secret" })],
    });
    queryClient.setQueryData(["orders", "list", {}], { results: [] });

    await user.type(screen.getByLabelText("Username"), "bob");
    await user.type(screen.getByLabelText("Password"), "pw");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByText("Home page")).toBeInTheDocument();
    const keys = queryClient
      .getQueryCache()
      .getAll()
      .map((q) => q.queryKey);
    expect(keys).toEqual([sessionKeys.current()]);
    expect(queryClient.getQueryData(sessionKeys.current())).toMatchObject({ username: "bob" });
  });

  it("fetches the session first when the csrftoken cookie is missing at submit", async () => {
    const methods: string[] = [];
    let sessionGets = 0;
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          if (url.pathname !== "/api/v1/auth/session/") return undefined;
          methods.push(req.method);
          if (req.method === "GET") {
            sessionGets += 1;
            // The page's own GET answers before the cookie exists (e.g. a proxy dropped it).
            if (sessionGets > 1) document.cookie = "csrftoken=second";
            return jsonResponse({ detail: "Not signed in." }, 401);
          }
          return jsonResponse(makeUser());
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(routes, { route: "/login" });
    await waitFor(() => expect(sessionGets).toBe(1));
    await user.type(screen.getByLabelText("Username"), "ada");
    await user.type(screen.getByLabelText("Password"), "pw");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("Home page")).toBeInTheDocument();
    expect(methods.slice(0, 3)).toEqual(["GET", "GET", "POST"]);
  });

  it("shows the API's message for a wrong password and stays on the page", async () => {
    document.cookie = "csrftoken=tok";
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          if (url.pathname !== "/api/v1/auth/session/") return undefined;
          if (req.method === "GET") return jsonResponse({ detail: "Not signed in." }, 401);
          return jsonResponse({ detail: "Wrong username or password." }, 401);
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(routes, { route: "/login?next=/orders" });
    await user.type(screen.getByLabelText("Username"), "ada");
    await user.type(screen.getByLabelText("Password"), "nope");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong username or password.");
    expect(screen.queryByText("Orders page")).toBeNull();
    expect(screen.getByLabelText("Password")).toHaveValue("nope");
  });

  it("shows a 400's field errors beside their fields", async () => {
    document.cookie = "csrftoken=tok";
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          if (url.pathname !== "/api/v1/auth/session/") return undefined;
          if (req.method === "GET") return jsonResponse({ detail: "Not signed in." }, 401);
          return jsonResponse({ password: ["This field may not be blank."] }, 400);
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(routes, { route: "/login" });
    await user.type(screen.getByLabelText("Username"), "ada");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() =>
      expect(screen.getByLabelText("Password")).toHaveAccessibleDescription(
        "This field may not be blank.",
      ),
    );
  });
});

describe("safeNext", () => {
  it("keeps in-app paths (with their query and fragment)", () => {
    expect(safeNext("/orders?status=filled")).toBe("/orders?status=filled");
    expect(safeNext("/runs/5?x=1#y")).toBe("/runs/5?x=1#y");
    expect(safeNext("/")).toBe("/");
  });

  it("answers / for nothing, and for anything that would leave the app", () => {
    expect(safeNext(null)).toBe("/");
    expect(safeNext(undefined)).toBe("/");
    expect(safeNext("")).toBe("/");
    expect(safeNext("https://evil.example/")).toBe("/");
    expect(safeNext("//evil.example/")).toBe("/");
    expect(safeNext("//x")).toBe("/");
    // Browsers drop tabs and newlines, leaving //x: another origin.
    expect(safeNext("/\t/x")).toBe("/");
    expect(safeNext("/\n/x")).toBe("/");
    expect(safeNext("/\r/x")).toBe("/");
    expect(safeNext("/\u0000/x")).toBe("/");
    // Browsers read a backslash as a slash.
    expect(safeNext("\\\\x")).toBe("/");
    expect(safeNext("\\x")).toBe("/");
    expect(safeNext("/\\evil.example/")).toBe("/");
    expect(safeNext("javascript:alert(1)")).toBe("/");
    expect(safeNext("JavaScript:alert(1)")).toBe("/");
    expect(safeNext("data:text/html,hi")).toBe("/");
    // Dot segments that normalize to a protocol-relative path.
    expect(safeNext("/..//x")).toBe("/");
    expect(safeNext("/.//x")).toBe("/");
  });
});
