/**
 * The README's tour as a list of shell commands, read from README.md itself so that the test
 * runs what a reader pastes: the `sh` blocks of the "A five-minute tour" section, in order, each
 * cut into commands as a shell reads them (a command goes on past a newline inside quotes or
 * `$(...)`, after a backslash or after a trailing `|`). A comment line `# -> TEXT` under a
 * command is what that command prints (`...` stands for anything; a remark in parentheses after
 * two spaces is not part of it).
 */

export interface TourCommand {
  /** The command as written (continuation lines included, its trailing comment not). */
  text: string;
  /** The comment on its last line, if any ("# PENDING -> RUNNING" gives "PENDING -> RUNNING"). */
  note: string;
  /** `# -> ...` lines under it: what it prints. */
  expected: string[];
  /** Which block it comes from (0-based). */
  block: number;
}

export interface ShellBlock {
  /** The heading the block is under ("A five-minute tour", "Run tasks (...)"). */
  heading: string;
  body: string;
}

/** The text of the `## A five-minute tour` section: up to the next `## ` heading. */
export function tourSection(readme: string): string {
  const start = readme.indexOf("\n## A five-minute tour\n");
  if (start < 0) throw new Error("README.md has no '## A five-minute tour' section");
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The section's ```sh blocks, in order, each with the heading it is under. */
export function shellBlocks(section: string): ShellBlock[] {
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => {
    const before = section.slice(0, match.index);
    const headings = [...before.matchAll(/^#{2,3} (.+)$/gm)];
    return { heading: headings[headings.length - 1]?.[1] ?? "", body: match[1] ?? "" };
  });
}

/** Cuts one block into commands. */
export function splitCommands(body: string, block = 0): TourCommand[] {
  const commands: TourCommand[] = [];
  let text = "";
  let note = "";
  let quote: "'" | '"' | undefined;
  let depth = 0; // open $( ... )
  const finish = (): void => {
    const trimmed = text.trim();
    if (trimmed !== "") commands.push({ text: trimmed, note: note.trim(), expected: [], block });
    text = "";
    note = "";
  };
  for (let i = 0; i < body.length; i++) {
    const char = body[i] ?? "";
    if (quote !== undefined) {
      text += char;
      if (char === "\\" && quote === '"') text += body[++i] ?? "";
      else if (char === quote) quote = undefined;
      continue;
    }
    if (char === "'" || char === '"') {
      quote = char;
      text += char;
    } else if (char === "\\") {
      text += char + (body[++i] ?? "");
    } else if (char === "$" && body[i + 1] === "(") {
      depth++;
      text += "$(";
      i++;
    } else if (char === ")" && depth > 0) {
      depth--;
      text += char;
    } else if (char === "#" && (text === "" || /\s$/.test(text))) {
      // A comment runs to the end of its line.
      const eol = body.indexOf("\n", i);
      const comment = body.slice(i + 1, eol < 0 ? undefined : eol);
      i = (eol < 0 ? body.length : eol) - 1;
      if (text.trim() === "" && commands.length > 0 && comment.startsWith(" -> ")) {
        commands[commands.length - 1]?.expected.push(comment.slice(4));
      } else if (text.trim() !== "") {
        note = comment;
      }
    } else if (char === "\n") {
      if (depth > 0 || /\|\s*$/.test(text) || /&&\s*$/.test(text)) text += char;
      else finish();
    } else {
      text += char;
    }
  }
  finish();
  return commands;
}

/** Every command of the tour, in order. */
export function tourCommands(readme: string): TourCommand[] {
  return shellBlocks(tourSection(readme)).flatMap(({ body }, block) => splitCommands(body, block));
}

/** `# -> TEXT` as a pattern: `...` is anything, a trailing "  (remark)" is dropped. */
export function expectedPattern(expected: string): RegExp {
  const text = expected.replace(/\s{2,}\(.*\)\s*$/, "").trim();
  const escaped = text
    .split("...")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*?");
  return new RegExp(escaped);
}
