/**
 * The console's tests drive Debian's chromium through playwright-core (which never downloads a
 * browser): headless, without its sandbox (the tests run as root), screenshots kept under
 * test-output/console (gitignored) for a person to look at, never compared.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import type { Store } from "../../src/store/index.js";

export const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const SCREENSHOTS = join(ROOT, "test-output", "console");

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root cannot use chromium's sandbox; /dev/shm may be small on CI machines.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Signs in through the form, as a person would. */
export async function signIn(
  page: Page,
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  path = "/console/clusters",
): Promise<void> {
  await page.goto(`${endpoint}${path}`);
  await page.getByLabel("Access key ID").fill(credentials.accessKeyId);
  await page.getByLabel("Secret access key").fill(credentials.secretAccessKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/** Fetches a console URL from the test (not the browser), with a cookie header if given. */
export async function consoleFetch(
  endpoint: string,
  path: string,
  init: { method?: string; cookie?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Response> {
  return fetch(`${endpoint}${path}`, {
    method: init.method ?? "GET",
    redirect: "manual",
    headers: {
      ...(init.cookie === undefined ? {} : { Cookie: init.cookie }),
      ...(init.body === undefined ? {} : { "Content-Type": "application/json" }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}

/** Signs in from the test (not the browser); the `Cookie` header value of the session. */
export async function signInByApi(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<string> {
  const answer = await consoleFetch(endpoint, "/console/api/session", {
    method: "POST",
    body: JSON.stringify(credentials),
  });
  if (answer.status !== 200) throw new Error(`sign-in answered ${answer.status}`);
  const cookie = /^(berth_console=[^;]+)/.exec(answer.headers.get("set-cookie") ?? "")?.[1];
  if (cookie === undefined) throw new Error("sign-in set no cookie");
  return cookie;
}

/** The id of the `n`th task `insertTasks` makes (32 hex digits, as ECS's). */
export const taskId = (n: number): string => n.toString(16).padStart(32, "0");

/**
 * `count` tasks of `cluster` written to the store directly (RunTask of 10,000 real containers
 * would take this machine most of an hour): every fourth STOPPED, the rest RUNNING, families
 * alternating, the newest last.
 */
export async function insertTasks(store: Store, cluster: string, count: number): Promise<void> {
  const start = Date.UTC(2026, 0, 1);
  const account = "000000000000";
  for (let batch = 0; batch < count; batch += 500) {
    await store.transaction().execute(async (tx) => {
      await tx
        .insertInto("tasks")
        .values(
          Array.from({ length: Math.min(500, count - batch) }, (_, k) => {
            const n = batch + k;
            const stopped = n % 4 === 0;
            return {
              arn: `arn:aws:ecs:us-east-1:${account}:task/${cluster}/${taskId(n)}`,
              id: taskId(n),
              cluster_name: cluster,
              family: n % 2 === 0 ? "bulk-even" : "bulk-odd",
              task_definition_arn: `arn:aws:ecs:us-east-1:${account}:task-definition/bulk:1`,
              last_status: stopped ? "STOPPED" : "RUNNING",
              desired_status: stopped ? "STOPPED" : "RUNNING",
              host_id: null,
              cpu: 256,
              memory: 512,
              started_by: null,
              group_name: "family:bulk",
              created_at: start + n * 1000,
              stopped_at: stopped ? start + n * 1000 + 500 : null,
              version: 1,
              document: "{}",
              assignment: "{}",
            };
          }),
        )
        .execute();
    });
  }
}
