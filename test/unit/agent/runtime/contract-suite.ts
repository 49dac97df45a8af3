/**
 * The contract every ContainerRuntime keeps, as one suite run against each implementation:
 * runc and runsc with real containers (root and the runtime binaries), and the in-memory fake
 * of the unit tests, which skips only what needs a real process in a real root filesystem
 * (`realContainers: false`).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import type { ContainerRuntime, RuntimeOptions } from "../../../../src/agent/runtime/index.js";
import {
  busyboxSpec,
  collectLogs,
  makeFixture,
  uniqueId,
  type RuntimeFixture,
} from "./fixtures.js";

function isAlive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

export interface ContractOptions {
  /** The task's containers share the sandbox's network namespace. */
  sharedNetwork?: boolean;
  /** The task's containers share one hostname, whatever their specs say (gVisor's pods). */
  podHostname?: boolean;
  /** Processes run in the container's root filesystem, namespaces and mounts (not a fake). */
  realContainers?: boolean;
}

export function runtimeContract(
  name: string,
  create: (options: RuntimeOptions) => ContainerRuntime,
  options: ContractOptions = { sharedNetwork: true },
): void {
  const real = { skip: options.realContainers === false && "needs a real container" };
  describe(`ContainerRuntime contract: ${name}`, () => {
    let fixture: RuntimeFixture;
    let runtime: ContainerRuntime;
    let taskId: string;

    before(async () => {
      fixture = makeFixture();
      runtime = create({ dataDir: join(fixture.dir, "agent"), cgroupParent: fixture.cgroupParent });
      taskId = uniqueId("task");
      await runtime.prepareSandbox({ taskId, cpu: 1024, memoryMiB: 256 });
    });
    after(async () => {
      await fixture.cleanup(runtime);
    });

    async function run(
      args: string[],
      extra = {},
    ): Promise<{ id: string; exitCode: number; out: string }> {
      const spec = busyboxSpec(fixture, taskId, args, extra);
      await runtime.createContainer(spec);
      await runtime.startContainer(spec.id);
      const exit = await runtime.waitContainer(spec.id);
      const out = await collectLogs(runtime, spec.id);
      await runtime.deleteContainer(spec.id);
      return { id: spec.id, exitCode: exit.exitCode, out };
    }

    it("creates, starts and reports the exit code and the output of each stream", async () => {
      const spec = busyboxSpec(fixture, taskId, [
        "sh",
        "-c",
        "echo first; echo oops >&2; echo second; exit 7",
      ]);
      const created = await runtime.createContainer(spec);
      assert.equal(created.status, "created");
      assert.equal((await runtime.inspectContainer(spec.id))?.status, "created");
      const started = await runtime.startContainer(spec.id);
      assert.ok(started.startedAt instanceof Date);
      const exit = await runtime.waitContainer(spec.id);
      assert.equal(exit.exitCode, 7);
      assert.equal(exit.oomKilled, false);
      const info = await runtime.inspectContainer(spec.id);
      assert.equal(info?.status, "stopped");
      assert.equal(info?.exit?.exitCode, 7);
      const lines = [];
      for await (const line of runtime.readLogs(spec.id)) lines.push(line);
      assert.deepEqual(
        lines.filter((l) => l.stream === "stdout").map((l) => l.text),
        ["first", "second"],
      );
      assert.deepEqual(
        lines.filter((l) => l.stream === "stderr").map((l) => l.text),
        ["oops"],
      );
      // waiting again answers at once with the same exit
      assert.equal((await runtime.waitContainer(spec.id)).exitCode, 7);
      await runtime.deleteContainer(spec.id);
      assert.equal(await runtime.inspectContainer(spec.id), undefined);
      await runtime.deleteContainer(spec.id); // idempotent
    });

    it("runs the process as PID 1 in its own root filesystem", real, async () => {
      const result = await run(["sh", "-c", "echo pid=$$; cat /rootfs-marker"]);
      assert.equal(result.out, "pid=1\nberth-test-rootfs");
    });

    it("applies env, cwd, user, hostname and labels", real, async () => {
      const spec = busyboxSpec(
        fixture,
        taskId,
        ["sh", "-c", 'echo "$GREETING $HOME $(pwd) $(id -u):$(id -g):$(id -G) $(hostname)"'],
        {
          env: { GREETING: "hi there" },
          cwd: "/tmp",
          user: "app",
          hostname: "web-1",
          labels: { team: "core" },
        },
      );
      await runtime.createContainer(spec);
      assert.deepEqual((await runtime.inspectContainer(spec.id))?.labels, { team: "core" });
      await runtime.startContainer(spec.id);
      await runtime.waitContainer(spec.id);
      assert.equal(
        await collectLogs(runtime, spec.id),
        // In one sandbox per task (gVisor), the containers share the task's hostname too.
        `hi there /home/app /tmp 1000:1000:1000 2000 ${options.podHostname === true ? (await run(["hostname"])).out : "web-1"}`,
      );
      await runtime.deleteContainer(spec.id);
    });

    it("rejects an unknown user with ContainerUserNotFound", async () => {
      const spec = busyboxSpec(fixture, taskId, ["true"], { user: "nosuchuser" });
      await assert.rejects(runtime.createContainer(spec), { code: "ContainerUserNotFound" });
      assert.equal(await runtime.inspectContainer(spec.id), undefined);
    });

    it("makes the root filesystem read-only when asked", real, async () => {
      const result = await run(
        ["sh", "-c", "touch /x 2>/dev/null && echo writable || echo readonly"],
        {
          readonlyRootfs: true,
        },
      );
      assert.equal(result.out, "readonly");
      const rw = await run(["sh", "-c", "touch /x && echo writable"]);
      assert.equal(rw.out, "writable");
    });

    it("stops with SIGTERM, and with SIGKILL after the timeout when SIGTERM is ignored", async () => {
      const polite = busyboxSpec(fixture, taskId, [
        "sh",
        "-c",
        "trap 'exit 42' TERM; while true; do sleep 0.05; done",
      ]);
      await runtime.createContainer(polite);
      await runtime.startContainer(polite.id);
      assert.equal((await runtime.stopContainer(polite.id, 30_000)).exitCode, 42);
      await runtime.deleteContainer(polite.id);

      // a process that ignores SIGTERM: only SIGKILL ends it
      const stubborn = busyboxSpec(fixture, taskId, [
        "sh",
        "-c",
        "trap '' TERM; while true; do sleep 0.05; done",
      ]);
      await runtime.createContainer(stubborn);
      await runtime.startContainer(stubborn.id);
      const exit = await runtime.stopContainer(stubborn.id, 300);
      assert.equal(exit.exitCode, 137);
      assert.equal(exit.oomKilled, false);
      await runtime.deleteContainer(stubborn.id);
    });

    it(
      "starts a container's own process before start returns, so a stop right after reaches it",
      real,
      async () => {
        // `runc start` returns before runc's init has exec'd the process (3 times in 30): a
        // SIGTERM sent then reached runc's init, which exited 2 (Go's answer) whatever the
        // process would have done.
        const names: string[] = [];
        const exits: number[] = [];
        for (let i = 0; i < 20; i++) {
          const spec = busyboxSpec(fixture, taskId, ["sleep", "1000"]);
          await runtime.createContainer(spec);
          const { pid } = await runtime.startContainer(spec.id);
          const status = pid === undefined ? "" : readFileSync(`/proc/${pid}/status`, "utf8");
          names.push(/^Name:\s*(\S+)/m.exec(status)?.[1] ?? "");
          exits.push((await runtime.stopContainer(spec.id, 100)).exitCode);
          await runtime.deleteContainer(spec.id);
        }
        assert.equal(names.length, 20);
        assert.deepEqual(
          names.filter((name) => name.startsWith("runc")),
          [],
          `PID 1 after start: ${names.join(" ")}`,
        );
        // runc's PID 1 ignores SIGTERM (137 after SIGKILL); gVisor's sandbox holds its own
        // init, so there the sleep is not PID 1 and SIGTERM ends it (143). Never runc's 2.
        assert.deepEqual(
          exits.filter((code) => code !== 137 && code !== 143),
          [],
        );
      },
    );

    it("puts an init in front with initProcessEnabled, so a plain sleep stops on SIGTERM", async () => {
      const spec = busyboxSpec(fixture, taskId, ["sleep", "1000"], { initProcessEnabled: true });
      await runtime.createContainer(spec);
      await runtime.startContainer(spec.id);
      // a long timeout: only the init's forwarding of SIGTERM can end it in time
      const exit = await runtime.stopContainer(spec.id, 60_000);
      assert.equal(exit.exitCode, 143);
      await runtime.deleteContainer(spec.id);
    });

    it("follows logs until the container exits", async () => {
      const spec = busyboxSpec(fixture, taskId, [
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line$i; sleep 0.05; done",
      ]);
      await runtime.createContainer(spec);
      const lines: string[] = [];
      const reading = (async () => {
        for await (const line of runtime.readLogs(spec.id, { follow: true })) lines.push(line.text);
      })();
      await runtime.startContainer(spec.id);
      await reading;
      assert.deepEqual(lines, ["line1", "line2", "line3", "line4", "line5"]);
      await runtime.deleteContainer(spec.id);
    });

    it(
      "shares one loopback between the containers of a task, and not with other tasks",
      {
        skip:
          (!options.sharedNetwork && "not for this runtime yet") ||
          (options.realContainers === false && "needs a real container"),
      },
      async () => {
        const server = busyboxSpec(fixture, taskId, [
          "sh",
          "-c",
          "while true; do echo pong | nc -l -p 7777; done",
        ]);
        await runtime.createContainer(server);
        await runtime.startContainer(server.id);
        // Retried for a while: the server may not listen yet (a bounded wait, not a timing).
        const ping = [
          "sh",
          "-c",
          "for i in $(seq 50); do nc 127.0.0.1 7777 </dev/null && exit 0; sleep 0.1; done; exit 1",
        ];
        const same = await run(ping);
        const otherTask = uniqueId("task");
        await runtime.prepareSandbox({ taskId: otherTask });
        const spec = busyboxSpec(fixture, otherTask, [
          "sh",
          "-c",
          "nc 127.0.0.1 7777 </dev/null; cat /sys/class/net/lo/operstate 2>/dev/null || echo up",
        ]);
        await runtime.createContainer(spec);
        await runtime.startContainer(spec.id);
        await runtime.waitContainer(spec.id);
        const other = await collectLogs(runtime, spec.id);
        await runtime.destroySandbox(otherTask); // deletes its container too
        await runtime.deleteContainer(server.id);
        assert.equal(same.exitCode, 0, same.out);
        assert.equal(same.out, "pong");
        assert.match(other, /refused/);
        assert.match(other, /^(unknown|up)$/m);
        assert.equal(await runtime.inspectContainer(spec.id), undefined);
      },
    );

    it("passes bind mounts through", real, async () => {
      const dir = join(fixture.dir, "shared");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "in.txt"), "from host\n");
      const out = await run(["sh", "-c", "cat /data/in.txt; echo back > /data/out.txt"], {
        mounts: [{ source: dir, destination: "/data" }],
      });
      assert.equal(out.out, "from host");
    });

    it("lists sandboxes and containers for a new instance over the same data dir", async () => {
      const spec = busyboxSpec(fixture, taskId, ["sh", "-c", "trap '' TERM; sleep 1000"], {
        labels: { k: "v" },
      });
      await runtime.createContainer(spec);
      await runtime.startContainer(spec.id);
      const second = create({
        dataDir: join(fixture.dir, "agent"),
        cgroupParent: fixture.cgroupParent,
      });
      const { sandboxes, containers } = await second.list();
      assert.ok(sandboxes.some((s) => s.taskId === taskId));
      const seen = containers.find((c) => c.id === spec.id);
      assert.equal(seen?.status, "running");
      assert.deepEqual(seen?.labels, { k: "v" });
      assert.equal((await second.stopContainer(spec.id, 200)).exitCode, 137);
      await second.deleteContainer(spec.id);
      await second.close();
      assert.equal(await runtime.inspectContainer(spec.id), undefined);
    });

    it(
      "reports a container whose monitor was killed as running, then exited with code 255",
      real,
      async () => {
        const spec = busyboxSpec(fixture, taskId, ["sleep", "1000"]);
        await runtime.createContainer(spec);
        await runtime.startContainer(spec.id);
        const pidFile = join(fixture.dir, "agent", "containers", spec.id, "conmon.pid");
        const monitor = Number(readFileSync(pidFile, "utf8"));
        process.kill(monitor, "SIGKILL");
        while (isAlive(monitor)) await sleep(10);
        assert.equal((await runtime.inspectContainer(spec.id))?.status, "running");
        const waiting = runtime.waitContainer(spec.id);
        await runtime.signalContainer(spec.id, "SIGKILL");
        assert.equal((await waiting).exitCode, 255); // the monitor that knew the code is gone
        await runtime.deleteContainer(spec.id);
      },
    );

    it("refuses a container whose sandbox does not exist, and a duplicate id", async () => {
      await assert.rejects(
        runtime.createContainer(busyboxSpec(fixture, "no-such-task", ["true"])),
        { code: "SandboxNotFound" },
      );
      const spec = busyboxSpec(fixture, taskId, ["true"]);
      await runtime.createContainer(spec);
      await assert.rejects(runtime.createContainer(spec), { code: "ContainerAlreadyExists" });
      await runtime.deleteContainer(spec.id);
    });
  });
}
