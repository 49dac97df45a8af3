/**
 * Which server this host trusts: the CA the join line pins (`--ca-cert-hash sha256:<hex of the
 * CA's SubjectPublicKeyInfo>`, as `kubeadm join` does). On the first join the agent fetches the
 * chain the server presents, keeps the CA whose key has that hash (in the data dir, 0600), and
 * from then on every connection verifies the server's certificate against that CA alone; a
 * joined host restarts without the hash. Plain `http://` / `ws://` servers are refused: the join
 * token and the host's credential would cross the network in the clear.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import { BerthError, caCertHash } from "../core/index.js";

const HASH_FORM = /^sha256:[0-9a-f]{64}$/;
const CA_FILE = "server-ca.crt";

/** The agent will not trust this server; the message is one line, fit to print as is. */
export class ServerNotTrusted extends BerthError {}

export interface ServerTrust {
  /** PEM of the server's CA: the only root the agent's TLS connections accept. */
  caPem: string;
  caCertHash: string;
}

function refuse(code: string, message: string): ServerNotTrusted {
  return new ServerNotTrusted(code, message);
}

/** Throws unless `server` is a TLS URL (https:// or wss://). */
export function requireTlsServer(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw refuse("ServerUrlInvalid", `--server '${server}' is not a URL (use the join line's)`);
  }
  if (url.protocol !== "https:" && url.protocol !== "wss:")
    throw refuse(
      "ServerNotEncrypted",
      `--server ${server} is not encrypted: the agent channel runs over TLS only; use the join line's https:// URL and --ca-cert-hash`,
    );
  return url;
}

/** Every certificate the server presented, leaf first (the issuer links end at a self-signed one). */
async function presentedChain(url: URL): Promise<X509Certificate[]> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 443);
  return new Promise((resolve, reject) => {
    // Nothing is trusted yet: the chain is only read here, and the pin decides.
    const socket = connect({
      host,
      port,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      rejectUnauthorized: false,
      timeout: 10_000,
    });
    socket.once("secureConnect", () => {
      const chain: X509Certificate[] = [];
      const seen = new Set<string>();
      let cert: PeerCertificate | undefined = socket.getPeerCertificate(true);
      while (cert?.raw !== undefined && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        chain.push(new X509Certificate(cert.raw));
        cert = (cert as { issuerCertificate?: PeerCertificate }).issuerCertificate;
      }
      socket.end();
      resolve(chain);
    });
    socket.once("timeout", () => socket.destroy(new Error("timed out")));
    socket.once("error", (error: Error) =>
      reject(
        refuse(
          "ServerUnreachable",
          `cannot reach the server at ${url.host} over TLS: ${error.message}`,
        ),
      ),
    );
  });
}

/**
 * The CA this host trusts for `server`: the one kept from its join, or (joining now) the one the
 * server presents whose key has `pin`. Throws ServerNotTrusted saying why not.
 */
export async function trustServer(options: {
  server: string;
  dataDir: string;
  caCertHash?: string;
}): Promise<ServerTrust> {
  const url = requireTlsServer(options.server);
  const pin = options.caCertHash?.toLowerCase();
  if (pin !== undefined && !HASH_FORM.test(pin))
    throw refuse(
      "CaCertHashInvalid",
      `--ca-cert-hash must be sha256: and 64 hex digits, as the join line prints it, not '${options.caCertHash ?? ""}'`,
    );
  const file = join(options.dataDir, CA_FILE);
  let kept: string | undefined;
  try {
    kept = readFileSync(file, "utf8");
  } catch {
    kept = undefined;
  }
  if (kept !== undefined) {
    const keptHash = caCertHash(kept);
    if (pin !== undefined && pin !== keptHash)
      throw refuse(
        "CaCertHashMismatch",
        `this host joined a server whose CA is ${keptHash}, not --ca-cert-hash ${pin}; remove ${file} to join another server`,
      );
    return { caPem: kept, caCertHash: keptHash };
  }
  if (pin === undefined)
    throw refuse(
      "CaCertHashMissing",
      "--ca-cert-hash is required to join: the join line `berth up` printed carries it",
    );
  const chain = await presentedChain(url);
  const ca = chain.find((cert) => cert.ca && caCertHash(cert) === pin);
  if (ca === undefined) {
    const root = chain.at(-1);
    throw refuse(
      "CaCertHashMismatch",
      `the server at ${url.host} is not the one the join line names: its CA is ${root === undefined ? "absent" : caCertHash(root)}, not ${pin}`,
    );
  }
  const caPem = ca.toString();
  writeFileSync(file, caPem, { mode: 0o600 });
  return { caPem, caCertHash: pin };
}
