import type { ReactNode } from "react";
import { ApiError, LOGIN_URL } from "../../../api/client";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

export function ErrorState({ error, title = "Could not load" }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : String(error);
  const needsLogin = error instanceof ApiError && error.needsLogin;
  const next = typeof window !== "undefined" ? window.location.pathname : "/";
  return (
    <div className="state state-error" role="alert">
      <strong>{title}</strong>
      <p>{message}</p>
      {needsLogin && (
        <p>
          <a href={`${LOGIN_URL}?next=${encodeURIComponent(next)}`}>Log in</a> to see this page.
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
