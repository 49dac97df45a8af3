/** CloudWatch Logs filter patterns: terms, phrases, exclusions, OR terms and JSON patterns. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileFilterPattern } from "../../../../src/services/logs/index.js";

function check(pattern: string, expectations: Record<string, boolean>): void {
  const matches = compileFilterPattern(pattern);
  for (const [message, expected] of Object.entries(expectations))
    assert.equal(matches(message), expected, `${pattern} on ${message}`);
}

function rejects(pattern: string): void {
  assert.throws(
    () => compileFilterPattern(pattern),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "InvalidParameterException");
      assert.match(error.message, /^Invalid filter pattern/);
      return true;
    },
  );
}

describe("terms", () => {
  it("matches everything when the pattern is empty or blank", () => {
    check("", { anything: true, "": true });
    check("   ", { anything: true });
    assert.equal(compileFilterPattern(undefined)("x"), true);
  });

  it("needs every plain term, as a case-sensitive substring", () => {
    check("ERROR timeout", {
      "ERROR: request timeout": true,
      "ERROR: request failed": false,
      "error: request timeout": false,
      "[ERROR] timeouts": true,
    });
  });

  it("matches a quoted phrase only as a whole, escapes included", () => {
    check('"connection reset"', {
      "peer: connection reset by peer": true,
      "connection was reset": false,
    });
    check('"say \\"hi\\""', { 'they say "hi" here': true, "they say hi": false });
  });

  it('excludes events with a -term or a -"phrase"', () => {
    check("ERROR -DEBUG", { "ERROR boom": true, "DEBUG ERROR boom": false });
    check('-"health check"', { "GET /": true, "GET /health health check ok": false });
  });

  it("needs at least one ?term, alongside the plain ones", () => {
    check("?ERROR ?WARN", { "ERROR x": true, "WARN y": true, "INFO z": false });
    check('api ?ERROR ?"bad gateway"', {
      "api ERROR": true,
      "api 502 bad gateway": true,
      "api ok": false,
      "web ERROR": false,
    });
  });

  it("refuses an unterminated quote and space-delimited patterns", () => {
    rejects('"open phrase');
    rejects("[ip, user, status]");
  });
});

describe("JSON patterns", () => {
  const event = JSON.stringify({
    level: "error",
    latency: 730,
    user: { name: "admin-7", roles: ["ops", "dev"] },
    ok: false,
    gone: null,
    code: "E42",
  });

  it("compares strings with = and != and * wildcards, quoted or not", () => {
    check('{ $.level = "error" }', { [event]: true, '{"level":"info"}': false });
    check("{ $.level = error }", { [event]: true });
    check("{ $.user.name = admin* }", { [event]: true, '{"user":{"name":"root"}}': false });
    check('{ $.code = "*4*" }', { [event]: true });
    check("{ $.level != info }", { [event]: true, '{"level":"info"}': false });
  });

  it("compares numbers with = != < > <= >=", () => {
    check("{ $.latency > 500 }", { [event]: true, '{"latency":500}': false });
    check("{ $.latency >= 730 }", { [event]: true });
    check("{ $.latency <= 729.5 }", { [event]: false });
    check("{ $.latency < 1e3 }", { [event]: true });
    check("{ $.latency = 730 }", { [event]: true, '{"latency":731}': false });
    check("{ $.latency != 730 }", { [event]: false, '{"latency":1}': true });
    check("{ $.latency = -5 }", { '{"latency":-5}': true });
  });

  it("never matches a missing field with = or !=, and finds it with NOT EXISTS", () => {
    check("{ $.missing = x }", { [event]: false });
    check("{ $.missing != x }", { [event]: false });
    check("{ $.missing NOT EXISTS }", { [event]: true });
    check("{ $.level NOT EXISTS }", { [event]: false });
  });

  it("reads array elements and IS NULL / IS TRUE / IS FALSE", () => {
    check("{ $.user.roles[1] = dev }", { [event]: true });
    check("{ $.user.roles[5] = dev }", { [event]: false });
    check("{ $.gone IS NULL }", { [event]: true });
    check("{ $.ok IS FALSE }", { [event]: true });
    check("{ $.ok IS TRUE }", { [event]: false });
  });

  it("joins with && and ||, && binding tighter, parentheses grouping", () => {
    check("{ $.level = info || $.latency > 500 && $.code = E42 }", { [event]: true });
    check("{ ($.level = info || $.latency > 500) && $.code = E1 }", { [event]: false });
    check("{ $.level = info || ($.latency > 900 && $.code = E42) }", { [event]: false });
    check("{$.level=error&&$.latency>700}", { [event]: true });
  });

  it("matches only events whose message is a JSON object or array", () => {
    check("{ $.level = error }", { "level=error": false, '"error"': false, "": false });
  });

  it("refuses malformed JSON patterns", () => {
    rejects("{ $.level = error");
    rejects("{ level = error }");
    rejects("{ $.latency > fast }");
    rejects("{ ($.level = error }");
    rejects("{ $.level = }");
    rejects("{ $..level = x }");
    rejects("{ $.level IS MAYBE }");
  });
});
