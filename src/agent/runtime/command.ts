/** Runs a host command (runc, ip, mount) and collects its output; rejects with its stderr. */
import { spawn } from "node:child_process";
import { runtimeFailed } from "./errors.js";

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function runCommand(
  file: string,
  args: string[],
  options: { allowFailure?: boolean; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...(options.env === undefined ? {} : { env: options.env }),
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    if (options.input !== undefined) child.stdin?.end(options.input);
    child.on("error", (error) =>
      reject(runtimeFailed(`${file} could not be started: ${error.message}`, error)),
    );
    child.on("close", (code, signal) => {
      const result = { stdout, stderr, code: code ?? 128 };
      if (code === 0 || options.allowFailure) return resolve(result);
      reject(
        runtimeFailed(
          `${file} ${args.join(" ")} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || stdout.trim()}`,
        ),
      );
    });
  });
}
