/**
 * The matching rules of ALB's configuration, as AWS documents them: path patterns and host
 * names with `*` (any run of characters) and `?` (exactly one), paths case-sensitive and hosts
 * not; and health check matchers ("200", "200,202", "200-299").
 */

const compiled = new Map<string, RegExp>();

function wildcard(pattern: string, flags: string): RegExp {
  const key = `${flags}:${pattern}`;
  let regex = compiled.get(key);
  if (regex === undefined) {
    const body = pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/]/g, "\\$&")))
      .join("");
    regex = new RegExp(`^${body}$`, flags);
    compiled.set(key, regex);
  }
  return regex;
}

/** ALB matches a path pattern against the path only (no query string), case-sensitively. */
export function pathMatches(pattern: string, path: string): boolean {
  return wildcard(pattern, "s").test(path);
}

/** Host headers match case-insensitively, without any `:port`. */
export function hostMatches(pattern: string, host: string): boolean {
  return wildcard(pattern, "is").test(host);
}

/** The host of a Host header value: lower case, without a port. */
export function hostOf(header: string | undefined): string {
  const value = (header ?? "").trim().toLowerCase();
  if (value.startsWith("[")) return value.slice(0, value.indexOf("]") + 1);
  return value.split(":", 1)[0] ?? "";
}

/**
 * The status codes a matcher accepts, or undefined when it is malformed or outside `low..high`
 * (ALB takes 200-499).
 */
export function parseHttpCodes(
  matcher: string,
  low = 200,
  high = 499,
): ((status: number) => boolean) | undefined {
  const ranges: [number, number][] = [];
  for (const part of matcher.split(",")) {
    const match = /^\s*(\d{3})(?:\s*-\s*(\d{3}))?\s*$/.exec(part);
    if (match === null) return undefined;
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (from < low || to > high || from > to) return undefined;
    ranges.push([from, to]);
  }
  return (status) => ranges.some(([from, to]) => status >= from && status <= to);
}
