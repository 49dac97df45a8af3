/** `berth console`: a one-time sign-in link to the web console, opened in a browser. */
import { spawn } from "node:child_process";
import { berthJson } from "./client.js";
import { defineCommand } from "./command.js";
import { CLIENT_FLAGS, clientConfigFrom } from "./config.js";

export const consoleCommand = defineCommand({
  name: "console",
  summary: "open the web console, signed in (a one-time link)",
  usage: ["berth console [--print]"],
  description:
    "Asks the server for a sign-in link for your key (good once, for 5 minutes) and opens it\nwith xdg-open; with --print, or without a desktop, it only prints the link.",
  flags: {
    print: { type: "boolean", help: "print the link instead of opening a browser" },
    ...CLIENT_FLAGS,
  },
  run: async ({ flags: values }, env) => {
    const config = clientConfigFrom(values, env);
    const { path, expiresAt } = await berthJson<{ path: string; expiresAt: string }>(
      config,
      "/_berth/console/link",
      {},
    );
    const url = `${config.endpoint.replace(/\/+$/, "")}${path}`;
    process.stdout.write(`${url}\n(works once, until ${expiresAt})\n`);
    if (values.print !== true && (env.DISPLAY ?? env.WAYLAND_DISPLAY ?? "") !== "") {
      // The link goes as one argument, never through a shell.
      const opener = spawn("xdg-open", [url], { stdio: "ignore", detached: true });
      opener.on("error", () => undefined);
      opener.unref();
    }
    return 0;
  },
});
