// The web console in a real browser (Debian's chromium through playwright-core) against a real
// Berth with real containers: sign-in (a wrong secret refused), the session's cookie and
// headers, CSRF, running a task from the form and watching it start and log, stopping it,
// scaling a service, the registry, and signing out for good. Screenshots go to
// test-output/console for review.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CreateServiceCommand,
  DescribeServicesCommand,
  RegisterTaskDefinitionCommand,
  type ContainerDefinition,
} from "@aws-sdk/client-ecs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { describeTask, startEcsTestbed, until, type EcsTestbed } from "../../src/testing/index.js";
import { consoleFetch, launchBrowser, screenshot, signIn } from "./console-browser.js";

let bed: EcsTestbed;
let browser: Browser;
let context: BrowserContext;
let page: Page;

async function register(
  family: string,
  container: Omit<ContainerDefinition, "image">,
): Promise<void> {
  await bed.ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ image: bed.image, essential: true, stopTimeout: 2, ...container }],
    }),
  );
}

before(async () => {
  // Short metric periods: the service's chart gets datapoints within seconds.
  bed = await startEcsTestbed({ args: ["--metric-period-seconds", "2"] });
  await register("console-ticker", {
    name: "ticker",
    command: [
      "sh",
      "-c",
      "trap 'exit 0' TERM; i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.5; done",
    ],
  });
  await register("console-web", {
    name: "web",
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"],
  });
  await bed.ecs.send(
    new CreateServiceCommand({
      serviceName: "web",
      taskDefinition: "console-web",
      desiredCount: 1,
    }),
  );
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await bed?.stop();
});

async function sessionCookie(): Promise<{
  value: string;
  httpOnly: boolean;
  sameSite: string;
  expires: number;
}> {
  const cookie = (await context.cookies()).find((c) => c.name === "berth_console");
  assert.ok(cookie !== undefined, "the session cookie is set");
  return cookie;
}

describe("console", () => {
  it("answers no page, API call or stream without a session, and sends its security headers", async () => {
    const endpoint = bed.berth.endpoint;
    const pageAnswer = await consoleFetch(endpoint, "/console/clusters");
    assert.equal(pageAnswer.status, 303);
    assert.match(pageAnswer.headers.get("location") ?? "", /^\/console\/signin\?next=/);
    for (const path of [
      "/console/api/tasks?cluster=default",
      "/console/api/events",
      "/console/api/hosts",
      "/console/api/logs?task=x",
    ]) {
      const answer = await consoleFetch(endpoint, path);
      assert.equal(answer.status, 401, path);
      assert.equal(((await answer.json()) as { code: string }).code, "NoSession");
    }
    const call = await consoleFetch(
      endpoint,
      "/console/api/aws/AmazonEC2ContainerServiceV20141113.ListTasks",
      {
        method: "POST",
        body: "{}",
      },
    );
    assert.equal(call.status, 401);
    // A forged cookie is no session either.
    const forged = await consoleFetch(endpoint, "/console/api/session", {
      cookie: "berth_console=forged",
    });
    assert.equal(forged.status, 401);

    const signInPage = await consoleFetch(endpoint, "/console/signin");
    assert.equal(signInPage.status, 200);
    const csp = signInPage.headers.get("content-security-policy") ?? "";
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(signInPage.headers.get("x-content-type-options"), "nosniff");
    assert.equal(signInPage.headers.get("x-frame-options"), "DENY");
    // No inline script in the page itself: the CSP could not allow one.
    const html = await signInPage.text();
    assert.doesNotMatch(html, /<script>|<script(?![^>]*\bsrc=)[^>]*>/);
    const bundle = await consoleFetch(endpoint, "/console/assets/app.js");
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get("content-type") ?? "", /javascript/);
  });

  it("refuses a wrong secret and sets no session", async () => {
    await page.goto(`${bed.berth.endpoint}/console/clusters`);
    await page.waitForURL(/\/console\/signin/);
    await page.getByLabel("Access key ID").fill(bed.berth.credentials.accessKeyId);
    await page.getByLabel("Secret access key").fill(`${bed.berth.credentials.secretAccessKey}x`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").getByText("The access key or the secret is wrong.").waitFor();
    assert.equal((await context.cookies()).length, 0);
    // The secret is not left in the form.
    assert.equal(await page.getByLabel("Secret access key").inputValue(), "");
    await screenshot(page, "signin-refused");
  });

  it("signs in with the right secret: an HttpOnly, SameSite=Strict cookie that expires", async () => {
    await signIn(page, bed.berth.endpoint, bed.berth.credentials);
    await page.getByRole("heading", { name: "Clusters" }).waitFor();
    await page.getByRole("link", { name: "default" }).waitFor();
    const cookie = await sessionCookie();
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.ok(cookie.expires > Date.now() / 1000, "the cookie has an expiry");
    // Script in the page cannot read it.
    assert.doesNotMatch(String(await page.evaluate("document.cookie")), /berth_console/);
    // Nothing of the secret is kept in the browser's storage.
    // (Expressions as strings: the tests' tsconfig has no DOM types.)
    const stored = String(
      await page.evaluate(
        "JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })",
      ),
    );
    assert.ok(!stored.includes(bed.berth.credentials.secretAccessKey));
    await page.getByRole("heading", { name: "Hosts" }).waitFor();
    // The local host's zone, with its capacity.
    await page.getByTestId("zones").locator("tbody tr").first().waitFor();
    await page.getByText("ACTIVE").first().waitFor();
    await screenshot(page, "clusters");
  });

  it("refuses a state change without the session's CSRF token or from another origin", async () => {
    const cookie = `berth_console=${(await sessionCookie()).value}`;
    const target = "/console/api/aws/AmazonEC2ContainerServiceV20141113.UpdateService";
    const body = JSON.stringify({ service: "web", desiredCount: 5 });
    const noToken = await consoleFetch(bed.berth.endpoint, target, {
      method: "POST",
      cookie,
      body,
    });
    assert.equal(noToken.status, 403);
    const session = (await (
      await consoleFetch(bed.berth.endpoint, "/console/api/session", { cookie })
    ).json()) as { csrfToken: string };
    const otherOrigin = await consoleFetch(bed.berth.endpoint, target, {
      method: "POST",
      cookie,
      body,
      headers: { "X-Berth-Csrf": session.csrfToken, Origin: "http://evil.example" },
    });
    assert.equal(otherOrigin.status, 403);
    const { services = [] } = await bed.ecs.send(
      new DescribeServicesCommand({ services: ["web"] }),
    );
    assert.equal(services[0]?.desiredCount, 1, "neither request changed the service");
    // The same request with the token is the console's own, and works.
    const read = await consoleFetch(
      bed.berth.endpoint,
      "/console/api/aws/AmazonEC2ContainerServiceV20141113.ListServices",
      {
        method: "POST",
        cookie,
        body: "{}",
        headers: { "X-Berth-Csrf": session.csrfToken },
      },
    );
    assert.equal(read.status, 200);
  });

  it("runs a task from the form, shows it RUNNING with its log lines arriving, and stops it", async () => {
    await page.getByRole("link", { name: "Run task" }).first().click();
    await page.getByRole("heading", { name: "Run a task" }).waitFor();
    await page.getByLabel("Task definition (family or family:revision)").fill("console-ticker");
    await screenshot(page, "run-task");
    await page.getByRole("button", { name: "Run task" }).click();
    await page.waitForURL(/\/console\/clusters\/default\/tasks\/[0-9a-f]{32}$/, {
      timeout: 60_000,
    });
    const taskId = page.url().split("/").pop() ?? "";
    await page.getByTestId("task-status").getByText("RUNNING").waitFor({ timeout: 120_000 });
    const logs = page.getByTestId("logs");
    await logs.getByText(/tick-3\b/).waitFor({ timeout: 60_000 });
    const before = (await logs.textContent()) ?? "";
    // More lines arrive on the open stream without reloading the page.
    await logs.getByText(/tick-8\b/).waitFor({ timeout: 60_000 });
    assert.ok(((await logs.textContent()) ?? "").length > before.length);
    await screenshot(page, "task-running");

    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByTestId("task-status").getByText("STOPPED").waitFor({ timeout: 120_000 });
    const task = await describeTask(
      bed.ecs,
      `arn:aws:ecs:us-east-1:000000000000:task/default/${taskId}`,
    );
    assert.equal(task.lastStatus, "STOPPED");
    assert.equal(task.stoppedReason, "Stopped from the Berth console");
    assert.equal(task.containers?.[0]?.exitCode, 0);
    await page.getByTestId("exit-ticker").getByText("0").waitFor();
    await screenshot(page, "task-stopped");
  });

  it("scales a service and shows its new tasks", async () => {
    await page.goto(`${bed.berth.endpoint}/console/clusters/default`);
    await page.getByRole("link", { name: "web" }).waitFor();
    await screenshot(page, "cluster");
    await page.getByRole("link", { name: "web" }).click();
    await page.getByRole("heading", { name: "Service web" }).waitFor();
    await page.getByLabel("Desired tasks").fill("3");
    await page.getByRole("button", { name: "Scale" }).click();
    await page.getByTestId("desired").getByText("3").waitFor({ timeout: 30_000 });
    // Its auto scaling section asked Application Auto Scaling through the same gateway.
    await page.getByText("Not scaled automatically").waitFor();
    // Three tasks whose last status (the second column; desired is RUNNING for all) is RUNNING.
    const running = page
      .getByTestId("service-tasks")
      .locator("tbody tr td:nth-child(2)")
      .filter({ hasText: "RUNNING" });
    await running.nth(2).waitFor({ timeout: 120_000 });
    assert.equal(await running.count(), 3);
    await page.getByTestId("running").getByText("3").waitFor({ timeout: 30_000 });
    const { services = [] } = await bed.ecs.send(
      new DescribeServicesCommand({ services: ["web"] }),
    );
    assert.equal(services[0]?.desiredCount, 3);
    // Its metrics chart fills as periods close (live, through the change stream).
    const chart = page.locator("figure.chart svg").first();
    await until(
      "the service's chart has datapoints",
      async () => Number(await chart.getAttribute("data-points")),
      (points) => points >= 3,
      { timeoutMs: 90_000, everyMs: 500 },
    );
    const cookie = `berth_console=${(await sessionCookie()).value}`;
    const metrics = (await (
      await consoleFetch(bed.berth.endpoint, "/console/api/metrics?cluster=default&service=web", {
        cookie,
      })
    ).json()) as { points: { cpu?: number; memory?: number; running?: number }[] };
    assert.ok(
      metrics.points.some(
        (p) => p.cpu !== undefined && p.memory !== undefined && (p.running ?? 0) > 0,
      ),
    );
    await screenshot(page, "service-scaled");
  });

  it("lists the registry's repositories and a repository's images with tags and sizes", async () => {
    await page.getByRole("link", { name: "Registry" }).click();
    await page.getByRole("link", { name: "busybox" }).click();
    const images = page.getByTestId("images");
    await images.getByText("latest").waitFor();
    assert.match((await images.textContent()) ?? "", /sha256:[0-9a-f]{12}.*(KiB|MiB)/);
    await screenshot(page, "registry");
  });

  it("signs out for good: the old cookie no longer opens anything", async () => {
    const old = `berth_console=${(await sessionCookie()).value}`;
    assert.equal(
      (await consoleFetch(bed.berth.endpoint, "/console/api/session", { cookie: old })).status,
      200,
    );
    // A stream the session opened before it signed out must end with it.
    const stream = await consoleFetch(bed.berth.endpoint, "/console/api/events", { cookie: old });
    assert.equal(stream.status, 200);
    const reader = stream.body?.getReader();
    assert.ok(reader !== undefined);
    const ended = (async () => {
      for (;;) if ((await reader.read()).done) return true;
    })();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/console\/signin/);
    let timer: NodeJS.Timeout | undefined;
    const endedInTime = await Promise.race([
      ended,
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 30_000))),
    ]);
    clearTimeout(timer);
    assert.equal(endedInTime, true, "the open event stream ended with the session");
    assert.equal((await context.cookies()).filter((c) => c.value !== "").length, 0);
    // Replayed after sign-out: refused everywhere.
    assert.equal(
      (await consoleFetch(bed.berth.endpoint, "/console/api/session", { cookie: old })).status,
      401,
    );
    assert.equal(
      (await consoleFetch(bed.berth.endpoint, "/console/api/events", { cookie: old })).status,
      401,
    );
    assert.equal(
      (await consoleFetch(bed.berth.endpoint, "/console/clusters", { cookie: old })).status,
      303,
    );
  });
  it("throttles guessing: after five wrong secrets even the right one waits", async () => {
    const attempt = (secretAccessKey: string) =>
      consoleFetch(bed.berth.endpoint, "/console/api/session", {
        method: "POST",
        body: JSON.stringify({ accessKeyId: bed.berth.credentials.accessKeyId, secretAccessKey }),
      });
    for (let i = 0; i < 5; i++) assert.equal((await attempt(`guess-${i}`)).status, 401);
    const refused = await attempt(bed.berth.credentials.secretAccessKey);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get("retry-after")) > 0);
    assert.equal(refused.headers.get("set-cookie"), null);
  });
});
