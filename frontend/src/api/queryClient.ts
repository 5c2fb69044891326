import { QueryCache, QueryClient } from "@tanstack/react-query";
import { ApiError } from "./client";
import { sessionKeys } from "./session";

/**
 * The app's QueryClient. A 401 anywhere may mean the session ended (expired, signed out in
 * another tab): the session is re-read so the header stops showing a username. A 403 is left
 * alone: the user is signed in but not allowed (or a CSRF failure), the session is unchanged.
 * The session query itself never fails on a 401.
 */
export function createAppQueryClient(): QueryClient {
  const queryClient: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      onError: (error) => {
        if (error instanceof ApiError && error.needsLogin)
          void queryClient.invalidateQueries({ queryKey: sessionKeys.current() });
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        // A 4xx will not change on retry (login, permission, not found).
        retry: (count, error) =>
          !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
      },
    },
  });
  return queryClient;
}
