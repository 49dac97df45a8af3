/**
 * The agent's end of fetching a starting task's secrets: a `secretsRequest` over the channel,
 * answered by the server with the values (or why there are none). Values stay in memory, in
 * the promise of the start that asked; nothing here writes or logs them.
 */
import { randomUUID } from "node:crypto";
import type { AgentMessage, ContainerSecrets, ServerMessage } from "../protocol/index.js";

/** How long a start waits for the channel and then for the answer, as the ECS agent retries. */
const WAIT_MS = 30_000;

interface Pending {
  resolve: (containers: ContainerSecrets[]) => void;
  reject: (error: Error) => void;
}

export class SecretsRequests {
  readonly #pending = new Map<string, Pending>();

  constructor(
    private readonly channel: {
      readonly connected: boolean;
      send(message: Extract<AgentMessage, { type: "secretsRequest" }>): void;
    },
    private readonly waitMs = WAIT_MS,
  ) {}

  async fetch(taskArn: string): Promise<ContainerSecrets[]> {
    const deadline = Date.now() + this.waitMs;
    while (!this.channel.connected) {
      if (Date.now() > deadline)
        throw new Error("the control plane could not be reached to fetch secrets");
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const requestId = randomUUID();
    return new Promise<ContainerSecrets[]>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.#pending.delete(requestId);
          reject(new Error("the control plane did not answer the request for secrets in time"));
        },
        Math.max(1, deadline - Date.now()),
      );
      this.#pending.set(requestId, {
        resolve: (containers) => {
          clearTimeout(timer);
          resolve(containers);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.channel.send({ type: "secretsRequest", requestId, taskArn });
    });
  }

  answered(message: Extract<ServerMessage, { type: "secrets" }>): void {
    const pending = this.#pending.get(message.requestId);
    if (pending === undefined) return;
    this.#pending.delete(message.requestId);
    if (message.error !== undefined || message.containers === undefined)
      pending.reject(new Error(message.error ?? "no secrets in the answer"));
    else pending.resolve(message.containers);
  }
}
