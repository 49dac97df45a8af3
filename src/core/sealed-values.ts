/**
 * Values kept encrypted at rest (Secrets Manager secrets, SecureString parameters): envelope
 * encryption as KMS does it. Each value gets a fresh 256-bit data key; the value is sealed
 * with AES-256-GCM under the data key, and the data key under the master key, which lives in
 * one file of the data dir (`master.key`, 0600, made once). The store holds only sealed
 * values, so its bytes (the SQLite file, a PostgreSQL dump, a backup) reveal nothing without
 * that file. Each seal binds a context (the secret's ARN and version, say) as GCM's
 * additional data: a sealed value copied onto another row does not open there.
 *
 * A sealed value is `v1.<key id>.<wrapped data key>.<iv>.<ciphertext+tag>` (base64url parts);
 * the key id (a hash of the master key) says which master key sealed it, so a server holding
 * another key fails with a message naming the file rather than with GCM's bare "unsupported state".
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { BerthError } from "./errors.js";
import { PRIVATE_FILE } from "./private-files.js";

export const MASTER_KEY_FILE = "master.key";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = "v1";

/** Seals and opens values under one master key. */
export interface ValueSealer {
  seal(plaintext: Buffer | string, context: string): string;
  open(sealed: string, context: string): Buffer;
}

/**
 * The data dir's master key, made on first use: written to a private temporary file and linked
 * into place, so two processes starting at once end up with the same key and never a torn one.
 */
export function openMasterKey(dataDir: string): MasterKey {
  const path = join(dataDir, MASTER_KEY_FILE);
  try {
    return MasterKey.fromFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  const fd = openSync(temp, "wx", PRIVATE_FILE);
  try {
    writeSync(fd, randomBytes(KEY_BYTES));
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    rmSync(temp, { force: true });
  }
  return MasterKey.fromFile(path);
}

export class MasterKey implements ValueSealer {
  readonly id: string;
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
    this.id = createHash("sha256").update(key).digest("base64url").slice(0, 11);
  }

  static fromFile(path: string): MasterKey {
    // A key file someone widened (a copy between servers, say) is closed again before use.
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, PRIVATE_FILE);
    const key = readFileSync(path);
    if (key.length !== KEY_BYTES)
      throw new BerthError(
        "MasterKeyInvalid",
        `${path} holds ${key.length} bytes, not a ${KEY_BYTES}-byte key`,
        { fault: "server" },
      );
    return new MasterKey(key);
  }

  /** @internal For unit tests: a key that lives in memory only. */
  static generate(): MasterKey {
    return new MasterKey(randomBytes(KEY_BYTES));
  }

  seal(plaintext: Buffer | string, context: string): string {
    const dataKey = randomBytes(KEY_BYTES);
    try {
      const wrapped = encrypt(this.#key, dataKey, `berth-data-key:${context}`);
      const body = encrypt(dataKey, Buffer.from(plaintext), context);
      return [VERSION, this.id, wrapped.toString("base64url"), body.toString("base64url")].join(
        ".",
      );
    } finally {
      dataKey.fill(0);
    }
  }

  open(sealed: string, context: string): Buffer {
    const [version, keyId, wrapped, body, ...rest] = sealed.split(".");
    if (version !== VERSION || body === undefined || wrapped === undefined || rest.length > 0)
      throw unreadable("it is not a sealed value");
    if (keyId !== this.id)
      throw unreadable(
        `it was sealed under master key ${keyId}, and this server holds ${this.id}: every server of one store needs the same ${MASTER_KEY_FILE}`,
      );
    const dataKey = decrypt(
      this.#key,
      Buffer.from(wrapped, "base64url"),
      `berth-data-key:${context}`,
    );
    try {
      return decrypt(dataKey, Buffer.from(body, "base64url"), context);
    } finally {
      dataKey.fill(0);
    }
  }
}

function encrypt(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]);
}

function decrypt(key: Buffer, sealed: Buffer, context: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw unreadable("it is truncated");
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch (error) {
    throw unreadable("it does not authenticate under this key and context", error);
  }
}

const unreadable = (why: string, cause?: unknown): BerthError =>
  new BerthError("SealedValueUnreadable", `A value kept encrypted cannot be opened: ${why}.`, {
    fault: "server",
    cause,
  });
