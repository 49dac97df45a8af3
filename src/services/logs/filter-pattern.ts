/**
 * CloudWatch Logs filter patterns, compiled once per request into a predicate over messages.
 *
 * Two forms, as AWS documents them ("Filter pattern syntax"):
 * - terms: `ERROR timeout` (every term), `"connection reset"` (a phrase), `-DEBUG` (none of
 *   these), `?ERROR ?WARN` (at least one of these). Terms are case-sensitive substrings.
 * - JSON: `{ $.level = "error" && ($.latency > 500 || $.user.name = admin*) }` with =, !=, <,
 *   >, <=, >=, `*` wildcards in string values, `IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS`,
 *   && binding tighter than ||, and parentheses. Only events whose message is JSON match.
 *
 * AWS also has space-delimited patterns (`[ip, user, ...]`) and `%regex%` terms; Berth refuses
 * the first with InvalidParameterException and treats `%...%` as a plain term.
 */
import { invalidParameter } from "./errors.js";
import { parseJsonPattern } from "./json-pattern.js";

export type MessageMatcher = (message: string) => boolean;

const matchAll: MessageMatcher = () => true;

interface Term {
  kind: "required" | "optional" | "excluded";
  text: string;
}

/** Splits a terms pattern into its terms; quotes group a phrase, `\"` is a quote inside one. */
function splitTerms(pattern: string): Term[] {
  const terms: Term[] = [];
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    let kind: Term["kind"] = "required";
    if (ch === "-" || ch === "?") {
      kind = ch === "-" ? "excluded" : "optional";
      i++;
    }
    let text = "";
    if (pattern[i] === '"') {
      i++;
      let closed = false;
      while (i < pattern.length) {
        const c = pattern[i] as string;
        if (c === "\\" && i + 1 < pattern.length) {
          text += pattern[i + 1];
          i += 2;
        } else if (c === '"') {
          closed = true;
          i++;
          break;
        } else {
          text += c;
          i++;
        }
      }
      if (!closed)
        throw invalidParameter(`Invalid filter pattern: unterminated quote in ${pattern}`);
    } else {
      while (i < pattern.length && !/\s/.test(pattern[i] as string)) text += pattern[i++];
    }
    if (text === "" && kind !== "required") {
      // A lone "-" or "?" is a term of its own, as any other character would be.
      terms.push({ kind: "required", text: kind === "excluded" ? "-" : "?" });
    } else if (text !== "") {
      terms.push({ kind, text });
    }
  }
  return terms;
}

function compileTerms(pattern: string): MessageMatcher {
  const terms = splitTerms(pattern);
  const required = terms.filter((t) => t.kind === "required").map((t) => t.text);
  const optional = terms.filter((t) => t.kind === "optional").map((t) => t.text);
  const excluded = terms.filter((t) => t.kind === "excluded").map((t) => t.text);
  if (terms.length === 0) return matchAll;
  return (message) =>
    required.every((t) => message.includes(t)) &&
    (optional.length === 0 || optional.some((t) => message.includes(t))) &&
    !excluded.some((t) => message.includes(t));
}

/** Compiles `pattern` (empty or absent: every event) or throws InvalidParameterException. */
export function compileFilterPattern(pattern: string | undefined): MessageMatcher {
  const text = (pattern ?? "").trim();
  if (text === "") return matchAll;
  if (text.startsWith("{")) {
    const expression = parseJsonPattern(text);
    return (message) => {
      let document: unknown;
      try {
        document = JSON.parse(message);
      } catch {
        return false;
      }
      return document !== null && typeof document === "object" && expression(document);
    };
  }
  if (text.startsWith("[")) {
    // AWS matches space-delimited fields here; Berth does not implement that form yet.
    throw invalidParameter(
      "Invalid filter pattern: space-delimited patterns ([...]) are not supported by Berth.",
    );
  }
  return compileTerms(text);
}
