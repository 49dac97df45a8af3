/** Desired and actual state, in one database: schema, migrations, and how to open it. */
export { openSqliteStore, migrate, type Store } from "./open.js";
export type * from "./schema.js";
