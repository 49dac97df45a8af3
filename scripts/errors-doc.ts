/**
 * Writes docs/errors.md from the one registry of AWS error codes (src/aws/error-codes.ts).
 * Run after changing the registry: `node --import tsx scripts/errors-doc.ts`; a unit test
 * fails while the file is out of date.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AWS_ERROR_CODES, type AwsErrorSpec } from "../src/aws/index.js";

export const ERRORS_DOC = new URL("../docs/errors.md", import.meta.url);

const cell = (text: string): string => text.replaceAll("|", "\\|");

export function renderErrorsDoc(): string {
  const rows = Object.entries(AWS_ERROR_CODES).map(([code, spec]: [string, AwsErrorSpec]) => {
    const fault = spec.status >= 500 ? "Berth" : "caller";
    const query = spec.query === undefined ? "" : `${spec.query.code} (${spec.query.status})`;
    const services = spec.services.join(", ").replace("*", "every service");
    const others = Object.entries(spec.statusIn ?? {}).map(
      ([name, status]) => `${name}: ${status}`,
    );
    const status = others.length === 0 ? `${spec.status}` : `${spec.status} (${others.join(", ")})`;
    return `| ${code} | ${status} | ${fault} | ${services} | ${query} | \`${cell(spec.message)}\` |`;
  });
  return [
    "# AWS errors Berth answers with",
    "",
    "Generated from `src/aws/error-codes.ts` by `node --import tsx scripts/errors-doc.ts`; do not",
    "edit by hand. The code is the JSON protocol's `__type` (and `x-amzn-ErrorType`) and the Query",
    "protocol's `<Code>`; anything that is not one of these renders as 500 `ServerException`",
    "(Query: `InternalFailure`) with no detail. The registry's own errors (OCI codes) are in",
    "`src/registry/errors.ts`.",
    "",
    "| code | status (where a service differs) | fault | services | Query name (status) | message |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  writeFileSync(ERRORS_DOC, renderErrorsDoc());
