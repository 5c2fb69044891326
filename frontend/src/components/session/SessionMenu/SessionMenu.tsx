import { Link, useLocation, useNavigate } from "react-router";
import { loginPath, useSession, useSignOut } from "../../../api/session";

/** The header's session part: the username and "Sign out", or a "Sign in" link back here. */
export function SessionMenu() {
  const session = useSession();
  const signOut = useSignOut();
  const location = useLocation();
  const navigate = useNavigate();
  const here = location.pathname + location.search;

  if (session.isPending) return <span className="session muted small" aria-busy="true" />;
  if (session.data) {
    return (
      <span className="session">
        <span className="session-user" title={session.data.is_staff ? "staff" : undefined}>
          {session.data.username}
        </span>
        <button
          type="button"
          className="session-button"
          disabled={signOut.isPending}
          onClick={() =>
            signOut.mutate(undefined, { onSuccess: () => navigate(loginPath(here)) })
          }
        >
          {signOut.isPending ? "Signing out…" : "Sign out"}
        </button>
        {signOut.isError && (
          <span className="session-error" role="alert">
            {signOut.error.message}
          </span>
        )}
      </span>
    );
  }
  // Anonymous, or the session could not be read: either way signing in is the way forward.
  // On the login page itself keep its `next` rather than pointing back at the login page.
  const to = location.pathname === "/login" ? here : loginPath(here);
  return (
    <span className="session">
      <Link to={to}>Sign in</Link>
    </span>
  );
}
