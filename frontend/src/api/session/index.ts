import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, readCookie, unwrap } from "../client";
import type { CurrentUser } from "../types";

export const sessionKeys = {
  all: ["session"] as const,
  current: () => [...sessionKeys.all, "current"] as const,
};

/**
 * `GET /auth/session/`: the signed-in user, or `null` for an anonymous browser (401; a 403,
 * which an anonymous GET of the session never meant anything else, is read the same way).
 * The same request makes Django set the `csrftoken` cookie that sign-in needs.
 */
export async function fetchSession(): Promise<CurrentUser | null> {
  try {
    return unwrap(await api.GET("/api/v1/auth/session/"));
  } catch (error) {
    // Anonymous is a normal state of the header, not an error to show.
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return null;
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

/** Every cached query but the session: what the API answered depends on who asked. */
const notSession = (query: { queryKey: readonly unknown[] }) =>
  query.queryKey[0] !== sessionKeys.all[0];

/**
 * `POST /auth/session/`: sign in. Every other cached query is removed on success (not just
 * invalidated): the previous user's strategies, orders and runs must not be shown, even for a
 * moment, to whoever signs in next on this browser. The next page fetches what it shows.
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
      // Runs before the caller's onSuccess (which navigates), so the next page starts empty.
      queryClient.removeQueries({ predicate: notSession });
      queryClient.setQueryData(sessionKeys.current(), user);
    },
  });
};

/**
 * `DELETE /auth/session/`: sign out. Every other cached query is removed, as on sign-in, so
 * the previous user's data is neither shown nor refetched (now anonymous) on the way out.
 */
export const useSignOut = () => {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      const result = await api.DELETE("/api/v1/auth/session/");
      if (!result.response.ok) throw new ApiError(result.response.status, result.error);
    },
    onSuccess: () => {
      queryClient.removeQueries({ predicate: notSession });
      queryClient.setQueryData(sessionKeys.current(), null);
    },
  });
};

/**
 * A `?next=` target that stays inside the app: its `pathname + search + hash` when it is a
 * path on this origin, else `/` (anything else would make the login page an open redirect).
 *
 * Browsers drop tabs and newlines from a URL and read `\` as `/`, so `/\t/evil.example` or
 * `/\evil.example` would be followed as `//evil.example`: any control character or
 * backslash is refused outright. What is left is parsed against this origin, and a path that
 * would still start with `//` after normalizing (`/..//evil.example`) is refused too.
 */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/")) return "/";
  // C0 controls, DEL, C1 controls, and backslashes.
  if (/[\u0000-\u001f\u007f-\u009f\\]/.test(next)) return "/";
  const origin = window.location.origin;
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return "/";
  }
  if (url.origin !== origin || url.pathname.startsWith("//")) return "/";
  return url.pathname + url.search + url.hash;
}

/** The login page's address that comes back to `path` (pathname + search) afterwards. */
export const loginPath = (path: string) => `/login?next=${encodeURIComponent(path)}`;
