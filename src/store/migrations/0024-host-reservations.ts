/**
 * What each host has given out (control/placement): the CPU units, MiB and GiB of ephemeral
 * storage of its tasks that have not STOPPED, kept on the host's row so that placement takes room by one conditional update —
 * servers placing at once on one database can then never book the same room — instead of
 * summing every running task per RunTask. Filled in from the tasks already placed.
 */
import { sql, type Kysely, type Migration } from "kysely";

export const hostReservationsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("hosts")
      .addColumn("reserved_cpu", "bigint", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable("hosts")
      .addColumn("reserved_memory", "bigint", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable("hosts")
      .addColumn("reserved_storage_gib", "bigint", (c) => c.notNull().defaultTo(0))
      .execute();
    await sql`update hosts set
      reserved_cpu = (select coalesce(sum(cpu), 0) from tasks
        where tasks.host_id = hosts.id and tasks.last_status != 'STOPPED'),
      reserved_memory = (select coalesce(sum(memory), 0) from tasks
        where tasks.host_id = hosts.id and tasks.last_status != 'STOPPED'),
      reserved_storage_gib = (select coalesce(sum(ephemeral_storage_gib), 0) from tasks
        where tasks.host_id = hosts.id and tasks.last_status != 'STOPPED')`.execute(db);
  },
};
