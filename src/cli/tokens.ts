/** `berth tokens list|create|revoke`: the join tokens agents show to join this Berth. */
import { parseArgs } from "node:util";
import { signedPost } from "./client.js";
import { resolveClientConfig } from "./config.js";
import { parseDuration } from "./duration.js";

export const TOKENS_USAGE = `Usage: berth tokens list
       berth tokens create [--ttl 24h] [--uses N] [--description TEXT]
       berth tokens revoke ID`;

interface TokenFacts {
  id: string;
  token?: string;
  description?: string;
  createdAt: string;
  expiresAt?: string;
  usageLimit?: number;
  uses: number;
  status: string;
  joinCommand?: string;
}

const WIDTHS = [8, 10, 26, 7];

function line(cells: string[]): string {
  return cells
    .map((cell, i) => cell.padEnd(WIDTHS[i] ?? 0))
    .join(" ")
    .trimEnd();
}

function row(t: TokenFacts): string {
  const uses = `${t.uses}/${t.usageLimit === undefined ? "-" : String(t.usageLimit)}`;
  return line([t.id, t.status, t.expiresAt ?? "never", uses, t.description ?? ""]);
}

export async function tokens(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      endpoint: { type: "string" },
      "data-dir": { type: "string" },
      region: { type: "string" },
      ttl: { type: "string", default: "24h" },
      uses: { type: "string" },
      description: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  const [action, id] = positionals;
  const known =
    action === "list" || action === "create" || (action === "revoke" && id !== undefined);
  if (!known || positionals.length > (action === "revoke" ? 2 : 1)) {
    process.stderr.write(`${TOKENS_USAGE}\n`);
    return 2;
  }
  let body: Record<string, unknown> = {};
  if (action === "create") {
    const ttlSeconds = parseDuration(values.ttl);
    if (ttlSeconds === undefined) {
      process.stderr.write(
        `berth tokens: --ttl is a duration like 24h, 30m or 1h30m (0: never expires), not '${values.ttl}'.\n`,
      );
      return 2;
    }
    const uses = values.uses === undefined ? undefined : Number(values.uses);
    if (uses !== undefined && !(Number.isInteger(uses) && uses >= 1)) {
      process.stderr.write(
        `berth tokens: --uses is a whole number of joins, at least 1, not '${values.uses}'.\n`,
      );
      return 2;
    }
    body = {
      ttlSeconds,
      ...(uses === undefined ? {} : { usageLimit: uses }),
      ...(values.description === undefined ? {} : { description: values.description }),
    };
  } else if (action === "revoke") body = { id };
  const config = resolveClientConfig(
    { endpoint: values.endpoint, dataDir: values["data-dir"], region: values.region },
    env,
  );
  const response = await signedPost(config, `/_berth/tokens/${action}`, body);
  const text = await response.text();
  if (!response.ok) {
    const message = (JSON.parse(text) as { message?: string }).message ?? text;
    process.stderr.write(`berth tokens: the server refused (${response.status}): ${message}\n`);
    return 1;
  }
  if (action === "list") {
    const { tokens: list } = JSON.parse(text) as { tokens: TokenFacts[] };
    process.stdout.write(`${line(["ID", "STATUS", "EXPIRES", "USES", "DESCRIPTION"])}\n`);
    for (const t of list) process.stdout.write(`${row(t)}\n`);
  } else if (action === "revoke") {
    process.stdout.write(
      `join token ${(JSON.parse(text) as { revoked: string }).revoked} revoked\n`,
    );
  } else {
    const created = JSON.parse(text) as TokenFacts;
    process.stdout.write(`${created.token ?? ""}\n`);
    if (created.joinCommand !== undefined)
      process.stdout.write(`Join a host with:\n  ${created.joinCommand}\n`);
  }
  return 0;
}
