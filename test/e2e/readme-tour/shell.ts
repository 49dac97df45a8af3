/**
 * A reader's shell for the README tour: each command runs in bash as pasted, one after another,
 * with the variables earlier commands set (kept in a state file between them, as one interactive
 * shell would keep them), in its own process group so a "Ctrl-C" reaches it and a hung command
 * is killed with everything it started. Interactive commands run on a terminal (script(1)) and
 * get keystrokes when their output asks for them.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface StepOutcome {
  code: number | null;
  /** stdout and stderr as they came (on a terminal, the terminal's text). */
  output: string;
  stdout: string;
  /** The step timed out and was killed. */
  timedOut: boolean;
  /** When it started (ms since the epoch). */
  startedAt: number;
}

export interface StepOptions {
  /** Run on a terminal (script(1)), as a reader typing into it. */
  tty?: boolean;
  /** When the output so far matches, type `keys` (or press Ctrl-C: SIGINT to the group). */
  interact?: { when: RegExp; keys?: string; interrupt?: boolean };
  timeoutMs: number;
}

export class ReaderShell {
  private steps = 0;
  private readonly state: string;

  constructor(
    private readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
    /** What the reader pasted first: the `export ...` lines `berth up` printed. */
    initial: string,
  ) {
    this.state = join(dir, "shell-state.sh");
    writeFileSync(this.state, `${initial}\n`, { mode: 0o600 });
  }

  /** Runs one command as written; the variables it sets are there for the next. */
  run(command: string, options: StepOptions): Promise<StepOutcome> {
    const script = join(this.dir, `step-${++this.steps}.sh`);
    writeFileSync(
      script,
      [
        // set -a: an assignment (TASK=$(...)) is exported, so `export -p` carries it on.
        `set -a; . ${this.state}; set -o pipefail`,
        command,
        "__status=$?",
        `export -p > ${this.state}.next && mv ${this.state}.next ${this.state}`,
        "exit $__status",
        "",
      ].join("\n"),
    );
    const [file, args] = options.tty
      ? ["script", ["-qefc", `bash ${script}`, "/dev/null"]]
      : ["bash", [script]];
    const child = spawn(file, args, {
      cwd: this.dir,
      env: this.env,
      detached: true, // its own process group: Ctrl-C and the timeout reach all it started
      stdio: [options.tty || options.interact ? "pipe" : "ignore", "pipe", "pipe"],
    });
    const group = child.pid;
    const startedAt = Date.now();
    let output = "";
    let stdout = "";
    let interacted = false;
    let timedOut = false;
    const signalGroup = (signal: NodeJS.Signals): void => {
      if (group === undefined) return;
      try {
        process.kill(-group, signal);
      } catch {
        // already gone
      }
    };
    const onOutput = (chunk: string, isStdout: boolean): void => {
      output += chunk;
      if (isStdout) stdout += chunk;
      const interact = options.interact;
      if (interacted || interact === undefined || !interact.when.test(output)) return;
      interacted = true;
      if (interact.keys !== undefined) child.stdin?.write(interact.keys);
      if (interact.interrupt === true) signalGroup("SIGINT");
    };
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => onOutput(chunk, true));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => onOutput(chunk, false));
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup("SIGKILL");
    }, options.timeoutMs);
    return new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, output, stdout, timedOut, startedAt });
      });
    });
  }

  /** A variable's value in the reader's shell now. */
  variable(name: string): Promise<string> {
    return this.run(`printf %s "$${name}"`, { timeoutMs: 10_000 }).then((r) => r.stdout);
  }
}
