// The web console in a real browser (Debian's chromium through playwright-core) against a real
// Berth with real containers: sign-in (a wrong secret refused), the session's cookie and
// headers, CSRF, running a task from the form and watching it start and log, stopping it,
// scaling a service, the registry, and signing out for good. Screenshots go to
// test-output/console for review.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import {
  CreateServiceCommand,
  DescribeServicesCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type ContainerDefinition,
} from "@aws-sdk/client-ecs";
import {
  ApplicationAutoScalingClient,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from "@aws-sdk/client-application-auto-scaling";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeImagesCommand, ECRClient } from "@aws-sdk/client-ecr";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  describeTask,
  freePort,
  pushBusyboxImage,
  startEcsTestbed,
  until,
  type EcsTestbed,
} from "../../src/testing/index.js";
import { consoleFetch, launchBrowser, screenshot, signIn } from "./console-browser.js";

let bed: EcsTestbed;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let elb: ElasticLoadBalancingV2Client;
let listenerPort = 0;
let targetGroupArn = "";

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
    // A container health check: the task page shows its result.
    healthCheck: { command: ["CMD-SHELL", "true"], interval: 5, timeout: 2, retries: 1 },
  });
  await register("console-web", {
    name: "web",
    command: [
      "sh",
      "-c",
      "mkdir -p /www && echo ok > /www/index.html && exec busybox httpd -f -p 8080 -h /www",
    ],
    portMappings: [{ containerPort: 8080 }],
  });
  // The service sits behind a load balancer: its page shows the targets and their health.
  elb = new ElasticLoadBalancingV2Client(bed.berth.clientConfig);
  const { LoadBalancers } = await elb.send(new CreateLoadBalancerCommand({ Name: "console" }));
  const { TargetGroups } = await elb.send(
    new CreateTargetGroupCommand({
      Name: "console-web",
      Protocol: "HTTP",
      Port: 8080,
      TargetType: "ip",
      HealthCheckIntervalSeconds: 5,
      HealthCheckTimeoutSeconds: 2,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
    }),
  );
  targetGroupArn = TargetGroups?.[0]?.TargetGroupArn ?? "";
  listenerPort = await freePort();
  await elb.send(
    new CreateListenerCommand({
      Protocol: "HTTP",
      LoadBalancerArn: LoadBalancers?.[0]?.LoadBalancerArn,
      Port: listenerPort,
      DefaultActions: [{ Type: "forward", TargetGroupArn: targetGroupArn }],
    }),
  );
  await bed.ecs.send(
    new CreateServiceCommand({
      serviceName: "web",
      taskDefinition: "console-web",
      desiredCount: 1,
      loadBalancers: [{ targetGroupArn, containerName: "web", containerPort: 8080 }],
      networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1"] } },
    }),
  );
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  elb?.destroy();
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
    const elbCall = await consoleFetch(
      endpoint,
      "/console/api/query/elasticloadbalancing/DescribeTargetGroups",
      { method: "POST", body: "{}" },
    );
    assert.equal(elbCall.status, 401);
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
    // The Query services (ELB) the same: no token, no change.
    const elbNoToken = await consoleFetch(
      bed.berth.endpoint,
      "/console/api/query/elasticloadbalancing/DeleteLoadBalancer",
      { method: "POST", cookie, body: JSON.stringify({ LoadBalancerArn: "x" }) },
    );
    assert.equal(elbNoToken.status, 403);
    assert.equal(((await elbNoToken.json()) as { code: string }).code, "CsrfRefused");
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
    // A Query service's error comes back AWS-shaped, as JSON.
    const missing = await consoleFetch(
      bed.berth.endpoint,
      "/console/api/query/elasticloadbalancing/DescribeTargetHealth",
      {
        method: "POST",
        cookie,
        body: JSON.stringify({
          TargetGroupArn:
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/none/0123456789abcdef",
        }),
        headers: { "X-Berth-Csrf": session.csrfToken },
      },
    );
    assert.equal(missing.status, 400);
    assert.equal(((await missing.json()) as { __type: string }).__type, "TargetGroupNotFound");
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
    // The container's health check passes, and the page says so.
    await page.getByTestId("health-ticker").getByText("HEALTHY").waitFor({ timeout: 60_000 });
    // Reserved against used: the task's size, and what the last metric period measured.
    const limits = page.getByTestId("task-limits");
    await limits.getByText("0.25 vCPU (256 units)").waitFor();
    await limits.getByText("512 MiB").waitFor();
    await page
      .getByTestId("used-memory")
      .getByText(/^\d+\.\d MiB \(\d+\.\d%\)$/)
      .waitFor({ timeout: 60_000 });
    // The task's own utilization chart draws those datapoints.
    const taskChart = page
      .locator("figure.chart")
      .filter({ hasText: "Utilization" })
      .locator("svg");
    await until(
      "the task's utilization chart has datapoints",
      async () => Number(await taskChart.getAttribute("data-points")),
      (n) => n >= 1,
      { timeoutMs: 30_000, everyMs: 250 },
    );
    assert.match(
      (await page.getByTestId("used-cpu").textContent()) ?? "",
      /^\d+\.\d units \(\d+\.\d%\)$/,
    );
    // The timeline so far: created, pulled, started, in order; not stopped.
    const timeline = async (): Promise<Map<string, string>> => {
      const entries = new Map<string, string>();
      for (const item of await page.getByTestId("timeline").locator("li.done").all()) {
        const label = (await item.locator("span").textContent()) ?? "";
        entries.set(label, (await item.locator("time").textContent()) ?? "");
      }
      return entries;
    };
    const running = await timeline();
    const order = ["Created", "Pull started", "Pull stopped", "Started"];
    for (const label of order)
      assert.match(running.get(label) ?? "", /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/, label);
    const times = order.map((label) => running.get(label) ?? "");
    assert.deepEqual([...times].sort(), times, "the timeline is in order");
    assert.equal(running.has("Stopped"), false);
    // Search keeps only the matching lines; clearing it shows them all again.
    await page.getByLabel("Search").fill("tick-3");
    const found = ((await logs.textContent()) ?? "").split("\n").filter((l) => l !== "");
    assert.ok(found.length >= 1);
    for (const line of found) assert.match(line, /^ticker \| tick-3\d*$/);
    await page.getByLabel("Search").fill("");
    assert.ok(((await logs.textContent()) ?? "").includes("tick-0"));
    // Download: the output as a file, with each line's time, container and stream.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `${taskId}.log`);
    const saved = await readFile(await download.path(), "utf8");
    assert.match(saved, /^\d{4}-\d\d-\d\dT\S+ ticker stdout tick-0$/m);
    assert.match(saved, /ticker stdout tick-8$/m);
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
    // The whole timeline now, ending with its stop.
    await page
      .getByTestId("timeline")
      .locator("li.done")
      .filter({ hasText: "Stopped" })
      .first()
      .waitFor();
    const stopped = await timeline();
    for (const label of ["Stopping", "Execution stopped", "Stopped"])
      assert.ok((stopped.get(label) ?? "") >= (stopped.get("Started") ?? "~"), label);
    await screenshot(page, "task-stopped");

    // Run again: the same task definition, a new task, on its own page.
    await page.getByRole("button", { name: "Run again" }).click();
    await page.waitForURL(
      (url) => /\/tasks\/[0-9a-f]{32}$/.test(url.pathname) && !url.pathname.endsWith(taskId),
      { timeout: 60_000 },
    );
    const againId = page.url().split("/").pop() ?? "";
    await page.getByTestId("task-status").getByText("RUNNING").waitFor({ timeout: 120_000 });
    const again = await describeTask(
      bed.ecs,
      `arn:aws:ecs:us-east-1:000000000000:task/default/${againId}`,
    );
    assert.equal(again.taskDefinitionArn, task.taskDefinitionArn);
    await page
      .getByTestId("logs")
      .getByText(/tick-1\b/)
      .waitFor({ timeout: 60_000 });
    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByTestId("task-status").getByText("STOPPED").waitFor({ timeout: 120_000 });
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
    // Each task is a target of the service's target group, and turns healthy there (live: the
    // page re-reads when the load balancer's health checks change a target's state).
    const healthy = page
      .getByTestId("targets-console-web")
      .locator("tbody tr")
      .filter({ hasText: "healthy" })
      .filter({ hasNotText: "unhealthy" });
    await healthy.nth(2).waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId("targets-console-web").locator("tbody tr").count(), 3);
    assert.match(
      (await healthy.first().textContent()) ?? "",
      /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+:8080/,
    );
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

  it("times each request through the listener: TargetResponseTime on the load balancer page", async () => {
    // Requests through the listener while a few metric periods (2 s) close.
    let sending = true;
    let answered = 0;
    const traffic = (async () => {
      while (sending) {
        const res = await fetch(`http://127.0.0.1:${listenerPort}/`);
        if (res.status === 200 && (await res.text()) === "ok\n") answered++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      await page.getByRole("link", { name: "Load balancers" }).click();
      await page.getByRole("heading", { name: "Load balancers" }).waitFor();
      const group = page.getByTestId("tg-metrics-console-web");
      await group.getByRole("heading", { name: "Target group console-web" }).waitFor();
      // The listener and where it forwards.
      await page.getByTestId("lb-console").getByText(`HTTP:${listenerPort}`).waitFor();
      await page.getByTestId("lb-console").getByText("forward to console-web").waitFor();
      // The response time chart fills with datapoints whose latest Average is above zero.
      const latency = group
        .locator("figure.chart")
        .filter({ hasText: "Target response time" })
        .locator("svg");
      const [points, latest] = await until(
        "the target group's response time chart has datapoints",
        async () => [
          Number(await latency.getAttribute("data-points")),
          Number(await latency.getAttribute("data-latest")),
        ],
        ([n, value]) => (n ?? 0) >= 2 && (value ?? 0) > 0,
        { timeoutMs: 90_000, everyMs: 500 },
      );
      assert.ok((points ?? 0) >= 2 && (latest ?? 0) > 0);
      // Its caption says the same in milliseconds.
      const caption =
        (await group
          .locator("figure.chart figcaption")
          .filter({ hasText: "Target response time" })
          .textContent()) ?? "";
      const average = /Average (\d+\.\d) ms/.exec(caption);
      assert.ok(average !== null, caption);
      // The requests chart beside it counts them.
      const requests = group
        .locator("figure.chart")
        .filter({ hasText: "Requests per period" })
        .locator("svg");
      assert.ok(Number(await requests.getAttribute("data-points")) >= 2);
      await screenshot(page, "load-balancers");
    } finally {
      sending = false;
      await traffic;
    }
    assert.ok(answered > 0, "the listener answered");
    // The API behind it: seconds as CloudWatch's TargetResponseTime, with p90 and p99; the
    // service's own series has it too, and its page charts it.
    const cookie = `berth_console=${(await sessionCookie()).value}`;
    for (const query of [
      `targetGroup=${encodeURIComponent(targetGroupArn)}`,
      "cluster=default&service=web",
    ]) {
      const { points } = (await (
        await consoleFetch(bed.berth.endpoint, `/console/api/metrics?${query}`, { cookie })
      ).json()) as {
        points: { requests?: number; latency?: number; latencyP90?: number; latencyP99?: number }[];
      };
      const timed = points.filter((p) => p.latency !== undefined);
      assert.ok(timed.length >= 1, `${query}: timed datapoints`);
      for (const p of timed) {
        assert.ok((p.latency ?? 0) > 0 && (p.latency ?? 0) < 60, `${query}: ${p.latency}`);
        assert.ok((p.latencyP99 ?? 0) >= (p.latencyP90 ?? 0), `${query}: p99 >= p90`);
        assert.ok((p.requests ?? 0) > 0, `${query}: a timed period has requests`);
      }
    }
    await page.goto(`${bed.berth.endpoint}/console/clusters/default/services/web`);
    const serviceLatency = page
      .locator("figure.chart")
      .filter({ hasText: "Target response time" })
      .locator("svg");
    await until(
      "the service's response time chart",
      async () => Number(await serviceLatency.getAttribute("data-points")),
      (n) => n >= 1,
      { timeoutMs: 30_000, everyMs: 500 },
    );
  });

  it("shows a rollout, rolls a failing one back, forces a new deployment, and shows auto scaling", async () => {
    await page.goto(`${bed.berth.endpoint}/console/clusters/default/services/web`);
    await page.getByRole("heading", { name: "Service web" }).waitFor();
    await page.getByLabel("Desired tasks").fill("1");
    await page.getByRole("button", { name: "Scale" }).click();
    await page.getByTestId("running").getByText(/^1$/).waitFor({ timeout: 120_000 });
    const deployments = page.getByTestId("deployments").locator("tbody tr");
    const primary = deployments.filter({ hasText: "PRIMARY" });
    await primary.filter({ hasText: "COMPLETED" }).waitFor({ timeout: 120_000 });
    // A revision whose container exits at once: its rollout cannot finish, the old one stays.
    await register("console-web", {
      name: "web",
      command: ["sh", "-c", "exit 3"],
      portMappings: [{ containerPort: 8080 }],
    });
    await bed.ecs.send(
      new UpdateServiceCommand({ service: "web", taskDefinition: "console-web:2" }),
    );
    await primary.filter({ hasText: "console-web:2" }).filter({ hasText: "IN_PROGRESS" }).waitFor({
      timeout: 30_000,
    });
    await deployments.filter({ hasText: "ACTIVE" }).filter({ hasText: "console-web:1" }).waitFor();
    // Its failures show as they happen.
    await until(
      "the failing deployment's failed tasks",
      async () =>
        Number(
          await primary.filter({ hasText: "console-web:2" }).locator("td").nth(5).textContent(),
        ),
      (failed) => failed >= 1,
      { timeoutMs: 120_000, everyMs: 500 },
    );
    await screenshot(page, "service-rollout-failing");
    await page.getByRole("button", { name: "Roll back to console-web:1" }).click();
    await primary.filter({ hasText: "console-web:1" }).filter({ hasText: "COMPLETED" }).waitFor({
      timeout: 120_000,
    });
    const rolledBack = await bed.ecs.send(new DescribeServicesCommand({ services: ["web"] }));
    assert.match(rolledBack.services?.[0]?.taskDefinition ?? "", /console-web:1$/);
    const before = (await primary.locator("td").first().textContent()) ?? "";

    // Force a new deployment: a new PRIMARY of the same revision that completes.
    await page.getByRole("button", { name: "Force new deployment" }).click();
    await until(
      "a new PRIMARY deployment",
      async () => (await primary.locator("td").first().textContent()) ?? "",
      (id) => id !== "" && id !== before,
      { timeoutMs: 30_000, everyMs: 250 },
    );
    await primary.filter({ hasText: "COMPLETED" }).waitFor({ timeout: 120_000 });
    const forced = await bed.ecs.send(new DescribeServicesCommand({ services: ["web"] }));
    const deployment = forced.services?.[0]?.deployments?.find((d) => d.status === "PRIMARY");
    assert.equal(deployment?.id, await primary.locator("td").first().textContent());
    assert.equal(deployment?.rolloutState, "COMPLETED");
    // The events tell the story, newest first: the rollback's and the forced deployment's.
    const events = page.getByTestId("service-events");
    await events.getByText(`(deployment ${deployment?.id ?? ""}) deployment completed.`).waitFor();
    await events.getByText("has reached a steady state.").first().waitFor();

    // Auto scaling: its target and policy, as Application Auto Scaling describes them.
    const scaling = new ApplicationAutoScalingClient(bed.berth.clientConfig);
    try {
      await scaling.send(
        new RegisterScalableTargetCommand({
          ServiceNamespace: "ecs",
          ResourceId: "service/default/web",
          ScalableDimension: "ecs:service:DesiredCount",
          MinCapacity: 1,
          MaxCapacity: 4,
        }),
      );
      await scaling.send(
        new PutScalingPolicyCommand({
          PolicyName: "cpu-tracking",
          ServiceNamespace: "ecs",
          ResourceId: "service/default/web",
          ScalableDimension: "ecs:service:DesiredCount",
          PolicyType: "TargetTrackingScaling",
          TargetTrackingScalingPolicyConfiguration: {
            TargetValue: 90,
            PredefinedMetricSpecification: {
              PredefinedMetricType: "ECSServiceAverageCPUUtilization",
            },
            // Nothing scales while the rest of this file runs.
            DisableScaleIn: true,
          },
        }),
      );
    } finally {
      scaling.destroy();
    }
    await page.reload();
    await page.getByText("Between 1 and 4 tasks.").waitFor();
    await page
      .getByTestId("scaling-policies")
      .getByText("cpu-tracking: TargetTrackingScaling, ECSServiceAverageCPUUtilization at 90")
      .waitFor();
    await screenshot(page, "service-deployments");
  });

  it("lists the registry's repositories and a repository's images with tags and sizes", async () => {
    await page.getByRole("link", { name: "Registry" }).click();
    await page.getByRole("link", { name: "busybox" }).click();
    const images = page.getByTestId("images");
    await images.getByText("latest").waitFor();
    assert.match((await images.textContent()) ?? "", /sha256:[0-9a-f]{12}.*(KiB|MiB)/);
    await page.getByTestId("lifecycle-policy").getByText("No lifecycle policy").waitFor();
    // A newer image: test rules that keep one image would expire the older "latest".
    await pushBusyboxImage(bed.berth, "busybox", { tag: "v2", labels: { v: "2" } });
    await page.reload();
    await images.getByText("v2").waitFor();
    await page.getByLabel("Policy to preview (JSON; empty: the one in force)").fill(
      JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 1 },
            action: { type: "expire" },
          },
        ],
      }),
    );
    await page.getByRole("button", { name: "Preview" }).click();
    await page
      .getByTestId("lifecycle-summary")
      .getByText("1 image(s) would expire under the previewed rules")
      .waitFor();
    const expiring = await page.getByTestId("lifecycle-preview").locator("tbody tr").all();
    assert.equal(expiring.length, 1);
    assert.match((await expiring[0]?.textContent()) ?? "", /latest.*EXPIRE/);
    // Bad rules are ECR's error, shown; and a preview expires nothing.
    await page.getByLabel("Policy to preview (JSON; empty: the one in force)").fill("{}");
    await page.getByRole("button", { name: "Preview" }).click();
    await page.getByRole("alert").waitFor();
    const ecr = new ECRClient(bed.berth.clientConfig);
    const { imageDetails = [] } = await ecr.send(
      new DescribeImagesCommand({ repositoryName: "busybox" }),
    );
    ecr.destroy();
    assert.equal(imageDetails.length, 2);
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
  it("signs in once with a one-time link from berth console; the link replayed is refused", async () => {
    // berth up printed one in its banner.
    assert.match(bed.berth.output(), /sign-in link +http:\/\/\S+\/console\/signin#link=[\w-]{43}/);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [fileURLToPath(new URL("../../bin/berth.js", import.meta.url)), "console", "--print"],
      {
        env: {
          ...bed.berth.berthEnv,
          BERTH_ENDPOINT: bed.berth.endpoint,
          DISPLAY: "",
        },
      },
    );
    const url = stdout.split("\n")[0] ?? "";
    assert.match(url, /^http:\/\/[^#?]+\/console\/signin#link=[\w-]{43}$/);
    assert.ok(!url.includes(bed.berth.credentials.secretAccessKey), "no secret in the link");
    const first = await browser.newContext();
    const second = await browser.newContext();
    try {
      const linked = await first.newPage();
      await linked.goto(url);
      await linked.getByRole("button", { name: "Sign out" }).waitFor();
      await linked.getByRole("heading", { name: "Clusters" }).waitFor();
      // The token is gone from the address bar.
      assert.doesNotMatch(linked.url(), /link=/);
      const cookie = (await first.cookies()).find((c) => c.name === "berth_console");
      assert.equal(cookie?.httpOnly, true);
      // The same link again, in another browser: refused, no session.
      const replay = await second.newPage();
      await replay.goto(url);
      await replay
        .getByRole("alert")
        .getByText(/used already or has expired/)
        .waitFor();
      assert.equal((await second.cookies()).length, 0);
      await screenshot(replay, "signin-link-replayed");
      const token = url.split("#link=")[1] ?? "";
      const api = await consoleFetch(bed.berth.endpoint, "/console/api/session", {
        method: "POST",
        body: JSON.stringify({ linkToken: token }),
      });
      assert.equal(api.status, 401);
      assert.equal(api.headers.get("set-cookie"), null);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("throttles guessing: after five wrong secrets even the right one waits", async () => {
    const attempt = (secretAccessKey: string) =>
      consoleFetch(bed.berth.endpoint, "/console/api/session", {
        method: "POST",
        body: JSON.stringify({ accessKeyId: bed.berth.credentials.accessKeyId, secretAccessKey }),
      });
    // (The replayed link just before counts as a failure too: some guesses may already wait.)
    for (let i = 0; i < 5; i++)
      assert.ok([401, 429].includes((await attempt(`guess-${i}`)).status));
    const refused = await attempt(bed.berth.credentials.secretAccessKey);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get("retry-after")) > 0);
    assert.equal(refused.headers.get("set-cookie"), null);
  });
});
