// Console sessions against a real (in-memory SQLite) store: only the right secret signs in,
// the store keeps no usable cookie, expiry and sign-out end a session, and so does a key that
// no longer exists.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ConsoleSessions, SESSION_TTL_MS } from "../../../src/console/index.js";
import { ManualClock } from "../../../src/core/index.js";
import { openSqliteStore, type Store } from "../../../src/store/index.js";

const KEY = { accessKeyId: "AKIACONSOLETEST00001", secretAccessKey: "s3cret/with+chars" };
let store: Store;
let keys: Map<string, typeof KEY>;
const clock = new ManualClock(Date.UTC(2026, 0, 1));
let sessions: ConsoleSessions;

before(async () => {
  store = await openSqliteStore(":memory:");
  keys = new Map([[KEY.accessKeyId, KEY]]);
  sessions = new ConsoleSessions({ store, credentials: (id) => keys.get(id), clock });
});
after(async () => store.destroy());

describe("console sessions", () => {
  it("refuses a wrong secret, an unknown key and an empty secret", async () => {
    assert.equal(await sessions.signIn(KEY.accessKeyId, `${KEY.secretAccessKey}x`), undefined);
    assert.equal(
      await sessions.signIn(KEY.accessKeyId, KEY.secretAccessKey.slice(0, -1)),
      undefined,
    );
    assert.equal(await sessions.signIn(KEY.accessKeyId, ""), undefined);
    assert.equal(await sessions.signIn("AKIAUNKNOWN", KEY.secretAccessKey), undefined);
    const rows = await store.selectFrom("console_sessions").selectAll().execute();
    assert.equal(rows.length, 0);
  });

  it("signs in with the right secret; the store keeps only the cookie's hash", async () => {
    const signed = await sessions.signIn(KEY.accessKeyId, KEY.secretAccessKey);
    assert.ok(signed !== undefined);
    assert.ok(signed.token.length >= 40);
    assert.equal(signed.session.expiresAt, clock.now().getTime() + SESSION_TTL_MS);
    const found = await sessions.find(signed.token);
    assert.equal(found?.accessKeyId, KEY.accessKeyId);
    assert.equal(found?.csrfToken, signed.session.csrfToken);
    const stored = JSON.stringify(await store.selectFrom("console_sessions").selectAll().execute());
    assert.ok(!stored.includes(signed.token), "the cookie itself is not in the store");
    assert.ok(!stored.includes(KEY.secretAccessKey), "nor the secret");
    // Two sign-ins are two sessions with their own CSRF tokens.
    const other = await sessions.signIn(KEY.accessKeyId, KEY.secretAccessKey);
    assert.notEqual(other?.token, signed.token);
    assert.notEqual(other?.session.csrfToken, signed.session.csrfToken);
  });

  it("ends a session at its expiry", async () => {
    const signed = await sessions.signIn(KEY.accessKeyId, KEY.secretAccessKey);
    assert.ok(signed !== undefined);
    clock.advance(SESSION_TTL_MS - 1);
    assert.ok((await sessions.find(signed.token)) !== undefined);
    clock.advance(1);
    assert.equal(await sessions.find(signed.token), undefined);
  });

  it("signing out makes the cookie dead, and only that one", async () => {
    const a = await sessions.signIn(KEY.accessKeyId, KEY.secretAccessKey);
    const b = await sessions.signIn(KEY.accessKeyId, KEY.secretAccessKey);
    assert.ok(a !== undefined && b !== undefined);
    await sessions.signOut(a.token);
    assert.equal(await sessions.find(a.token), undefined);
    assert.ok((await sessions.find(b.token)) !== undefined);
  });

  it("a key that no longer exists ends its sessions", async () => {
    const signed = await sessions.signIn(KEY.accessKeyId, KEY.secretAccessKey);
    assert.ok(signed !== undefined);
    keys.delete(KEY.accessKeyId);
    assert.equal(await sessions.find(signed.token), undefined);
    keys.set(KEY.accessKeyId, KEY);
  });

  it("finds nothing for no cookie, an empty one or a forged one", async () => {
    assert.equal(await sessions.find(undefined), undefined);
    assert.equal(await sessions.find(""), undefined);
    assert.equal(await sessions.find("forged"), undefined);
  });
});
