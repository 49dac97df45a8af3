/** Desired and actual state, in one database: schema, migrations, and how to open it. */
export {
  openPostgresStore,
  openSqliteStore,
  openStore,
  migrate,
  readCommittedTransaction,
  type Store,
} from "./open.js";
export { groupedTransaction } from "./group-commit.js";
export { openNotifier, type Notifier } from "./notify.js";
export {
  databaseNowMs,
  anyOf,
  dialectOf,
  isUniqueViolation,
  larger,
  smaller,
  positionOf,
  tryClaimKey,
  tryClaimFirstKey,
  tryClaimKeys,
} from "./dialect.js";
export {
  dropTags,
  fromKeyValue,
  putTags,
  readTags,
  removeTags,
  toKeyValue,
  type TagEntry,
} from "./tags.js";
export type * from "./schema.js";
