/**
 * An exec'd command on a terminal. The OCI runtime makes the container's terminal only when its
 * own stdin is one, so it runs under script(1)'s terminal, set raw (the runtime copies bytes, the
 * container's terminal does the line discipline) and to the caller's size, which the runtime
 * copies to the container's terminal on start and on every SIGWINCH. A resize sets the size of
 * script's terminal; the kernel then sends SIGWINCH to the runtime, which copies it on.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFile, readlink } from "node:fs/promises";
import { runCommand } from "./command.js";

export function spawnOnTerminal(
  argv: string[],
  cols: number,
  rows: number,
): ChildProcessWithoutNullStreams {
  // The runtime's first copy races the container terminal's arrival (runc 1.1): a few
  // SIGWINCHs over the first second make it copy again.
  const nudge =
    "(for t in 0.05 0.1 0.2 0.4 0.8; do sleep $t; kill -WINCH $$ 2>/dev/null || exit 0; done) &";
  const line = `stty raw -echo cols ${cols} rows ${rows} && { ${nudge} } && exec ${argv.map(shellQuote).join(" ")}`;
  return spawn("script", ["--quiet", "--flush", "--return", "--command", line, "/dev/null"]);
}

/** Sets the size of the terminal `spawnOnTerminal` made; nothing when the command has ended. */
export async function resizeTerminal(
  script: ChildProcessWithoutNullStreams,
  cols: number,
  rows: number,
): Promise<void> {
  if (script.pid === undefined || script.exitCode !== null) return;
  // script's one child is the shell that became the runtime; its stdin is the terminal.
  const children = await readFile(`/proc/${script.pid}/task/${script.pid}/children`, "utf8").catch(
    () => "",
  );
  const child = children.trim().split(/\s+/)[0];
  if (child === undefined || child === "") return;
  const terminal = await readlink(`/proc/${child}/fd/0`).catch(() => "");
  if (!/^\/dev\/pts\/\d+$/.test(terminal)) return;
  await runCommand("stty", ["-F", terminal, "cols", String(cols), "rows", String(rows)], {
    allowFailure: true,
  });
}

/** `arg` as one word for sh. */
function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}
