import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { AppRoutes } from "../../../App";
import { makeUser } from "../../../test/fixtures";
import { jsonResponse, mockFetch, renderWithProviders } from "../../../test/utils";

// The header as the app renders it (Layout in App.tsx), on a page that fetches nothing else.
const header = () => screen.getByRole("banner");

describe("header session menu", () => {
  it("signed out: a Sign in link that comes back to the current page", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url) =>
          url.pathname === "/api/v1/auth/session/"
            ? jsonResponse({ detail: "Authentication credentials were not provided." }, 401)
            : undefined,
        ),
      ),
    );
    renderWithProviders(<AppRoutes />, { route: "/nowhere?x=1" });
    const link = await within(header()).findByRole("link", { name: "Sign in" });
    expect(link).toHaveAttribute("href", "/login?next=%2Fnowhere%3Fx%3D1");
    expect(within(header()).queryByRole("button", { name: "Sign out" })).toBeNull();
  });

  it("signed in: the username and Sign out, which DELETEs the session with the CSRF header", async () => {
    document.cookie = "csrftoken=tok456";
    let signedIn = true;
    const seen: Request[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) => {
          if (url.pathname !== "/api/v1/auth/session/") return undefined;
          seen.push(req);
          if (req.method === "DELETE") {
            signedIn = false;
            return new Response(null, { status: 204 });
          }
          return signedIn
            ? jsonResponse(makeUser({ username: "ada" }))
            : jsonResponse({ detail: "Not signed in." }, 401);
        }),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(<AppRoutes />, { route: "/nowhere" });
    expect(await within(header()).findByText("ada")).toBeInTheDocument();
    expect(within(header()).queryByRole("link", { name: "Sign in" })).toBeNull();

    await user.click(within(header()).getByRole("button", { name: "Sign out" }));

    // Signed out: on the login page (back to where we were), the header offers Sign in.
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
    await waitFor(() => expect(within(header()).queryByText("ada")).toBeNull());
    expect(within(header()).getByRole("link", { name: "Sign in" })).toHaveAttribute(
      "href",
      "/login?next=%2Fnowhere",
    );
    const del = seen.find((r) => r.method === "DELETE")!;
    expect(del.headers.get("X-CSRFToken")).toBe("tok456");
  });
});
