import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { releaseClaimsOf } from "../../../../src/agent/network/index.js";

test("a data dir's network claims go before it does; others' stay", () => {
  const root = mkdtempSync(join(tmpdir(), "berth-claims-"));
  try {
    const claims = join(root, "claims");
    const owner = join(root, "data");
    const claim = (name: string, holder?: string): void => {
      mkdirSync(join(claims, name), { recursive: true });
      if (holder !== undefined) writeFileSync(join(claims, name, "owner"), holder);
    };
    claim("100.64.0.0_18", owner); // its server's block
    claim("100.64.64.0_24", join(owner, "agent", "network")); // its agent's subnet
    claim("100.64.128.0_18", join(root, "other")); // another Berth's
    claim("100.64.192.0_18", `${owner}2`); // a dir whose name only starts the same
    claim("100.65.0.0_18"); // being made: no owner written yet
    releaseClaimsOf(owner, claims);
    assert.deepEqual(readdirSync(claims).sort(), [
      "100.64.128.0_18",
      "100.64.192.0_18",
      "100.65.0.0_18",
    ]);
    releaseClaimsOf(join(root, "absent"), join(root, "no-claims-dir"));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
