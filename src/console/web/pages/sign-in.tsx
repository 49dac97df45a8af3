/**
 * Sign-in with the account's access key and secret. The secret goes once to the server over
 * this origin, which checks it and answers with an HttpOnly cookie; the page keeps nothing.
 * Or with a one-time link (`berth up` prints one, `berth console` opens one): its token is in
 * the URL's fragment, which the browser never sends anywhere; the page takes it out of the
 * address bar at once and exchanges it, once, for the same cookie.
 */
import { useEffect } from "preact/hooks";
import { useLocation } from "preact-iso";
import { BASE, signIn, signInWithLink, useActions } from "../api.js";
import { Failure } from "../components.js";
import { formText } from "../format.js";

export function SignInPage() {
  const { query, route } = useLocation();
  const { busy, error, act } = useActions();
  const enter = (): void => {
    const next = query.next ?? "";
    // Only a console path: an open redirect would hand the session's first page to anyone.
    route(
      next.startsWith(`${BASE}/`) && !next.startsWith(`${BASE}/signin`) ? next : `${BASE}/clusters`,
    );
  };
  useEffect(() => {
    const link = /^#link=([A-Za-z0-9_-]{1,100})$/.exec(window.location.hash)?.[1];
    if (link === undefined) return;
    // Out of the address bar and the history at once, used or not.
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    act("link", () => signInWithLink(link).then(enter));
  }, []);
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const key = formText(data, "accessKeyId").trim();
    const secret = formText(data, "secretAccessKey");
    // The secret leaves the form at once: nothing of it stays in the page.
    (form.elements.namedItem("secretAccessKey") as HTMLInputElement).value = "";
    act("sign-in", () => signIn(key, secret).then(enter));
  };
  return (
    <main id="main" class="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Berth</h1>
        <p class="muted">With the access key and secret `berth up` printed.</p>
        <label for="accessKeyId">Access key ID</label>
        <input
          id="accessKeyId"
          name="accessKeyId"
          autocomplete="username"
          required
          spellcheck={false}
        />
        <label for="secretAccessKey">Secret access key</label>
        <input
          id="secretAccessKey"
          name="secretAccessKey"
          type="password"
          autocomplete="current-password"
          required
        />
        <Failure error={error} />
        <button type="submit" disabled={busy !== undefined}>
          {busy !== undefined ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
