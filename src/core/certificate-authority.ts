/**
 * Berth's own certificate authority, kept in the data dir: one CA (made once, reused after a
 * restart, so clients that pinned it keep trusting the server) and serving certificates it
 * signs for the names and addresses a listener answers on. Made with Debian's `openssl` CLI
 * (a well-kept tool instead of hand-written ASN.1); keys are 0600 in a 0700 directory.
 */
import { execFile } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { BerthError } from "./errors.js";

const run = promisify(execFile);

export interface CertificateAuthority {
  /** PEM of the CA certificate: what clients trust. */
  certificatePem: string;
  certPath: string;
  keyPath: string;
}

export interface ServingCertificate {
  certificatePem: string;
  keyPem: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (error) {
    throw new BerthError(
      "CertificateAuthorityFailed",
      `openssl ${args[0] ?? ""} failed: ${error instanceof Error ? error.message : String(error)}`,
      { fault: "server", cause: error },
    );
  }
}

/** A new P-256 key and its certificate for `commonName`: signed by `ca`, or self-signed. */
function newCertificate(
  keyPath: string,
  certPath: string,
  days: number,
  commonName: string,
  extensions: string[],
  ca?: CertificateAuthority,
): Promise<void> {
  return openssl([
    ...["req", "-x509", ...(ca === undefined ? [] : ["-CA", ca.certPath, "-CAkey", ca.keyPath])],
    ...["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", keyPath, "-out", certPath, "-days", String(days), "-subj", `/CN=${commonName}`],
    ...extensions.flatMap((extension) => ["-addext", extension]),
  ]);
}

/** The CA under `dir` (`ca.crt`, `ca.key`), made on first use. */
export async function ensureCertificateAuthority(
  dir: string,
  commonName = "berth-ca",
): Promise<CertificateAuthority> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const certPath = join(dir, "ca.crt");
  const keyPath = join(dir, "ca.key");
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    await newCertificate(keyPath, certPath, 3650, commonName, [
      "basicConstraints=critical,CA:TRUE",
      "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    ]);
  }
  await chmod(keyPath, 0o600);
  return { certificatePem: await readFile(certPath, "utf8"), certPath, keyPath };
}

/**
 * A serving certificate for `names` (DNS names and IP addresses) signed by `ca`, kept under
 * `dir` as `<file>.crt` / `<file>.key` and made again when the names change.
 */
export async function issueServingCertificate(
  ca: CertificateAuthority,
  dir: string,
  file: string,
  names: string[],
): Promise<ServingCertificate> {
  const san = [...new Set(names)]
    .map((name) => (isIP(name) === 0 ? `DNS:${name}` : `IP:${name}`))
    .join(",");
  const certPath = join(dir, `${file}.crt`);
  const keyPath = join(dir, `${file}.key`);
  const sanPath = join(dir, `${file}.san`);
  const current = existsSync(sanPath) ? await readFile(sanPath, "utf8") : "";
  if (current !== san || !existsSync(certPath) || !existsSync(keyPath)) {
    await newCertificate(
      keyPath,
      certPath,
      825,
      names[0] ?? "berth",
      [
        `subjectAltName=${san}`,
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
      ],
      ca,
    );
    await writeFile(sanPath, san, { mode: 0o600 });
  }
  await chmod(keyPath, 0o600);
  return {
    certificatePem: await readFile(certPath, "utf8"),
    keyPem: await readFile(keyPath, "utf8"),
  };
}

/**
 * What a joining agent pins: `sha256:` and the hex SHA-256 of the CA certificate's
 * SubjectPublicKeyInfo (DER), the form of `kubeadm join --discovery-token-ca-cert-hash`.
 */
export function caCertHash(certificate: string | Buffer | X509Certificate): string {
  const cert =
    certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
  const spki = cert.publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}
