/**
 * The awslogs driver: ships each line a container prints, with its timestamp, to the log stream
 * its task definition names, through the channel, in order, exactly once in effect. Lines are
 * numbered along the container's log (`offset`); the server skips lines it already has, so a
 * batch resent after a reconnect — or a whole log reread after an agent restart — adds nothing.
 * At most QUEUE_LIMIT lines wait in memory: reading pauses while the server catches up, so a
 * container printing 100 MB grows no one's memory.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "../core/index.js";
import type { AgentMessage } from "../protocol/index.js";
import type { ContainerRuntime } from "./runtime/index.js";

const BATCH_LINES = 500;
const QUEUE_LIMIT = 5000;
const FLUSH_MS = 200;
const ACK_TIMEOUT_MS = 5000;
/** How long a start waits for its stream to be opened before it fails. */
const OPEN_WAIT_MS = 30_000;

type LogEvents = Extract<AgentMessage, { type: "logEvents" }>;

export interface ShipperChannel {
  readonly connected: boolean;
  send(message: LogEvents): void;
}

export interface LogTarget {
  /** The task whose container this is: the server writes as its execution role. */
  taskArn: string;
  group: string;
  stream: string;
  createGroup: boolean;
}

export class LogShipper {
  readonly #acks = new Map<string, (error?: string) => void>();
  readonly #running = new Map<string, { controller: AbortController; read: Promise<void> }>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly channel: ShipperChannel,
    private readonly log: Logger,
  ) {}

  acked(batchId: string, error?: string): void {
    this.#acks.get(batchId)?.(error);
  }

  /**
   * Starts shipping a container's output (once per container id). Resolves once the whole log
   * has been read (the container exited and its log drained): until then the container must not
   * be deleted, or its last lines would be lost. Delivery of what was read may go on after.
   */
  ship(containerId: string, target: LogTarget): Promise<void> {
    const running = this.#running.get(containerId);
    if (running !== undefined) return running.read;
    const controller = new AbortController();
    let readDone: () => void = () => undefined;
    const read = new Promise<void>((resolve) => (readDone = resolve));
    this.#running.set(containerId, { controller, read });
    this.#run(containerId, target, controller.signal, readDone)
      .catch((error: unknown) => {
        if (!controller.signal.aborted)
          this.log.warn("shipping logs stopped", { containerId, error: String(error) });
      })
      .finally(() => {
        readDone();
        this.#running.delete(containerId);
      });
    return read;
  }

  /**
   * Opens the stream before the container starts, as Docker's awslogs driver creates it when it
   * creates the container: an empty batch the server authorizes as the task's execution role.
   * Resolves to the server's refusal (`CODE: message`), or undefined once the stream exists.
   */
  async open(target: LogTarget): Promise<string | undefined> {
    const outcome = await this.#deliver(
      { type: "logEvents", batchId: randomUUID(), ...target, events: [] },
      new AbortController().signal,
      Date.now() + OPEN_WAIT_MS,
    );
    return outcome === "acked" ? undefined : outcome;
  }

  close(): void {
    for (const { controller } of this.#running.values()) controller.abort();
  }

  async #run(
    containerId: string,
    target: LogTarget,
    signal: AbortSignal,
    readDone: () => void,
  ): Promise<void> {
    const queue: LogEvents["events"] = [];
    let reading = true;
    let wake: (() => void) | undefined;
    const sleep = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    const reader = (async () => {
      let offset = 0;
      for await (const line of this.runtime.readLogs(containerId, { follow: true, signal })) {
        offset++;
        queue.push({ timestamp: Date.parse(line.time) || Date.now(), message: line.text, offset });
        if (queue.length >= BATCH_LINES) wake?.();
        while (queue.length >= QUEUE_LIMIT && !signal.aborted)
          await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })().finally(() => {
      reading = false;
      readDone();
      wake?.();
    });
    reader.catch(() => undefined);
    while (!signal.aborted && (reading || queue.length > 0)) {
      if (queue.length < BATCH_LINES && reading) await sleep(FLUSH_MS);
      if (queue.length === 0) continue;
      const events = queue.slice(0, BATCH_LINES);
      await this.#deliver({ type: "logEvents", batchId: randomUUID(), ...target, events }, signal);
      queue.splice(0, events.length);
    }
    await reader.catch(() => undefined);
  }

  /**
   * Sends until acknowledged (across disconnects the same batch goes again), or until
   * `giveUpAt`; "acked", the server's refusal, or why it was given up.
   */
  async #deliver(message: LogEvents, signal: AbortSignal, giveUpAt = Infinity): Promise<string> {
    while (!signal.aborted && Date.now() < giveUpAt) {
      if (!this.channel.connected) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
      // "acked", "timeout", or the server's error text.
      const outcome = await new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve("timeout"), ACK_TIMEOUT_MS);
        this.#acks.set(message.batchId, (error) => {
          clearTimeout(timer);
          resolve(error ?? "acked");
        });
        this.channel.send(message);
      });
      this.#acks.delete(message.batchId);
      if (outcome === "acked") return outcome;
      if (outcome !== "timeout") {
        // The server refused (the role may not write, say): as the awslogs driver, drop and go on.
        this.log.warn("log events refused", {
          group: message.group,
          stream: message.stream,
          error: outcome,
        });
        return outcome;
      }
    }
    return signal.aborted ? "the task stopped" : "the control plane did not answer";
  }
}
