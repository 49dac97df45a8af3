/**
 * The agent's spawner: a small Node process that starts the host commands the agent runs
 * (runc, ip, mount, mkfs, ebtables, conmon) on its behalf and sends back what they
 * said (command.ts). Starting a process forks its parent, and a fork costs in proportion to the
 * parent's memory: from the agent (or `berth up`, which hosts the local agent beside the server)
 * each of a launch's dozen commands blocked the event loop for 2-5 ms, and under a burst of
 * launches that was half of the agent's main thread. Forked from this process (a fraction of
 * the memory) it costs less, and on another core. It holds no state: it exits when the agent
 * that started it goes, and a lost spawner is started again on the next command.
 */
import { spawnSync } from "node:child_process";
import { setPriority } from "node:os";
import {
  BACKGROUND_SPAWNER,
  spawnCommand,
  type SpawnOutcome,
  type SpawnRequest,
} from "./spawn-command.js";

export type SpawnerRequest = SpawnRequest & { id: number };
export type SpawnerReply = SpawnOutcome & { id: number };

// The background spawner takes the lowest CPU priority and the idle I/O class once, here: every
// process it starts inherits both, with no `nice` or `ionice` process before each (a refill
// ran `ionice` twice per launch).
if (process.argv.includes(BACKGROUND_SPAWNER)) {
  setPriority(19);
  spawnSync("ionice", ["-c", "3", "-p", String(process.pid)], { stdio: "ignore" });
}

process.on("message", (request: SpawnerRequest) => {
  void spawnCommand(request).then((outcome) =>
    process.send?.({ id: request.id, ...outcome } satisfies SpawnerReply),
  );
});
// The agent is gone (exited, or killed): so is the reason to be here.
process.on("disconnect", () => process.exit(0));
// A terminal's Ctrl-C (or a service manager's stop) reaches the agent's whole process group:
// the agent's shutdown still runs commands, so the spawner outlives the signal and goes with
// the agent.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => undefined);
