/**
 * Blob uploads: monolithic (`POST ?digest=`), and sessions (`POST`, then `PATCH` chunks, then
 * `PUT ?digest=`). A session's bytes live in `<root>/uploads/<id>/data`, so a client that
 * reconnects resumes from the size it reads back with `GET`; the running sha256 is kept in
 * memory beside it and is only recomputed from disk when it was lost (a restart, a chunk cut
 * off mid-way). Nothing in here is visible as a blob until `BlobStore.commit`.
 */
import { createHash, randomUUID, type Hash } from "node:crypto";
import { mkdir, open, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { PRIVATE_DIR, PRIVATE_FILE } from "../core/index.js";
import { hashFile, type BlobStore } from "./blob-store.js";
import { streamToFile } from "./blob-sink.js";
import { digestInvalid, RegistryError, uploadUnknown } from "./errors.js";
import { parseDigest } from "./names.js";

interface Session {
  repository: string;
  /** sha256 of the first `hashed` bytes of the data file, while it is known. */
  hash?: Hash;
  hashed: number;
  busy: boolean;
}

export interface UploadLimits {
  /** Request bodies being written at once; more get TOOMANYREQUESTS. */
  maxConcurrentWrites: number;
}

export class UploadSessions {
  readonly #sessions = new Map<string, Session>();
  #writing = 0;

  constructor(
    private readonly blobs: BlobStore,
    private readonly limits: UploadLimits,
  ) {}

  #dir(id: string): string {
    return join(this.blobs.uploadsDir, id);
  }

  async start(repository: string, now: Date): Promise<string> {
    const id = randomUUID();
    await mkdir(this.#dir(id), { mode: PRIVATE_DIR });
    await writeFile(join(this.#dir(id), "data"), "", { mode: PRIVATE_FILE });
    await writeFile(
      join(this.#dir(id), "info.json"),
      JSON.stringify({ repository, startedAt: now.getTime() }),
      { mode: PRIVATE_FILE },
    );
    this.#sessions.set(id, { repository, hash: createHash("sha256"), hashed: 0, busy: false });
    return id;
  }

  /** The session, from memory or (after a restart) from disk; BLOB_UPLOAD_UNKNOWN otherwise. */
  async #session(repository: string, id: string): Promise<Session> {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw uploadUnknown();
    let session = this.#sessions.get(id);
    if (session === undefined) {
      try {
        const info = JSON.parse(await readFile(join(this.#dir(id), "info.json"), "utf8")) as {
          repository: string;
        };
        session = { repository: info.repository, hashed: 0, busy: false };
        this.#sessions.set(id, session);
      } catch {
        throw uploadUnknown();
      }
    }
    if (session.repository !== repository) throw uploadUnknown();
    return session;
  }

  /** Bytes received so far. */
  async size(repository: string, id: string): Promise<number> {
    await this.#session(repository, id);
    return (await stat(join(this.#dir(id), "data"))).size;
  }

  #admit(): void {
    if (this.#writing >= this.limits.maxConcurrentWrites)
      throw new RegistryError("TOOMANYREQUESTS", "too many concurrent uploads; retry later");
    this.#writing += 1;
  }

  /**
   * Appends a chunk. `range` (from Content-Range) must start where the data ends: an
   * out-of-order chunk is 416. Returns the new size.
   */
  async append(
    repository: string,
    id: string,
    body: Readable,
    range?: { start: number; end: number },
  ): Promise<number> {
    const session = await this.#session(repository, id);
    if (session.busy)
      throw new RegistryError("BLOB_UPLOAD_INVALID", "another request is writing this upload");
    session.busy = true;
    try {
      const path = join(this.#dir(id), "data");
      const size = (await stat(path)).size;
      if (range !== undefined && range.start !== size)
        throw new RegistryError(
          "BLOB_UPLOAD_INVALID",
          `chunk starts at ${range.start} but the upload has ${size} bytes`,
          { size },
          416,
        );
      this.#admit();
      const handle = await open(path, "r+");
      try {
        const continues = session.hash !== undefined && session.hashed === size;
        if (!continues) session.hash = undefined;
        const hashes = continues && session.hash !== undefined ? [session.hash] : [];
        try {
          const written = await streamToFile(body, handle.fd, size, hashes);
          session.hashed += continues ? written : 0;
        } catch (error) {
          // Part of the chunk may be on disk: the size says how much, the hash is recomputed.
          session.hash = undefined;
          // On a full disk the chunk is dropped whole (the space is given back), so the
          // session holds what it held before and the pusher may retry the chunk later.
          if (error instanceof RegistryError && error.status === 507) await handle.truncate(size);
          throw error;
        }
        return (await handle.stat()).size;
      } finally {
        this.#writing -= 1;
        await handle.close();
      }
    } finally {
      session.busy = false;
    }
  }

  /**
   * Finishes a session: appends the last chunk if any, checks the digest, and commits the blob.
   * A wrong digest drops the upload (nothing is stored), as the reference registry does.
   */
  async complete(
    repository: string,
    id: string,
    digest: string,
    body: Readable | undefined,
  ): Promise<number> {
    const { algorithm } = parseDigest(digest);
    if (body !== undefined) await this.append(repository, id, body);
    const session = await this.#session(repository, id);
    if (session.busy)
      throw new RegistryError("BLOB_UPLOAD_INVALID", "another request is writing this upload");
    session.busy = true;
    const path = join(this.#dir(id), "data");
    try {
      const handle = await open(path, "r+");
      let size: number;
      try {
        await handle.sync();
        size = (await handle.stat()).size;
      } finally {
        await handle.close();
      }
      const actual =
        algorithm === "sha256" && session.hash !== undefined && session.hashed === size
          ? `sha256:${session.hash.digest("hex")}`
          : await hashFile(path, algorithm);
      session.hash = undefined;
      if (actual !== digest) {
        await this.cancel(repository, id);
        throw digestInvalid("provided digest did not match uploaded content", {
          expected: digest,
          actual,
        });
      }
      await this.blobs.commit(path, digest);
      await this.cancel(repository, id);
      return size;
    } finally {
      session.busy = false;
    }
  }

  async cancel(repository: string, id: string): Promise<void> {
    await this.#session(repository, id);
    this.#sessions.delete(id);
    await rm(this.#dir(id), { recursive: true, force: true });
  }

  /** `POST ?digest=` with the whole blob as the body. */
  async monolithic(body: Readable, digest: string): Promise<number> {
    const { algorithm } = parseDigest(digest);
    this.#admit();
    const temp = join(this.blobs.tmpDir, randomUUID());
    try {
      const hash = createHash(algorithm);
      const handle = await open(temp, "wx", PRIVATE_FILE);
      let size: number;
      try {
        size = await streamToFile(body, handle.fd, 0, [hash]);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const actual = `${algorithm}:${hash.digest("hex")}`;
      if (actual !== digest)
        throw digestInvalid("provided digest did not match uploaded content", {
          expected: digest,
          actual,
        });
      await this.blobs.commit(temp, digest);
      return size;
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    } finally {
      this.#writing -= 1;
    }
  }

  /** Drops sessions nobody touched for `maxAgeMs` (the reference registry purges after days). */
  async purgeStale(now: Date, maxAgeMs: number): Promise<number> {
    let purged = 0;
    for (const id of await readdir(this.blobs.uploadsDir).catch(() => [])) {
      const session = this.#sessions.get(id);
      if (session?.busy === true) continue;
      const touched = await stat(join(this.#dir(id), "data")).catch(() => undefined);
      if (touched !== undefined && now.getTime() - touched.mtimeMs < maxAgeMs) continue;
      this.#sessions.delete(id);
      await rm(this.#dir(id), { recursive: true, force: true });
      purged += 1;
    }
    return purged;
  }
}
