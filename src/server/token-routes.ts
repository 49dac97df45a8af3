/**
 * Join tokens over Berth's own endpoint, SigV4-signed like any API call (what `berth tokens`
 * uses): `POST /_berth/tokens/create` `{ttlSeconds?, usageLimit?, description?}` answers the
 * token (shown this once) and its facts; `/_berth/tokens/list` `{tokens: [...]}`;
 * `/_berth/tokens/revoke` `{id}`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { AwsError } from "../aws/index.js";
import {
  createJoinToken,
  listJoinTokens,
  revokeJoinToken,
  type JoinTokenInfo,
} from "../control/index.js";
import type { Store } from "../store/index.js";
import type { SignedRouteOptions } from "./route-access.js";
import { answerJson, fail, readSignedJson } from "./task-routes.js";

export const TOKENS_PATH = "/_berth/tokens/";
/** kubeadm's `token create` default. */
export const DEFAULT_JOIN_TOKEN_TTL_SECONDS = 24 * 60 * 60;

export interface TokenRouteOptions extends SignedRouteOptions {
  store: Store;
  /** The `berth agent` line a new token joins with (server URL and CA pin). */
  joinCommand?: (token: string) => string;
}

/** A token's facts on the wire: dates as ISO 8601. */
function render(info: JoinTokenInfo): Record<string, unknown> {
  return {
    ...info,
    createdAt: info.createdAt.toISOString(),
    ...(info.expiresAt === undefined ? {} : { expiresAt: info.expiresAt.toISOString() }),
    ...(info.revokedAt === undefined ? {} : { revokedAt: info.revokedAt.toISOString() }),
  };
}

function invalid(message: string): AwsError {
  return new AwsError("InvalidParameterException", message);
}

/** Answers a request under TOKENS_PATH; false when the path is not one of them. */
export async function serveTokens(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  options: TokenRouteOptions,
): Promise<boolean> {
  const action = path.slice(TOKENS_PATH.length);
  if (req.method !== "POST" || !["create", "list", "revoke"].includes(action)) return false;
  const input = await readSignedJson<Record<string, unknown>>(req, res, options, {
    action: `berth:${{ create: "CreateJoinToken", list: "ListJoinTokens", revoke: "RevokeJoinToken" }[action as "create"]}`,
  });
  if (input === undefined) return true;
  const now = options.clock.now();
  if (action === "list") {
    answerJson(res, { tokens: (await listJoinTokens(options.store, now)).map(render) });
    return true;
  }
  if (action === "revoke") {
    if (typeof input.id !== "string" || input.id === "") {
      fail(res, invalid("id is the token's id (the part before the dot)."));
      return true;
    }
    if (!(await revokeJoinToken(options.store, input.id, now))) {
      fail(res, new AwsError("ResourceNotFoundException", `No join token ${input.id}.`));
      return true;
    }
    answerJson(res, { revoked: input.id.split(".", 1)[0] });
    return true;
  }
  const { ttlSeconds = DEFAULT_JOIN_TOKEN_TTL_SECONDS, usageLimit, description } = input;
  if (typeof ttlSeconds !== "number" || !Number.isInteger(ttlSeconds) || ttlSeconds < 0) {
    fail(
      res,
      invalid("ttlSeconds is a whole number of seconds, 0 for a token that never expires."),
    );
    return true;
  }
  if (
    usageLimit !== undefined &&
    (typeof usageLimit !== "number" || !Number.isInteger(usageLimit) || usageLimit < 1)
  ) {
    fail(res, invalid("usageLimit is a whole number of joins, at least 1."));
    return true;
  }
  if (description !== undefined && (typeof description !== "string" || description.length > 256)) {
    fail(res, invalid("description is a string of at most 256 characters."));
    return true;
  }
  const { token, info } = await createJoinToken(options.store, now, {
    ttlMs: ttlSeconds * 1000,
    ...(usageLimit === undefined ? {} : { usageLimit }),
    ...(description === undefined ? {} : { description }),
  });
  const joinCommand = options.joinCommand?.(token);
  answerJson(res, {
    token,
    ...render(info),
    ...(joinCommand === undefined ? {} : { joinCommand }),
  });
  return true;
}
