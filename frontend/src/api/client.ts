import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

/** An API answer that was not 2xx: its status and DRF's `detail` (or the field errors). */
export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, body: unknown) {
    super(describe(status, body));
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }

  /**
   * 401: nobody is signed in (or the session ended), so signing in (the app's `/login` page)
   * is the way forward. A 403 is not: the user is signed in but not allowed (or the CSRF
   * check failed), and signing in again would not change the answer.
   */
  get needsLogin(): boolean {
    return this.status === 401;
  }
}

function describe(status: number, body: unknown): string {
  if (body && typeof body === "object") {
    const detail = (body as { detail?: unknown }).detail;
    if (typeof detail === "string") return detail;
    const fields = Object.entries(body as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : String(v)}`)
      .join("; ");
    if (fields) return fields;
  }
  if (typeof body === "string" && body.trim()) return body.trim().slice(0, 300);
  return `Request failed (HTTP ${status})`;
}

export function readCookie(name: string): string | undefined {
  if (typeof document === "undefined") return undefined;
  for (const part of document.cookie.split(";")) {
    const [k, ...rest] = part.trim().split("=");
    if (k === name) return decodeURIComponent(rest.join("="));
  }
  return undefined;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** Django's session auth: writes carry the `csrftoken` cookie back as `X-CSRFToken`. */
export const csrfMiddleware: Middleware = {
  onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method.toUpperCase())) {
      const token = readCookie("csrftoken");
      if (token) request.headers.set("X-CSRFToken", token);
    }
    return request;
  },
};

// Absolute base: the same origin the page came from (Django serves both); an absolute URL also
// lets Node's Request work under Vitest/jsdom.
const baseUrl = typeof window !== "undefined" ? window.location.origin : "";

export const api = createClient<paths>({
  baseUrl,
  credentials: "same-origin",
  headers: { Accept: "application/json" },
  // Resolve fetch at call time so tests can stub globalThis.fetch.
  fetch: (request: Request) => globalThis.fetch(request),
});
api.use(csrfMiddleware);

/** openapi-fetch result → data, or throw ApiError (for TanStack Query's error state). */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (!result.response.ok || result.data === undefined) {
    throw new ApiError(result.response.status, result.error);
  }
  return result.data;
}

/** The `cursor` query parameter of a DRF cursor-pagination `next`/`previous` link. */
export function cursorFrom(link: string | null | undefined): string | undefined {
  if (!link) return undefined;
  try {
    return new URL(link, "http://x").searchParams.get("cursor") ?? undefined;
  } catch {
    return undefined;
  }
}
