/**
 * One `berth` command declared in one place: its synopsis, what it does, and every flag with its
 * help. `main.ts` parses the flags, answers `--help`/`-h` and `berth help NAME`, and reports
 * errors the same way for every command, so a new command is one `defineCommand` and one line in
 * main's list.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface StringFlag {
  type: "string";
  short?: string;
  multiple?: boolean;
  default?: string;
  /** The value's placeholder in the usage: `--cpu UNITS`. */
  value: string;
  help: string;
}

export interface BooleanFlag {
  type: "boolean";
  short?: string;
  default?: boolean;
  help: string;
}

export type Flag = StringFlag | BooleanFlag;
export type Flags = Record<string, Flag>;

type ValueOf<F extends Flag> = F extends { type: "boolean" }
  ? boolean
  : F extends { multiple: true }
    ? string[]
    : string;

/** What a command's flags parse to: a boolean is always there (false unless given), and so is
 * a flag with a default. */
export type FlagValues<F extends Flags> = {
  [K in keyof F]: F[K] extends { type: "boolean" }
    ? boolean
    : F[K] extends { default: string }
      ? ValueOf<F[K]>
      : ValueOf<F[K]> | undefined;
};

export interface CommandSpec<F extends Flags> {
  name: string;
  /** One line in `berth help`. */
  summary: string;
  /** The synopsis, one line per form, each starting with `berth NAME`. */
  usage: string[];
  /** What it does, in a few lines, printed under the synopsis. */
  description?: string;
  flags: F;
  /** Whether it takes words other than flags (task ids, a subcommand, a command after `--`). */
  positionals?: boolean;
  run(
    args: { flags: FlagValues<F>; positionals: string[] },
    env: NodeJS.ProcessEnv,
  ): Promise<number>;
}

/** A command as main.ts sees it, whatever its flags. */
export interface Command {
  name: string;
  summary: string;
  /** The full text `berth NAME --help` prints. */
  help(): string;
  /** Parses argv (after the command's name) and runs it; parse errors throw ERR_PARSE_ARGS_*. */
  execute(argv: string[], env: NodeJS.ProcessEnv): Promise<number>;
}

const HELP_FLAG: BooleanFlag = { type: "boolean", short: "h", help: "show this help" };

export function defineCommand<const F extends Flags>(spec: CommandSpec<F>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    help: () => renderHelp(spec),
    execute: (argv, env) => {
      const options: NonNullable<ParseArgsConfig["options"]> = {};
      for (const [name, flag] of Object.entries(spec.flags)) {
        options[name] =
          flag.type === "string"
            ? {
                type: "string",
                ...(flag.short === undefined ? {} : { short: flag.short }),
                ...(flag.multiple === true ? { multiple: true } : {}),
                ...(flag.default === undefined ? {} : { default: flag.default }),
              }
            : {
                type: "boolean",
                ...(flag.short === undefined ? {} : { short: flag.short }),
                default: flag.default ?? false,
              };
      }
      const { values, positionals } = parseArgs({
        args: argv,
        options,
        allowPositionals: spec.positionals ?? false,
        strict: true,
      });
      return spec.run({ flags: values as FlagValues<F>, positionals }, env);
    },
  };
}

/** Whether argv asks for help: `--help` or `-h` before any `--` (after it, they are CMD's). */
export function asksForHelp(argv: string[]): boolean {
  for (const arg of argv) {
    if (arg === "--") return false;
    if (arg === "--help" || arg === "-h") return true;
  }
  return false;
}

function flagLabel(name: string, flag: Flag): string {
  const long = `--${name}${flag.type === "string" ? ` ${flag.value}` : ""}`;
  return flag.short === undefined ? `    ${long}` : `-${flag.short}, ${long}`;
}

function flagHelp(flag: Flag): string {
  if (flag.type === "string" && flag.default !== undefined)
    return `${flag.help} (default: ${flag.default})`;
  if (flag.type === "string" && flag.multiple === true) return `${flag.help} (repeatable)`;
  return flag.help;
}

function renderHelp<F extends Flags>(spec: CommandSpec<F>): string {
  const rows = [...Object.entries(spec.flags), ["help", HELP_FLAG] as const].map(
    ([name, flag]) => [flagLabel(name, flag), flagHelp(flag)] as const,
  );
  const width = Math.min(30, Math.max(...rows.map(([label]) => label.length)));
  const options = rows.map(([label, help]) =>
    label.length > width
      ? `  ${label}\n  ${" ".repeat(width)}  ${help}`
      : `  ${label.padEnd(width)}  ${help}`,
  );
  const [first, ...more] = spec.usage;
  return [
    `Usage: ${first ?? `berth ${spec.name}`}`,
    ...more.map((line) => `       ${line}`),
    "",
    spec.summary.charAt(0).toUpperCase() + spec.summary.slice(1) + ".",
    ...(spec.description === undefined ? [] : ["", spec.description]),
    "",
    "Options:",
    ...options,
    "",
  ].join("\n");
}
