import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ApiError } from "../api/client";
import { safeNext, useSession, useSignIn } from "../api/session";

/** Field errors of a 400 (`{"username": ["This field is required."]}`), else none. */
function fieldErrors(error: unknown, field: string): string[] {
  if (!(error instanceof ApiError) || error.status !== 400) return [];
  const messages = (error.body as Record<string, unknown> | null)?.[field];
  return Array.isArray(messages) ? messages.map(String) : [];
}

/** Sign in with a username and password, then go to `?next=` (default `/`). */
export function LoginPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const navigate = useNavigate();
  // Reading the session also makes Django set the csrftoken cookie the POST needs.
  const session = useSession();
  const signIn = useSignIn();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate({ username, password }, { onSuccess: () => navigate(next, { replace: true }) });
  };

  const usernameErrors = fieldErrors(signIn.error, "username");
  const passwordErrors = fieldErrors(signIn.error, "password");
  const generalError =
    signIn.isError && usernameErrors.length === 0 && passwordErrors.length === 0
      ? signIn.error.message
      : null;

  return (
    <div className="page login-page">
      <h1>Sign in</h1>
      {session.data && (
        <p className="notice" role="status">
          You are signed in as <strong>{session.data.username}</strong>.{" "}
          <Link to={next}>Continue</Link>, or sign in as someone else.
        </p>
      )}
      <form className="card form login-form" onSubmit={submit} noValidate>
        {generalError && (
          <div className="form-error" role="alert">
            {generalError}
          </div>
        )}
        <div className="field">
          <label htmlFor="login-username">Username</label>
          <input
            id="login-username"
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            aria-invalid={usernameErrors.length > 0 || undefined}
            aria-describedby={usernameErrors.length ? "login-username-error" : undefined}
          />
          {usernameErrors.length > 0 && (
            <p className="field-error" id="login-username-error">
              {usernameErrors.join(" ")}
            </p>
          )}
        </div>
        <div className="field">
          <label htmlFor="login-password">Password</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-invalid={passwordErrors.length > 0 || undefined}
            aria-describedby={passwordErrors.length ? "login-password-error" : undefined}
          />
          {passwordErrors.length > 0 && (
            <p className="field-error" id="login-password-error">
              {passwordErrors.join(" ")}
            </p>
          )}
        </div>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={signIn.isPending}>
            {signIn.isPending ? "Signing in…" : "Sign in"}
          </button>
        </div>
      </form>
    </div>
  );
}
