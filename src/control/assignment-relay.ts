/**
 * Delivers the tasks placed on a host by any server to that host, wherever its agent is
 * connected. The server that places a task sends it at once when the host's agent is connected
 * to it; otherwise it publishes a notification, and the server the agent is connected to reads
 * the host's tasks from the store and sends what its agent has not been sent yet (new tasks
 * its host has not reported on, and tasks whose desired status became STOPPED; a host that
 * connects is sent all its tasks by its hello's sync). The notification is only a hint: the same pass
 * runs every `intervalMs`, so a lost notification delays a task, never loses it.
 *
 * Sending an assignment twice is harmless (the agent ignores one it holds unless it now asks to
 * stop), so the pass errs on the side of sending. A stop is not sent while its task's load
 * balancer targets drain (`drainingTasks`): a later pass sends it, so a drain outlives the
 * server that began it.
 */
import { SerialPass, type Logger } from "../core/index.js";
import type { ServerMessage, TaskAssignment } from "../protocol/index.js";
import { anyOf, type Notifier, type Store } from "../store/index.js";
import { drainingTasks } from "./tasks.js";

export interface RelayChannel {
  connectedHosts(): string[];
  send(hostId: string, message: ServerMessage): boolean;
}

export interface AssignmentRelayOptions {
  store: Store;
  channel: RelayChannel;
  notifier: Notifier;
  log: Logger;
  /**
   * How often every connected host's tasks are looked at; none: only on notifications (one
   * server on SQLite sends every assignment itself, so it need not poll).
   */
  intervalMs?: number;
  /**
   * What the timed pass looks for: everything (several servers), or only stops (one server,
   * which sends every assignment itself: only a stop held by a drain is left for the pass).
   */
  poll?: "all" | "stops";
}

const TOPIC = "berth_assignments";
/** Host ids per notification (each at most 64 characters and a comma: under 8,000 bytes). */
const ANNOUNCED_AT_ONCE = 100;

export class AssignmentRelay {
  /** Per connected host: the desired status last sent for each of its tasks. */
  readonly #sent = new Map<string, Map<string, string>>();
  readonly #due = new Set<string>();
  /** Hosts connected elsewhere that this turn's deliveries were for (see deliver). */
  readonly #announce = new Set<string>();
  #announcing: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #passes: SerialPass;

  constructor(private readonly options: AssignmentRelayOptions) {
    // A pass takes the hosts kicked since the last one began.
    this.#passes = new SerialPass(
      () => {
        const hosts = [...this.#due];
        this.#due.clear();
        return this.#pass(hosts);
      },
      options.log,
      { failed: "relaying assignments failed" },
    );
  }

  start(): void {
    this.#passes.start();
    // A notification names the hosts of a turn's deliveries (see deliver), comma-separated.
    this.options.notifier.subscribe(TOPIC, (payload) => {
      const connected = new Set(this.options.channel.connectedHosts());
      for (const hostId of payload.split(",")) if (connected.has(hostId)) this.kick(hostId);
    });
    const every = this.options.intervalMs;
    if (every === undefined) return;
    // Not SerialPass's fixed beat: a timed pass marks every connected host due, and the next one
    // comes `every` after it ended, so a slow store is not read back to back.
    const poll = (): void => {
      for (const hostId of this.options.channel.connectedHosts()) this.#due.add(hostId);
      void this.#passes.kick().finally(() => {
        if (this.#timer !== undefined) this.#timer = setTimeout(poll, every);
      });
    };
    this.#timer = setTimeout(poll, every);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#announcing !== undefined) {
      clearImmediate(this.#announcing);
      this.#announceNow();
    }
    await this.#passes.stop();
  }

  /**
   * A task of `hostId` was placed or stopped here: sent directly when the host is connected to
   * this server, announced to the others otherwise: once per turn for all the hosts of that
   * turn's deliveries. A notification each was 7 round trips and commits per RunTask of ten
   * tasks with three servers (bench:placement: 2,123 NOTIFYs for 311 RunTasks, the most
   * frequent statement), and every server looked each one up in a copy of its host list.
   */
  deliver(hostId: string, message: ServerMessage): void {
    if (this.options.channel.send(hostId, message)) {
      if (message.type === "assign")
        this.#remember(hostId, message.task.taskArn, message.task.desiredStatus);
      return;
    }
    this.#announce.add(hostId);
    this.#announcing ??= setImmediate(() => this.#announceNow());
  }

  #announceNow(): void {
    this.#announcing = undefined;
    const hosts = [...this.#announce];
    this.#announce.clear();
    // PostgreSQL takes payloads up to 8,000 bytes; a host id is at most 64 characters.
    for (let at = 0; at < hosts.length; at += ANNOUNCED_AT_ONCE)
      void this.options.notifier.publish(TOPIC, hosts.slice(at, at + ANNOUNCED_AT_ONCE).join(","));
  }

  /** Looks at `hostId`'s tasks now (a notification said something changed). */
  kick(hostId: string): void {
    this.#due.add(hostId);
    void this.#passes.kick();
  }

  /** Sends each of `hosts`' tasks that its agent has not been sent in its current state. */
  async #pass(hosts: string[]): Promise<void> {
    const { store, channel } = this.options;
    // Forget hosts that moved away: when one comes back, its hello sync sends everything.
    const connected = new Set(channel.connectedHosts());
    for (const known of this.#sent.keys()) if (!connected.has(known)) this.#sent.delete(known);
    const here = hosts.filter((hostId) => connected.has(hostId));
    if (here.length === 0) return;
    // Only tasks their host has not reported on yet (an agent reports a task it is sent at
    // once) and stops: reading every live task of every connected host each second was most of
    // a timed pass (bench:placement: some 10,000 rows a second at 5,000 hosts, growing with the
    // run), and a task its host has reported on needs nothing more until it is stopped.
    const rows = await store
      .selectFrom("tasks")
      .select(["arn", "host_id", "desired_status"])
      .where(anyOf(store, "host_id", here))
      .where("last_status", "!=", "STOPPED")
      .where((eb) =>
        eb.or([eb("last_status", "=", "PROVISIONING"), eb("desired_status", "=", "STOPPED")]),
      )
      .execute();
    const stopsOnly = this.options.poll === "stops";
    let due: string[] = [];
    // Grouped once: filtering every host's out of all rows was hosts x tasks each pass.
    const byHost = new Map<string, typeof rows>();
    for (const row of rows) {
      const list = byHost.get(row.host_id ?? "");
      if (list === undefined) byHost.set(row.host_id ?? "", [row]);
      else list.push(row);
    }
    for (const hostId of here) {
      const mine = byHost.get(hostId) ?? [];
      const sent = this.#sent.get(hostId) ?? new Map<string, string>();
      const live = new Set(mine.map((row) => row.arn));
      for (const arn of sent.keys()) if (!live.has(arn)) sent.delete(arn);
      this.#sent.set(hostId, sent);
      for (const row of mine)
        if (
          sent.get(row.arn) !== row.desired_status &&
          (!stopsOnly || row.desired_status === "STOPPED")
        )
          due.push(row.arn);
    }
    // A stop waits for its task's targets to drain (the pass after they did sends it).
    const held = await drainingTasks(
      store,
      rows.filter((row) => row.desired_status === "STOPPED").map((row) => row.arn),
    );
    if (held.size > 0) due = due.filter((arn) => !held.has(arn));
    for (let at = 0; at < due.length; at += 500) {
      const batch = await store
        .selectFrom("tasks")
        .select(["host_id", "assignment"])
        .where(anyOf(store, "arn", due.slice(at, at + 500)))
        .execute();
      for (const row of batch) {
        if (row.host_id === null) continue;
        const task = JSON.parse(row.assignment) as TaskAssignment;
        if (channel.send(row.host_id, { type: "assign", task }))
          this.#remember(row.host_id, task.taskArn, task.desiredStatus);
      }
    }
  }

  #remember(hostId: string, taskArn: string, desiredStatus: string): void {
    const sent = this.#sent.get(hostId) ?? new Map<string, string>();
    sent.set(taskArn, desiredStatus);
    this.#sent.set(hostId, sent);
  }
}
