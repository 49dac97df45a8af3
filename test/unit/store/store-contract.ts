/**
 * What every store engine must mean the same way (SQLite and PostgreSQL): migrations,
 * numbers and text, conflicts, transactions under contention, ordering, and the few SQL
 * functions that are spelled per dialect. Run by store-sqlite.test.ts and, against a real
 * PostgreSQL, by test/e2e/store-postgres.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Migrator, sql, type Kysely, type Migration } from "kysely";
import { MasterKey } from "../../../src/core/index.js";
import {
  anyOf,
  isUniqueViolation,
  larger,
  migrate,
  positionOf,
  smaller,
  type Store,
} from "../../../src/store/index.js";

export interface StoreUnderTest {
  /** A new, empty, migrated store. */
  open(): Promise<Store>;
}

async function insertCluster(store: Store, name: string, createdAt: number, document = "{}") {
  await store
    .insertInto("clusters")
    .values({
      name,
      arn: `arn:aws:ecs:us-east-1:000000000000:cluster/${name}`,
      status: "ACTIVE",
      document,
      created_at: createdAt,
      updated_at: createdAt,
    })
    .execute();
}

export function storeContract(engine: string, subject: StoreUnderTest): void {
  const withStore = (name: string, body: (store: Store) => Promise<void>): void =>
    void test(`${engine}: ${name}`, async () => {
      const store = await subject.open();
      try {
        await body(store);
      } finally {
        await store.destroy();
      }
    });

  withStore("migrating again is a no-op", async (store) => {
    await migrate(store);
    const tables = await store.introspection.getTables();
    for (const table of ["clusters", "tasks", "log_events", "registry_manifests"])
      assert.ok(
        tables.some((t) => t.name === table),
        `table ${table} exists`,
      );
  });

  withStore("millisecond timestamps and text come back as they went in", async (store) => {
    const at = 1_733_390_000_123; // past 2^32: a bigint, and a number in JavaScript
    const document = JSON.stringify({ name: "ünïcødé ☃", nested: [1, 2.5, null] });
    await insertCluster(store, "one", at, document);
    const row = await store
      .selectFrom("clusters")
      .selectAll()
      .where("name", "=", "one")
      .executeTakeFirstOrThrow();
    assert.equal(row.created_at, at);
    assert.equal(typeof row.created_at, "number");
    assert.equal(row.document, document);
  });

  withStore("a unique key conflict does nothing or updates, as asked", async (store) => {
    await insertCluster(store, "c", 1);
    await store
      .insertInto("tags")
      .values({ resource_arn: "arn:x", key: "k", value: "v1" })
      .execute();
    await store
      .insertInto("tags")
      .values({ resource_arn: "arn:x", key: "k", value: "v2" })
      .onConflict((oc) => oc.columns(["resource_arn", "key"]).doNothing())
      .execute();
    let value = await store.selectFrom("tags").select("value").executeTakeFirstOrThrow();
    assert.equal(value.value, "v1");
    await store
      .insertInto("tags")
      .values({ resource_arn: "arn:x", key: "k", value: "v3" })
      .onConflict((oc) => oc.columns(["resource_arn", "key"]).doUpdateSet({ value: "v3" }))
      .execute();
    value = await store.selectFrom("tags").select("value").executeTakeFirstOrThrow();
    assert.equal(value.value, "v3");
    await assert.rejects(insertCluster(store, "c", 2), "a second primary key is refused");
  });

  withStore("a transaction that throws leaves nothing behind", async (store) => {
    await assert.rejects(
      store.transaction().execute(async (trx) => {
        await trx
          .insertInto("tags")
          .values({ resource_arn: "arn:y", key: "k", value: "v" })
          .execute();
        throw new Error("changed my mind");
      }),
      /changed my mind/,
    );
    const rows = await store.selectFrom("tags").selectAll().execute();
    assert.deepEqual(rows, []);
  });

  withStore("read-modify-write transactions side by side lose no update", async (store) => {
    await store
      .insertInto("log_groups")
      .values({ name: "g", created_at: 1, stored_bytes: 0, tags: "{}" })
      .execute();
    const writers = 16;
    await Promise.all(
      Array.from({ length: writers }, () =>
        store.transaction().execute(async (trx) => {
          const { stored_bytes } = await trx
            .selectFrom("log_groups")
            .select("stored_bytes")
            .where("name", "=", "g")
            .executeTakeFirstOrThrow();
          await new Promise((r) => setTimeout(r, 5)); // let the others read the same value
          await trx
            .updateTable("log_groups")
            .set({ stored_bytes: stored_bytes + 1 })
            .where("name", "=", "g")
            .execute();
        }),
      ),
    );
    const { stored_bytes } = await store
      .selectFrom("log_groups")
      .select("stored_bytes")
      .executeTakeFirstOrThrow();
    assert.equal(stored_bytes, writers);
  });

  withStore("ids count up and a deleted row's id is never reused", async (store) => {
    const ids: number[] = [];
    for (const name of ["a", "b"]) {
      const row = await store
        .insertInto("log_groups")
        .values({ name, created_at: 1, stored_bytes: 0, tags: "{}" })
        .returning("id")
        .executeTakeFirstOrThrow();
      ids.push(Number(row.id));
    }
    await store.deleteFrom("log_groups").where("name", "=", "b").execute();
    const next = await store
      .insertInto("log_groups")
      .values({ name: "c", created_at: 1, stored_bytes: 0, tags: "{}" })
      .returning("id")
      .executeTakeFirstOrThrow();
    assert.ok(ids[0]! < ids[1]!);
    assert.ok(Number(next.id) > ids[1]!, `id ${String(next.id)} follows ${String(ids[1])}`);
  });

  withStore("names order byte by byte (pagination tokens rely on it)", async (store) => {
    for (const name of ["b", "B", "_x", "a-1", "a", "Z"]) await insertCluster(store, name, 1);
    const rows = await store.selectFrom("clusters").select("name").orderBy("name").execute();
    assert.deepEqual(
      rows.map((r) => r.name),
      ["B", "Z", "_x", "a", "a-1", "b"],
    );
    const after = await store
      .selectFrom("clusters")
      .select("name")
      .where("name", ">", "Z")
      .orderBy("name")
      .execute();
    assert.deepEqual(
      after.map((r) => r.name),
      ["_x", "a", "a-1", "b"],
    );
  });

  withStore("the per-dialect functions mean the same", async (store) => {
    await store
      .insertInto("log_groups")
      .values({ name: "/app/Émile", created_at: 1, stored_bytes: 10, tags: "{}" })
      .execute();
    const row = await store
      .selectFrom("log_groups")
      .select([
        larger(store, sql<number>`stored_bytes - 25`, 0).as("floor"),
        larger(store, sql<number>`stored_bytes`, 3).as("max"),
        smaller(store, sql<number>`stored_bytes`, 3).as("min"),
        positionOf(store, "name", "Émile").as("at"),
        positionOf(store, "name", "émile").as("caseless"),
        sql<number>`octet_length(name)`.as("bytes"),
      ])
      .executeTakeFirstOrThrow();
    assert.deepEqual({ ...row }, { floor: 0, max: 10, min: 3, at: 6, caseless: 0, bytes: 11 });
  });

  withStore(
    "anyOf matches the values listed, whatever they hold, in one statement text",
    async (store) => {
      const names = ["a,b", 'q"uote', "{brace}", "back\\slash", "NULL", "Émile", "it's", "plain"];
      for (const [i, name] of names.entries()) await insertCluster(store, name, i + 1);
      const pick = async (values: readonly (string | number)[], column = "name") =>
        (
          await store
            .selectFrom("clusters")
            .select("name")
            .where(anyOf(store, column, values))
            .orderBy("created_at")
            .execute()
        ).map((r) => r.name);
      assert.deepEqual(await pick(names.slice(0, 7)), names.slice(0, 7));
      assert.deepEqual(await pick(["NULL", "absent", "it's"]), ["NULL", "it's"]);
      assert.deepEqual(await pick([]), []);
      assert.deepEqual(await pick([2, 8, 99], "created_at"), ['q"uote', "plain"]);
      // The same text for lists of any length.
      const texts = new Set(
        [[], ["a"], names].map(
          (values) =>
            store
              .selectFrom("clusters")
              .select("name")
              .where(anyOf(store, "name", values))
              .compile().sql,
        ),
      );
      assert.equal(texts.size, 1);
    },
  );

  withStore("a migration that fails leaves the database as it was", async (store) => {
    const failing: Migration = {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("half_done")
          .addColumn("id", "integer", (c) => c.primaryKey())
          .execute();
        await sql`insert into clusters_that_do_not_exist values (1)`.execute(db);
      },
    };
    const migrator = new Migrator({
      db: store,
      provider: { getMigrations: () => Promise.resolve({ "9999-failing": failing }) },
      allowUnorderedMigrations: true,
    });
    const { error } = await migrator.migrateToLatest();
    assert.ok(error !== undefined, "the migration failed");
    const tables = await store.introspection.getTables();
    assert.ok(!tables.some((t) => t.name === "half_done"), "its table was rolled back");
    const done = await sql<{
      name: string;
    }>`select name from kysely_migration where name = '9999-failing'`.execute(store);
    assert.deepEqual(done.rows, []);
  });

  withStore("sealed values of secrets and parameters come back byte-exact", async (store) => {
    const key = MasterKey.generate();
    // Secrets Manager's largest value (64 KiB) in non-ASCII text, sealed as the service does.
    const value = "ü€☃".repeat(65_536 / 8);
    const sealed = key.seal(value, "ctx");
    await store
      .insertInto("sm_secrets")
      .values({
        arn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:s-AbCdEf",
        name: "s",
        description: null,
        kms_key_id: null,
        created_at: 1_733_390_000_123,
        changed_at: 1_733_390_000_123,
        accessed_at: null,
        deleted_at: null,
        delete_after: null,
      })
      .execute();
    await store
      .insertInto("sm_secret_versions")
      .values({
        secret_arn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:s-AbCdEf",
        version_id: "v1",
        stages: '["AWSCURRENT"]',
        kind: "string",
        sealed,
        created_at: 1,
        accessed_at: null,
      })
      .execute();
    const row = await store
      .selectFrom("sm_secret_versions")
      .selectAll()
      .where("version_id", "=", "v1")
      .executeTakeFirstOrThrow();
    assert.equal(key.open(row.sealed, "ctx").toString("utf8"), value);
    await assert.rejects(
      store
        .insertInto("sm_secrets")
        .values({
          arn: "arn:other",
          name: "s",
          description: null,
          kms_key_id: null,
          created_at: 1,
          changed_at: 1,
          accessed_at: null,
          deleted_at: null,
          delete_after: null,
        })
        .execute(),
      (error) => isUniqueViolation(error),
    );
    await store
      .insertInto("ssm_parameters")
      .values({ name: "/a", arn: "arn:aws:ssm:us-east-1:000000000000:parameter/a", version: 2 })
      .execute();
    for (const version of [1, 2])
      await store
        .insertInto("ssm_parameter_versions")
        .values({
          name: "/a",
          version,
          type: "SecureString",
          sealed: key.seal(`v${version}`, `p${version}`),
          description: null,
          allowed_pattern: null,
          key_id: "alias/aws/ssm",
          tier: "Standard",
          data_type: "text",
          labels: "[]",
          modified_at: 1_733_390_000_123,
          modified_by: "arn:aws:iam::000000000000:root",
        })
        .execute();
    const current = await store
      .selectFrom("ssm_parameters")
      .innerJoin("ssm_parameter_versions", (join) =>
        join
          .onRef("ssm_parameter_versions.name", "=", "ssm_parameters.name")
          .onRef("ssm_parameter_versions.version", "=", "ssm_parameters.version"),
      )
      .select(["ssm_parameter_versions.sealed", "ssm_parameter_versions.version"])
      .executeTakeFirstOrThrow();
    assert.equal(current.version, 2);
    assert.equal(key.open(current.sealed, "p2").toString(), "v2");
  });
}
