/**
 * The JSON form of CloudWatch Logs filter patterns: `{ SELECTOR OP VALUE }` joined with && and
 * ||, parenthesised as needed. Parsed once into a predicate over the parsed event.
 */
import { invalidParameter } from "./errors.js";

type JsonPredicate = (document: object) => boolean;
type Comparator = "=" | "!=" | "<" | ">" | "<=" | ">=";
type PathStep = string | number;

interface Token {
  kind: "open" | "close" | "and" | "or" | "op" | "selector" | "string" | "word" | "end";
  text: string;
}

const MISSING = Symbol("missing");

function fail(pattern: string, reason: string): never {
  throw invalidParameter(`Invalid filter pattern: ${reason} in ${pattern}`);
}

function tokenize(body: string, pattern: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < body.length) {
    const ch = body[i] as string;
    const two = body.slice(i, i + 2);
    if (/\s/.test(ch)) i++;
    else if (ch === "(" || ch === ")") {
      tokens.push({ kind: ch === "(" ? "open" : "close", text: ch });
      i++;
    } else if (two === "&&" || two === "||") {
      tokens.push({ kind: two === "&&" ? "and" : "or", text: two });
      i += 2;
    } else if (two === "!=" || two === "<=" || two === ">=") {
      tokens.push({ kind: "op", text: two });
      i += 2;
    } else if (ch === "=" || ch === "<" || ch === ">") {
      tokens.push({ kind: "op", text: ch });
      i++;
    } else if (ch === '"') {
      let text = "";
      i++;
      for (;;) {
        if (i >= body.length) fail(pattern, "unterminated quote");
        const c = body[i] as string;
        if (c === "\\" && i + 1 < body.length) {
          text += body[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          break;
        } else {
          text += c;
          i++;
        }
      }
      tokens.push({ kind: "string", text });
    } else {
      let text = "";
      while (i < body.length && !/[\s()=!<>&|"]/.test(body[i] as string)) text += body[i++];
      if (text === "") fail(pattern, `unexpected '${ch}'`);
      tokens.push({ kind: text.startsWith("$") ? "selector" : "word", text });
    }
  }
  tokens.push({ kind: "end", text: "" });
  return tokens;
}

/** `$.a.b[0].c` -> ["a", "b", 0, "c"]. */
function parseSelector(selector: string, pattern: string): PathStep[] {
  const steps: PathStep[] = [];
  const re = /\.([A-Za-z0-9_@:-]+)|\[(\d+)\]/gy;
  re.lastIndex = 1;
  while (re.lastIndex < selector.length) {
    const at = re.lastIndex;
    const match = re.exec(selector);
    if (match === null || match.index !== at) fail(pattern, `invalid selector ${selector}`);
    steps.push(match[1] !== undefined ? match[1] : Number(match[2]));
  }
  if (steps.length === 0) fail(pattern, `invalid selector ${selector}`);
  return steps;
}

function resolve(document: unknown, path: PathStep[]): unknown {
  let value: unknown = document;
  for (const step of path) {
    if (typeof step === "number") {
      if (!Array.isArray(value) || step >= value.length) return MISSING;
      value = value[step] as unknown;
    } else {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return MISSING;
      if (!Object.hasOwn(value, step)) return MISSING;
      value = (value as Record<string, unknown>)[step];
    }
  }
  return value;
}

function wildcard(text: string): (value: string) => boolean {
  if (!text.includes("*")) return (value) => value === text;
  const source = text
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  const regex = new RegExp(`^${source}$`, "s");
  return (value) => regex.test(value);
}

function comparison(
  path: PathStep[],
  op: Comparator,
  value: Token,
  pattern: string,
): JsonPredicate {
  const numeric = value.kind === "word" && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value.text);
  const number = numeric ? Number(value.text) : NaN;
  if (op !== "=" && op !== "!=") {
    if (!numeric) fail(pattern, `${op} needs a number, got ${value.text}`);
    return (document) => {
      const found = resolve(document, path);
      if (typeof found !== "number") return false;
      if (op === "<") return found < number;
      if (op === ">") return found > number;
      if (op === "<=") return found <= number;
      return found >= number;
    };
  }
  const matchesText = wildcard(value.text);
  const equals = (found: unknown): boolean => {
    if (typeof found === "number") return numeric ? found === number : matchesText(String(found));
    if (typeof found === "string") return matchesText(found);
    if (typeof found === "boolean") return value.kind === "word" && value.text === String(found);
    return false;
  };
  return (document) => {
    const found = resolve(document, path);
    // A field that is not there matches neither = nor != (use NOT EXISTS for that).
    if (found === MISSING) return false;
    return op === "=" ? equals(found) : !equals(found);
  };
}

class Parser {
  #at = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly pattern: string,
  ) {}

  #peek(): Token {
    return this.tokens[this.#at] as Token;
  }

  #next(): Token {
    return this.tokens[this.#at++] as Token;
  }

  parse(): JsonPredicate {
    const expression = this.#or();
    if (this.#peek().kind !== "end") fail(this.pattern, `unexpected '${this.#peek().text}'`);
    return expression;
  }

  #or(): JsonPredicate {
    let left = this.#and();
    while (this.#peek().kind === "or") {
      this.#next();
      const a = left;
      const b = this.#and();
      left = (document) => a(document) || b(document);
    }
    return left;
  }

  #and(): JsonPredicate {
    let left = this.#unary();
    while (this.#peek().kind === "and") {
      this.#next();
      const a = left;
      const b = this.#unary();
      left = (document) => a(document) && b(document);
    }
    return left;
  }

  #unary(): JsonPredicate {
    const token = this.#next();
    if (token.kind === "open") {
      const inner = this.#or();
      if (this.#next().kind !== "close") fail(this.pattern, "missing ')'");
      return inner;
    }
    if (token.kind !== "selector") fail(this.pattern, `expected a selector, got '${token.text}'`);
    const path = parseSelector(token.text, this.pattern);
    const next = this.#next();
    if (next.kind === "op") {
      const value = this.#next();
      if (value.kind !== "string" && value.kind !== "word")
        fail(this.pattern, `expected a value after ${next.text}`);
      return comparison(path, next.text as Comparator, value, this.pattern);
    }
    if (next.kind === "word" && next.text === "IS") {
      const what = this.#next().text;
      if (what === "NULL") return (document) => resolve(document, path) === null;
      if (what === "TRUE") return (document) => resolve(document, path) === true;
      if (what === "FALSE") return (document) => resolve(document, path) === false;
      fail(this.pattern, `IS ${what}`);
    }
    if (next.kind === "word" && next.text === "NOT" && this.#next().text === "EXISTS")
      return (document) => resolve(document, path) === MISSING;
    return fail(this.pattern, `expected an operator after ${token.text}`);
  }
}

/** `{ ... }` -> predicate over a parsed JSON event; throws InvalidParameterException. */
export function parseJsonPattern(pattern: string): (document: object) => boolean {
  if (!pattern.endsWith("}")) fail(pattern, "missing '}'");
  const body = pattern.slice(1, -1);
  return new Parser(tokenize(body, pattern), pattern).parse();
}
