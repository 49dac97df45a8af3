/** An in-memory TaskNetwork for unit tests of the task layer; it passes the same contract. */
import type {
  TaskAddress,
  TaskAttachment,
  TaskNetwork,
  TaskNetworkTarget,
} from "../../../../src/agent/network/index.js";

export class FakeTaskNetwork implements TaskNetwork {
  readonly #attached = new Map<string, TaskAddress>();
  readonly #clusters = new Map<string, string>();

  attach(target: TaskNetworkTarget): Promise<TaskAddress> {
    const existing = this.#attached.get(target.taskId);
    if (existing !== undefined) return Promise.resolve(existing);
    const used = new Set([...this.#attached.values()].map((a) => a.privateIPv4Address));
    let host = 2;
    while (used.has(`100.64.0.${host}`)) host++;
    if (host > 254) return Promise.reject(new Error("no free address"));
    const address: TaskAddress = {
      privateIPv4Address: `100.64.0.${host}`,
      macAddress: `0a:00:00:00:00:${host.toString(16).padStart(2, "0")}`,
      subnet: "100.64.0.0/24",
      gateway: "100.64.0.1",
    };
    this.#attached.set(target.taskId, address);
    this.#clusters.set(target.taskId, target.clusterArn);
    return Promise.resolve(address);
  }

  gateway(): Promise<string> {
    return Promise.resolve("100.64.0.1");
  }

  detach(target: TaskNetworkTarget): Promise<void> {
    this.#attached.delete(target.taskId);
    return Promise.resolve();
  }

  attached(): Promise<TaskAttachment[]> {
    return Promise.resolve(
      [...this.#attached].map(([taskId, address]) => ({
        taskId,
        clusterArn: this.#clusters.get(taskId) ?? "",
        address,
      })),
    );
  }
}
