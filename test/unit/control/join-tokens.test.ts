import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  authenticateHost,
  createJoinToken,
  enrollLocalHost,
  JoinRefused,
  listJoinTokens,
  revokeJoinToken,
} from "../../../src/control/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";

const HOUR = 3_600_000;
const secret = (c: string): string => c.repeat(43);
let dir: string;
let store: Store;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-tokens-"));
  store = await openSqliteStore(join(dir, "berth.db"));
});
after(async () => {
  await store.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof JoinRefused, String(error));
    return error.code;
  }
  assert.fail("expected a refusal");
}

describe("join tokens", () => {
  it("have kubeadm's form, are listed by id with their expiry, and keep no secret", async () => {
    const now = new Date(1_000_000_000_000);
    const { token, info } = await createJoinToken(store, now, { ttlMs: HOUR, usageLimit: 2 });
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.equal(info.id, token.slice(0, 6));
    assert.equal(info.expiresAt?.getTime(), now.getTime() + HOUR);
    const listed = (await listJoinTokens(store, now)).find((t) => t.id === info.id);
    assert.deepEqual(listed?.status, "valid");
    assert.equal(listed?.usageLimit, 2);
    const rows = await store.selectFrom("join_tokens").selectAll().execute();
    assert.ok(rows.length > 0);
    for (const row of rows) assert.ok(!Object.values(row).includes(token));
  });

  it("let a new host join once each use, then refuse: expired, revoked, used up, unknown", async () => {
    const t0 = new Date(2_000_000_000_000);
    const limited = await createJoinToken(store, t0, { ttlMs: HOUR, usageLimit: 1 });
    assert.deepEqual(
      await authenticateHost(
        store,
        { hostId: "host-a", secret: secret("a"), joinToken: limited.token },
        t0,
      ),
      { joinedWith: limited.info.id },
    );
    assert.equal(
      await refusal(
        authenticateHost(
          store,
          { hostId: "host-b", secret: secret("b"), joinToken: limited.token },
          t0,
        ),
      ),
      "JoinTokenExhausted",
    );
    const expiring = await createJoinToken(store, t0, { ttlMs: HOUR });
    const later = new Date(t0.getTime() + HOUR + 1);
    assert.equal(
      await refusal(
        authenticateHost(
          store,
          { hostId: "host-c", secret: secret("c"), joinToken: expiring.token },
          later,
        ),
      ),
      "JoinTokenExpired",
    );
    const revoked = await createJoinToken(store, t0, {});
    assert.equal(await revokeJoinToken(store, revoked.info.id, t0), true);
    assert.equal(await revokeJoinToken(store, "zzzzzz", t0), false);
    assert.equal(
      await refusal(
        authenticateHost(
          store,
          { hostId: "host-d", secret: secret("d"), joinToken: revoked.token },
          t0,
        ),
      ),
      "JoinTokenRevoked",
    );
    assert.equal(
      await refusal(
        authenticateHost(
          store,
          {
            hostId: "host-e",
            secret: secret("e"),
            joinToken: `${revoked.info.id}.0000000000000000`,
          },
          t0,
        ),
      ),
      "JoinTokenUnknown",
    );
    const statuses = new Map((await listJoinTokens(store, t0)).map((t) => [t.id, t.status]));
    assert.equal(statuses.get(limited.info.id), "exhausted");
    assert.equal(statuses.get(expiring.info.id), "valid");
    assert.equal(statuses.get(revoked.info.id), "revoked");
    const afterwards = await listJoinTokens(store, later);
    assert.equal(afterwards.find((t) => t.id === expiring.info.id)?.status, "expired");
  });

  it("never let a token speak for a host that has joined; its own secret always does", async () => {
    const now = new Date(3_000_000_000_000);
    const { token } = await createJoinToken(store, now, {});
    await authenticateHost(store, { hostId: "host-f", secret: secret("f"), joinToken: token }, now);
    assert.equal(
      await refusal(
        authenticateHost(store, { hostId: "host-f", secret: secret("x"), joinToken: token }, now),
      ),
      "HostCredentialMismatch",
    );
    // Its own credential, with or without the token (a join whose answer was lost), no new use.
    assert.deepEqual(
      await authenticateHost(store, { hostId: "host-f", secret: secret("f") }, now),
      {},
    );
    assert.deepEqual(
      await authenticateHost(
        store,
        { hostId: "host-f", secret: secret("f"), joinToken: token },
        now,
      ),
      {},
    );
    const uses = (await listJoinTokens(store, now)).find((t) => token.startsWith(t.id))?.uses;
    assert.equal(uses, 1);
    // Not joined and no token; a host row that predates credentials cannot be claimed.
    assert.equal(
      await refusal(authenticateHost(store, { hostId: "host-g", secret: secret("g") }, now)),
      "HostNotJoined",
    );
    await store
      .insertInto("hosts")
      .values({
        id: "host-old",
        availability_zone: "us-east-1a",
        cpu: 1024,
        memory: 1024,
        status: "ACTIVE",
        registered_at: 0,
        capacity_providers: "[]",
      })
      .execute();
    assert.equal(
      await refusal(
        authenticateHost(store, { hostId: "host-old", secret: secret("o"), joinToken: token }, now),
      ),
      "HostIdTaken",
    );
    await enrollLocalHost(store, "host-old", secret("o"), now);
    assert.deepEqual(
      await authenticateHost(store, { hostId: "host-old", secret: secret("o") }, now),
      {},
    );
    assert.equal(
      await refusal(authenticateHost(store, { hostId: "host-h", secret: "short" }, now)),
      "HostCredentialInvalid",
    );
  });
});
