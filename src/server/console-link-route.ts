/**
 * `POST /_berth/console/link` (signed like any API call): a one-time console sign-in link for the
 * key that signed, for `berth console` to open. Answers `{path, expiresAt}`; the token is in the
 * path's fragment (`/console/signin#link=...`), which a browser never sends to a server or in a
 * Referer, and the client puts its own endpoint in front.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { LINK_TTL_MS, type ConsoleSessions } from "../console/index.js";
import type { SignedRouteOptions } from "./route-access.js";
import { answerJson, readSignedJsonFrom } from "./task-routes.js";

export const CONSOLE_LINK_PATH = "/_berth/console/link";

/** Where a link's token goes: the sign-in page reads it from the fragment. */
export const consoleLinkPath = (token: string): string => `/console/signin#link=${token}`;

export async function serveConsoleLink(
  req: IncomingMessage,
  res: ServerResponse,
  options: SignedRouteOptions & { sessions: ConsoleSessions },
): Promise<void> {
  const signed = await readSignedJsonFrom<object>(req, res, options, {
    action: "berth:CreateConsoleSignInLink",
  });
  if (signed === undefined) return;
  const token = await options.sessions.createLink(signed.accessKeyId);
  answerJson(
    res,
    {
      path: consoleLinkPath(token),
      expiresAt: new Date(options.clock.now().getTime() + LINK_TTL_MS).toISOString(),
    },
    { "Cache-Control": "no-store" },
  );
}
