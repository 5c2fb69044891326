import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { ApiError } from "./api/client";
import { sessionKeys } from "./api/session";
import { AppRoutes } from "./App";
import "./index.css";

const queryClient: QueryClient = new QueryClient({
  // A 401/403 anywhere may mean the session ended (expired, signed out in another tab): re-read
  // it so the header stops showing a username. The session query itself never fails on 401/403.
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

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <AppRoutes />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
