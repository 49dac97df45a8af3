/** The store contract on SQLite, the embedded default (a temp file, WAL as in production). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { openSqliteStore } from "../../../src/store/index.js";
import { storeContract } from "./store-contract.js";

const dir = mkdtempSync(join(tmpdir(), "berth-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeContract("sqlite", { open: () => openSqliteStore(join(dir, `s${++n}.db`)) });
