/** Leader leases on SQLite (the embedded store); PostgreSQL runs the same contract in e2e. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { openSqliteStore } from "../../../src/store/index.js";
import { leaseContract } from "./lease-contract.js";

const dir = mkdtempSync(join(tmpdir(), "berth-lease-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
leaseContract("sqlite", () => openSqliteStore(join(dir, `l${++n}.db`)));
