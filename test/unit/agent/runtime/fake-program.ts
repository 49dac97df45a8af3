/**
 * What a fake container "runs": the few shell forms the runtime contract and the task tests
 * give their containers (`sh -c` scripts of `echo [>&2]`, `exit N`, `sleep N`, `true`, `false`,
 * `trap 'exit N' TERM`, `trap '' TERM`, `while true; do ..; done`, `for v in ..; do ..; done`),
 * interpreted in-process with PID 1's signal rules: SIGTERM ends it only through a trap or an
 * init in front (143), SIGKILL always (137). Anything else is "not found" (127), as sh says.
 */

type Statement =
  | { kind: "command"; words: string[] }
  | { kind: "while"; body: Statement[] }
  | { kind: "for"; name: string; items: string[]; body: Statement[] };

export interface ProgramIo {
  write(stream: "stdout" | "stderr", text: string): void;
  env: Record<string, string>;
}

/** Splits a script into words and `;` separators (single and double quotes kept together). */
function tokenize(script: string): string[] {
  const tokens: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < script.length; i++) {
    const ch = script[i] as string;
    if (ch === "'" || ch === '"') {
      const end = script.indexOf(ch, i + 1);
      word = (word ?? "") + script.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? script.length : end;
    } else if (ch === ";" || ch === "\n") {
      if (word !== undefined) tokens.push(word);
      word = undefined;
      tokens.push(";");
    } else if (/\s/.test(ch)) {
      if (word !== undefined) tokens.push(word);
      word = undefined;
    } else word = (word ?? "") + ch;
  }
  if (word !== undefined) tokens.push(word);
  return tokens;
}

function parse(tokens: string[], until?: string): { body: Statement[]; rest: string[] } {
  const body: Statement[] = [];
  let rest = tokens;
  for (;;) {
    while (rest[0] === ";") rest = rest.slice(1);
    const head = rest[0];
    if (head === undefined || head === until) return { body, rest: rest.slice(1) };
    if (head === "while" || head === "for") {
      const doAt = rest.indexOf("do");
      const header = rest.slice(1, doAt).filter((t) => t !== ";");
      const inner = parse(rest.slice(doAt + 1), "done");
      body.push(
        head === "while"
          ? { kind: "while", body: inner.body }
          : { kind: "for", name: header[0] ?? "", items: header.slice(2), body: inner.body },
      );
      rest = inner.rest;
      continue;
    }
    const end = rest.indexOf(";");
    body.push({ kind: "command", words: end < 0 ? rest : rest.slice(0, end) });
    rest = end < 0 ? [] : rest.slice(end);
  }
}

/** The statements of a container's argv. */
export function compile(args: string[]): Statement[] {
  if ((args[0] === "sh" || args[0] === "/bin/sh") && args[1] === "-c")
    return parse(tokenize(args[2] ?? "")).body;
  return [{ kind: "command", words: args }];
}

/** One running program; `exited` resolves with its exit code. */
export class FakeProcess {
  readonly exited: Promise<number>;
  #finish: (code: number) => void = () => undefined;
  #done = false;
  #trap: "default" | "ignore" | number = "default";
  readonly #wake = new Set<() => void>();

  constructor(
    args: string[],
    private readonly io: ProgramIo,
    private readonly init: boolean,
  ) {
    this.exited = new Promise((resolve) => (this.#finish = resolve));
    const program = compile(args);
    // A shell sets its leading traps before a signal sent after its start can reach it.
    for (const statement of program) {
      if (statement.kind !== "command" || statement.words[0] !== "trap") break;
      void this.#command(statement.words, {});
    }
    void this.#run(program);
  }

  get done(): boolean {
    return this.#done;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.#done) return;
    if (signal === "SIGKILL") return this.#end(137);
    if (signal !== "SIGTERM") return;
    if (typeof this.#trap === "number") return this.#end(this.#trap);
    // PID 1 has no default action for SIGTERM; an init in front dies of it.
    if (this.#trap === "default" && this.init) this.#end(143);
  }

  #end(code: number): void {
    if (this.#done) return;
    this.#done = true;
    for (const wake of this.#wake) wake();
    this.#finish(code);
  }

  async #run(program: Statement[]): Promise<void> {
    // Started on the next turn, as a process is: its starter sees it running first.
    await new Promise((resolve) => setImmediate(resolve));
    const status = await this.#block(program, { ...this.io.env });
    this.#end(status);
  }

  async #block(statements: Statement[], vars: Record<string, string>): Promise<number> {
    let status = 0;
    for (const statement of statements) {
      if (this.#done) return status;
      if (statement.kind === "command") status = await this.#command(statement.words, vars);
      else if (statement.kind === "for")
        for (const item of statement.items) {
          if (this.#done) break;
          status = await this.#block(statement.body, { ...vars, [statement.name]: item });
        }
      else
        while (!this.#done) {
          status = await this.#block(statement.body, vars);
          // A loop that never waits would starve everything else.
          await new Promise((resolve) => setImmediate(resolve));
        }
    }
    return status;
  }

  async #command(raw: string[], vars: Record<string, string>): Promise<number> {
    const words = raw.map((w) =>
      w.replace(/\$(\$|[A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) =>
        name === "$" ? "1" : (vars[name] ?? ""),
      ),
    );
    const [name, ...rest] = words;
    switch (name) {
      case "echo": {
        const toErr = rest.at(-1) === ">&2";
        const text = (toErr ? rest.slice(0, -1) : rest).join(" ");
        this.io.write(toErr ? "stderr" : "stdout", text);
        return 0;
      }
      case "exit":
        this.#end(Number(rest[0] ?? 0));
        return Number(rest[0] ?? 0);
      case "sleep":
        await this.#sleep(Number(rest[0] ?? 0) * 1000);
        return 0;
      case "trap":
        if (rest[1] === "TERM") {
          const action = rest[0] ?? "";
          const code = /^exit (\d+)$/.exec(action)?.[1];
          this.#trap = action === "" ? "ignore" : code !== undefined ? Number(code) : "default";
        }
        return 0;
      case "true":
      case undefined:
        return 0;
      case "false":
        return 1;
      default:
        this.io.write("stderr", `sh: ${name}: not found`);
        return 127;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wake.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wake.add(wake);
    });
  }
}
