/**
 * The console's frame: the session gate, the navigation, and the routes (each page has a
 * stable URL under /console that survives a reload and can be shared).
 */
import { useEffect, useState } from "preact/hooks";
import { LocationProvider, Route, Router, useLocation } from "preact-iso";
import { BASE, loadSession, onSession, signOut, type SessionInfo } from "./api.js";
import { ClustersPage, ClusterPage } from "./pages/clusters.js";
import { CostsPage } from "./pages/costs.js";
import { LoadBalancersPage } from "./pages/load-balancers.js";
import { RegistryPage, RepositoryPage } from "./pages/registry.js";
import { RunTaskPage } from "./pages/run-task.js";
import { ServicePage } from "./pages/service.js";
import { SignInPage } from "./pages/sign-in.js";
import { TaskPage } from "./pages/task.js";
import { TasksPage } from "./pages/tasks.js";

function Nav(props: { session: SessionInfo }) {
  const { path, route } = useLocation();
  const link = (href: string, label: string) => (
    <li>
      <a href={href} aria-current={path.startsWith(href) ? "page" : undefined}>
        {label}
      </a>
    </li>
  );
  return (
    <header class="top">
      <a class="brand" href={`${BASE}/clusters`}>
        Berth
      </a>
      <nav aria-label="Main">
        <ul>
          {link(`${BASE}/clusters`, "Clusters")}
          {link(`${BASE}/run`, "Run task")}
          {link(`${BASE}/load-balancers`, "Load balancers")}
          {link(`${BASE}/registry`, "Registry")}
          {link(`${BASE}/costs`, "Costs")}
        </ul>
      </nav>
      <div class="who">
        <span class="muted" title="Signed in as">
          {props.session.accessKeyId}
        </span>
        <button
          type="button"
          onClick={() => {
            void signOut().then(() => route(`${BASE}/signin`));
          }}
        >
          Sign out
        </button>
      </div>
    </header>
  );
}

function NotFound() {
  return (
    <section class="page">
      <h1>Not found</h1>
      <p>
        No console page here. <a href={`${BASE}/clusters`}>Go to clusters</a>.
      </p>
    </section>
  );
}

function Home() {
  const { route } = useLocation();
  useEffect(() => route(`${BASE}/clusters`, true), []);
  return null;
}

function Shell() {
  const [session, setSession] = useState<SessionInfo | undefined | "loading">("loading");
  const { path, url, route } = useLocation();
  useEffect(() => {
    const off = onSession((s) => setSession(s));
    void loadSession();
    return off;
  }, []);
  const signingIn = path === `${BASE}/signin`;
  useEffect(() => {
    if (session === undefined && !signingIn)
      route(`${BASE}/signin?next=${encodeURIComponent(url)}`, true);
  }, [session, signingIn]);
  if (signingIn) return <SignInPage />;
  if (session === "loading" || session === undefined) return null;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Nav session={session} />
      <main id="main">
        <Router>
          <Route path={BASE} component={Home} />
          <Route path={`${BASE}/`} component={Home} />
          <Route path={`${BASE}/clusters`} component={ClustersPage} />
          <Route path={`${BASE}/clusters/:cluster`} component={ClusterPage} />
          <Route path={`${BASE}/clusters/:cluster/tasks`} component={TasksPage} />
          <Route path={`${BASE}/clusters/:cluster/tasks/:task`} component={TaskPage} />
          <Route path={`${BASE}/clusters/:cluster/services/:service`} component={ServicePage} />
          <Route path={`${BASE}/load-balancers`} component={LoadBalancersPage} />
          <Route path={`${BASE}/registry`} component={RegistryPage} />
          <Route path={`${BASE}/registry/:repository*`} component={RepositoryPage} />
          <Route path={`${BASE}/costs`} component={CostsPage} />
          <Route path={`${BASE}/run`} component={RunTaskPage} />
          <Route default component={NotFound} />
        </Router>
      </main>
    </>
  );
}

export function App() {
  return (
    <LocationProvider scope={BASE}>
      <Shell />
    </LocationProvider>
  );
}
