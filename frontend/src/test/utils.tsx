import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, type RenderOptions } from "@testing-library/react";
import type { ReactElement, ReactNode } from "react";
import { MemoryRouter, Route, Routes } from "react-router";

export function makeQueryClient() {
  return new QueryClient({
    defaultOptions: { queries: { retry: false, gcTime: Infinity }, mutations: { retry: false } },
  });
}

/** Render inside a fresh QueryClient and a MemoryRouter at `route` (matched by `path`). */
export function renderWithProviders(
  ui: ReactElement,
  { route = "/", path, ...options }: { route?: string; path?: string } & RenderOptions = {},
) {
  const queryClient = makeQueryClient();
  const wrapper = ({ children }: { children: ReactNode }) => (
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={[route]}>
        {path ? (
          <Routes>
            <Route path={path} element={children} />
          </Routes>
        ) : (
          children
        )}
      </MemoryRouter>
    </QueryClientProvider>
  );
  return { queryClient, ...render(ui, { wrapper, ...options }) };
}

export const jsonResponse = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });

/** Stub fetch with a router: `(url, request) => Response`; unmatched → 404. */
export function mockFetch(
  route: (url: URL, request: Request) => Response | Promise<Response> | undefined,
) {
  const fn = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    const res = await route(new URL(request.url), request);
    return res ?? jsonResponse({ detail: "Not found." }, 404);
  };
  return fn;
}
