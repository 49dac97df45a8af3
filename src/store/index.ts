/** Desired and actual state, in one database: schema, migrations, and how to open it. */
export { openPostgresStore, openSqliteStore, openStore, migrate, type Store } from "./open.js";
export { openNotifier, type Notifier, type Topic } from "./notify.js";
export {
  databaseNowMs,
  dialectOf,
  isUniqueViolation,
  larger,
  smaller,
  positionOf,
  type StoreDialect,
} from "./dialect.js";
export type * from "./schema.js";
