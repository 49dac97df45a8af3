/**
 * The console's tests drive Debian's chromium through playwright-core (which never downloads a
 * browser): headless, without its sandbox (the tests run as root), screenshots kept under
 * test-output/console (gitignored) for a person to look at, never compared.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

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
