/**
 * The agent's cache of task role credentials: each task's are asked of the server over the
 * channel (`credentialsRequest`) the first time one of its containers wants them, kept in
 * memory only (never on disk, never in a log), and asked for again once half their life has
 * gone, so what a container gets always has at least half a session left, as ECS rotates its
 * task credentials well before they expire.
 */
import { randomUUID } from "node:crypto";
import type { AgentMessage, ServerMessage, TaskRoleCredentials } from "../../protocol/index.js";

/** How long the server has to answer a request before the endpoint gives up (a 5xx). */
const ANSWER_TIMEOUT_MS = 10_000;

type Request = Extract<AgentMessage, { type: "credentialsRequest" }>;
type Answer = Extract<ServerMessage, { type: "credentials" }>;

/** The server refused (no such task here, no role, the role's trust does not allow ECS). */
export class CredentialsRefused extends Error {}

interface Held {
  credentials: TaskRoleCredentials;
  /** When they were received: half-way to the expiry from here they are renewed. */
  receivedAt: number;
}

export class TaskRoleCredentialCache {
  readonly #held = new Map<string, Held>();
  readonly #inFlight = new Map<string, Promise<TaskRoleCredentials>>();
  readonly #waiting = new Map<
    string,
    { resolve(answer: Answer): void; reject(error: Error): void; timer: NodeJS.Timeout }
  >();

  constructor(
    /** Sends on the channel; false when it is down (the request fails at once). */
    private readonly send: (message: Request) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** The task's credentials, fresh enough to hand out. */
  get(taskArn: string): Promise<TaskRoleCredentials> {
    const held = this.#held.get(taskArn);
    if (held !== undefined) {
      const halfLife = (held.credentials.expiration - held.receivedAt) / 2;
      if (this.now() < held.receivedAt + halfLife) return Promise.resolve(held.credentials);
    }
    let pending = this.#inFlight.get(taskArn);
    if (pending === undefined) {
      pending = this.#ask(taskArn).finally(() => this.#inFlight.delete(taskArn));
      this.#inFlight.set(taskArn, pending);
    }
    return pending;
  }

  /** The server's answer to one of our requests. */
  answered(answer: Answer): void {
    const waiting = this.#waiting.get(answer.requestId);
    if (waiting === undefined) return;
    this.#waiting.delete(answer.requestId);
    clearTimeout(waiting.timer);
    waiting.resolve(answer);
  }

  /** The task is gone: its credentials are forgotten. */
  forget(taskArn: string): void {
    this.#held.delete(taskArn);
  }

  close(): void {
    for (const waiting of this.#waiting.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error("the agent is closing"));
    }
    this.#waiting.clear();
    this.#held.clear();
  }

  async #ask(taskArn: string): Promise<TaskRoleCredentials> {
    const requestId = randomUUID();
    // Failures here (no channel, no answer) are ours: the endpoint answers them with a 5xx.
    const answer = await new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(requestId);
        reject(new Error("the server did not answer in time"));
      }, ANSWER_TIMEOUT_MS);
      this.#waiting.set(requestId, { resolve, reject, timer });
      if (!this.send({ type: "credentialsRequest", requestId, taskArn })) {
        this.#waiting.delete(requestId);
        clearTimeout(timer);
        reject(new Error("the agent is not connected to the server"));
      }
    });
    // A refusal by the server is the task's (a 4xx).
    if (answer.credentials === undefined)
      throw new CredentialsRefused(answer.error ?? "no credentials");
    this.#held.set(taskArn, { credentials: answer.credentials, receivedAt: this.now() });
    return answer.credentials;
  }
}
