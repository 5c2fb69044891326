import type { ReactNode } from "react";
import { Link, useLocation } from "react-router";
import { ApiError } from "../../../api/client";
import { loginPath } from "../../../api/session";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

/**
 * An error box with the API's message; a 401 (not signed in) adds a "Sign in" link back to
 * this page. A 403 (signed in but not allowed) does not: signing in again would not help.
 */
export function ErrorState({ error, title = "Could not load" }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : String(error);
  const needsLogin = error instanceof ApiError && error.needsLogin;
  const location = useLocation();
  return (
    <div className="state state-error" role="alert">
      <strong>{title}</strong>
      <p>{message}</p>
      {needsLogin && (
        <p>
          <Link to={loginPath(location.pathname + location.search)}>Sign in</Link> to see this
          page.
        </p>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state state-empty">{children}</div>;
}

/** Loading / error / empty / data for one query result. */
export function QueryState<T>({
  query,
  isEmpty,
  empty,
  loadingLabel,
  errorTitle,
  children,
}: {
  query: { data: T | undefined; error: unknown; isPending: boolean; isError: boolean };
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  loadingLabel?: string;
  errorTitle?: string;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading label={loadingLabel} />;
  if (query.isError || query.data === undefined)
    return <ErrorState error={query.error} title={errorTitle} />;
  if (isEmpty?.(query.data)) return <Empty>{empty ?? "Nothing here yet."}</Empty>;
  return <>{children(query.data)}</>;
}
