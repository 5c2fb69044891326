import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, readCookie, unwrap } from "../client";
import type { CurrentUser } from "../types";

export const sessionKeys = {
  all: ["session"] as const,
  current: () => [...sessionKeys.all, "current"] as const,
};

/**
 * `GET /auth/session/`: the signed-in user, or `null` for an anonymous browser (401/403).
 * The same request makes Django set the `csrftoken` cookie that sign-in needs.
 */
export async function fetchSession(): Promise<CurrentUser | null> {
  try {
    return unwrap(await api.GET("/api/v1/auth/session/"));
  } catch (error) {
    // Anonymous is a normal state of the header, not an error to show.
    if (error instanceof ApiError && error.needsLogin) return null;
    throw error;
  }
}

export const buildSessionQuery = () =>
  queryOptions({
    queryKey: sessionKeys.current(),
    queryFn: fetchSession,
    staleTime: 60_000,
  });

/** Who is signed in: `data` is the user, `null` when nobody is, `undefined` while loading. */
export const useSession = () => useQuery(buildSessionQuery());

export type Credentials = { username: string; password: string };

/**
 * `POST /auth/session/`: sign in. Every cached query is invalidated on success, since what
 * the API answers depends on who asks.
 */
export const useSignIn = () => {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (credentials: Credentials) => {
      // The POST is CSRF-checked: without the cookie (no GET of the session yet) it would be
      // refused, so fetch the session first to have Django set it.
      if (!readCookie("csrftoken")) await fetchSession();
      return unwrap(await api.POST("/api/v1/auth/session/", { body: credentials }));
    },
    onSuccess: (user) => {
      queryClient.setQueryData(sessionKeys.current(), user);
      // Not awaited: the caller navigates at once, and the next page refetches what it shows.
      void queryClient.invalidateQueries();
    },
  });
};

/**
 * `DELETE /auth/session/`: sign out. The cache is reset rather than invalidated so the
 * previous user's data is not shown while the refetches (now anonymous) run.
 */
export const useSignOut = () => {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      const result = await api.DELETE("/api/v1/auth/session/");
      if (!result.response.ok) throw new ApiError(result.response.status, result.error);
    },
    onSuccess: async () => {
      queryClient.setQueryData(sessionKeys.current(), null);
      await queryClient.resetQueries({
        predicate: (query) => query.queryKey[0] !== sessionKeys.all[0],
      });
    },
  });
};

/**
 * A `?next=` target that stays inside the app: a path starting with one `/`, else `/`
 * (an absolute or protocol-relative URL would make the login page an open redirect).
 */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}

/** The login page's address that comes back to `path` (pathname + search) afterwards. */
export const loginPath = (path: string) => `/login?next=${encodeURIComponent(path)}`;
