/** Placement's races on SQLite (the embedded store); PostgreSQL runs the same contract in e2e. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { openSqliteStore } from "../../../src/store/index.js";
import { placementContract } from "./placement-contract.js";

const dir = mkdtempSync(join(tmpdir(), "berth-placement-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
// One process per SQLite file (the data dir's lock): no second server to race with.
placementContract("sqlite", async () => ({
  store: await openSqliteStore(join(dir, `p${++n}.db`)),
}));
