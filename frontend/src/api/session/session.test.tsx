import { QueryClientProvider } from "@tanstack/react-query";
import { act, renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { describe, expect, it, vi } from "vitest";
import { makeStrategy, makeUser } from "../../test/fixtures";
import { jsonResponse, makeQueryClient, mockFetch } from "../../test/utils";
import { ApiError } from "../client";
import { createAppQueryClient } from "../queryClient";
import { strategyKeys } from "../strategies";
import { fetchSession, sessionKeys, useSignOut } from ".";

describe("useSignOut", () => {
  it("removes every cached query but the session, which becomes anonymous", async () => {
    document.cookie = "csrftoken=tok";
    vi.stubGlobal(
      "fetch",
      vi.fn(
        mockFetch((url, req) =>
          url.pathname === "/api/v1/auth/session/" && req.method === "DELETE"
            ? new Response(null, { status: 204 })
            : undefined,
        ),
      ),
    );
    const queryClient = makeQueryClient();
    queryClient.setQueryData(sessionKeys.current(), makeUser({ username: "alice" }));
    queryClient.setQueryData(strategyKeys.list({ is_active: true }), {
      next: null,
      previous: null,
      results: [makeStrategy({ name: "Alice's secret" })],
    });
    queryClient.setQueryData(strategyKeys.detail(7), makeStrategy());
    const wrapper = ({ children }: { children: ReactNode }) => (
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    );
    const { result } = renderHook(() => useSignOut(), { wrapper });

    act(() => result.current.mutate());
    await waitFor(() => expect(result.current.isSuccess).toBe(true));

    const cache = queryClient.getQueryCache();
    expect(cache.findAll({ queryKey: strategyKeys.all })).toEqual([]);
    expect(cache.getAll().map((q) => q.queryKey)).toEqual([sessionKeys.current()]);
    expect(queryClient.getQueryData(sessionKeys.current())).toBeNull();
  });
});

describe("fetchSession", () => {
  it("reads a 401 as nobody signed in, and throws on a server error", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(mockFetch(() => jsonResponse({ detail: "Not signed in." }, 401))),
    );
    expect(await fetchSession()).toBeNull();
    vi.stubGlobal("fetch", vi.fn(mockFetch(() => jsonResponse({ detail: "Boom." }, 500))));
    await expect(fetchSession()).rejects.toBeInstanceOf(ApiError);
  });
});

describe("the app's QueryClient", () => {
  const failWith = (queryClient: ReturnType<typeof createAppQueryClient>, status: number) =>
    queryClient
      .fetchQuery({
        queryKey: ["strategies", "detail", status],
        queryFn: () => Promise.reject(new ApiError(status, { detail: "No." })),
        retry: false,
      })
      .catch(() => undefined);

  it("re-reads the session after a 401 anywhere", async () => {
    const queryClient = createAppQueryClient();
    queryClient.setQueryData(sessionKeys.current(), makeUser());
    await failWith(queryClient, 401);
    expect(queryClient.getQueryState(sessionKeys.current())?.isInvalidated).toBe(true);
  });

  it("leaves the session alone after a 403 (signed in, not allowed)", async () => {
    const queryClient = createAppQueryClient();
    queryClient.setQueryData(sessionKeys.current(), makeUser());
    await failWith(queryClient, 403);
    expect(queryClient.getQueryState(sessionKeys.current())?.isInvalidated).toBe(false);
  });
});

describe("ApiError.needsLogin", () => {
  it("is true for a 401 only: a 403 is not solved by signing in", () => {
    expect(new ApiError(401, { detail: "x" }).needsLogin).toBe(true);
    expect(new ApiError(403, { detail: "x" }).needsLogin).toBe(false);
    expect(new ApiError(404, { detail: "x" }).needsLogin).toBe(false);
  });
});
