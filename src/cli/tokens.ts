import { invalidArgument } from "./errors.js";
import { signedPost } from "./client.js";
import { defineCommand } from "./command.js";
import { CLIENT_FLAGS, clientConfigFrom } from "./config.js";
import { parseDuration } from "./duration.js";

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

export const tokens = defineCommand({
  name: "tokens",
  summary: "list, create or revoke the join tokens agents join with",
  usage: [
    "berth tokens list",
    "berth tokens create [--ttl 24h] [--uses N] [--description TEXT]",
    "berth tokens revoke ID",
  ],
  description: [
    "A token is needed only to join: a joined host reconnects with its own credential, so",
    "revoking a token stops new joins, not the hosts that joined with it.",
  ].join("\n"),
  flags: {
    ttl: {
      type: "string",
      value: "DURATION",
      default: "24h",
      help: "create: how long the token is good for, e.g. 24h, 30m, 1h30m (0: never expires)",
    },
    uses: { type: "string", value: "N", help: "create: how many hosts may join with it" },
    description: { type: "string", value: "TEXT", help: "create: what the token is for" },
    ...CLIENT_FLAGS,
  },
  positionals: true,
  run: async ({ flags: values, positionals }, env) => {
    const [action, id] = positionals;
    const known =
      action === "list" || action === "create" || (action === "revoke" && id !== undefined);
    if (!known || positionals.length > (action === "revoke" ? 2 : 1))
      throw invalidArgument(
        "the subcommands are list, create and revoke ID. Run `berth help tokens` for their options.",
      );
    let body: Record<string, unknown> = {};
    if (action === "create") {
      const ttlSeconds = parseDuration(values.ttl);
      if (ttlSeconds === undefined)
        throw invalidArgument(
          `--ttl is a duration like 24h, 30m or 1h30m (0: never expires), not '${values.ttl}'`,
        );
      const uses = values.uses === undefined ? undefined : Number(values.uses);
      if (uses !== undefined && !(Number.isInteger(uses) && uses >= 1))
        throw invalidArgument(
          `--uses is a whole number of joins, at least 1, not '${values.uses}'`,
        );
      body = {
        ttlSeconds,
        ...(uses === undefined ? {} : { usageLimit: uses }),
        ...(values.description === undefined ? {} : { description: values.description }),
      };
    } else if (action === "revoke") body = { id };
    const response = await signedPost(
      clientConfigFrom(values, env),
      `/_berth/tokens/${action}`,
      body,
    );
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
  },
});
