/** Envelope encryption of values at rest: the master key file, seal and open, and what fails. */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { MASTER_KEY_FILE, MasterKey, hasCode, openMasterKey } from "../../../src/core/index.js";

const dir = mkdtempSync(join(tmpdir(), "berth-sealed-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the master key is made once, 32 bytes, readable by its owner alone", () => {
  const data = mkdtempSync(join(dir, "d"));
  const first = openMasterKey(data);
  const file = join(data, MASTER_KEY_FILE);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(readFileSync(file).length, 32);
  const again = openMasterKey(data);
  assert.equal(again.id, first.id);
  // What one sealed, the other opens: it is the same key.
  assert.equal(again.open(first.seal("hunter2", "ctx"), "ctx").toString(), "hunter2");
});

test("a key file left readable by others is closed again before use", () => {
  const data = mkdtempSync(join(dir, "w"));
  openMasterKey(data);
  const file = join(data, MASTER_KEY_FILE);
  chmodSync(file, 0o644);
  openMasterKey(data);
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test("a key file of the wrong size is refused, not used", () => {
  const data = mkdtempSync(join(dir, "s"));
  writeFileSync(join(data, MASTER_KEY_FILE), "short", { mode: 0o600 });
  assert.throws(
    () => openMasterKey(data),
    (e) => hasCode(e, "MasterKeyInvalid"),
  );
});

test("a sealed value holds neither the plaintext nor a reused data key", () => {
  const key = MasterKey.generate();
  const a = key.seal("correct horse battery staple", "c");
  const b = key.seal("correct horse battery staple", "c");
  assert.notEqual(a, b);
  assert.ok(!a.includes("correct horse"));
  assert.ok(!Buffer.from(a.split(".")[3] ?? "", "base64url").includes("correct horse"));
  assert.equal(key.open(a, "c").toString(), "correct horse battery staple");
});

test("a sealed value opens only under its own context and key, and not once altered", () => {
  const key = MasterKey.generate();
  const sealed = key.seal("v", "secret-a:1");
  assert.throws(
    () => key.open(sealed, "secret-b:1"),
    (e) => hasCode(e, "SealedValueUnreadable"),
  );
  const parts = sealed.split(".");
  const body = Buffer.from(parts[3] ?? "", "base64url");
  body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 1;
  parts[3] = body.toString("base64url");
  assert.throws(
    () => key.open(parts.join("."), "secret-a:1"),
    (e) => hasCode(e, "SealedValueUnreadable"),
  );
  const other = MasterKey.generate();
  assert.throws(
    () => other.open(sealed, "secret-a:1"),
    (e) => hasCode(e, "SealedValueUnreadable") && e.message.includes(key.id),
  );
});
