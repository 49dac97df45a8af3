// The tenant boundary on the host's file system (issue 12, items 2 and 3), attacked as an
// unprivileged local user (nobody): a hostile image's setuid-root busybox and a block device
// node onto a loop device (where tasks' filesystems live) must give that user nothing, and nothing Berth writes with a
// tenant's data may be readable by anyone but root. Each attack is first shown to work on a
// plain directory, so the test fails when a defence is missing.
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import {
  BERTH_BIN,
  BUSYBOX,
  pushBusyboxImage,
  startBerthProcess,
  until,
  type BerthProcess,
} from "../../src/testing/index.js";

const NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];
const SECRET = "tenant-secret-5f0c2d9e";

let berth: BerthProcess;
let ecs: ECSClient;
let taskArn: string;
let agentDir: string;
/** loop0: loop devices carry tasks' filesystems (task storage). */
const LOOP0 = { major: 7, minor: 0 };

/**
 * Runs `argv` as nobody, with `fd` (if any) as its fd 3. Through env: setpriv itself finds the
 * program before it gives up root's access to the path.
 */
function asNobody(argv: string[], fd?: number): SpawnSyncReturns<string> {
  return spawnSync("setpriv", [...NOBODY, "env", ...argv], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe", ...(fd === undefined ? [] : [fd])],
    timeout: 20_000,
  });
}

/** Runs `argv` as nobody with a directory opened by root as its fd 3 (`/proc/self/fd/3`). */
function asNobodyThrough(dir: string, argv: (inside: string) => string[]) {
  const fd = openSync(dir, "r");
  try {
    return asNobody(argv("/proc/self/fd/3"), fd);
  } finally {
    closeSync(fd);
  }
}

/** Probes that succeed only with root's privileges (a raw socket) or a usable device node. */
const rootProbe = (busybox: string) => [busybox, "traceroute", "-m", "1", "-q", "1", "127.0.0.1"];
const readProbe = (node: string) => ["dd", `if=${node}`, "of=/dev/null", "bs=1", "count=1"];

function mountOptions(point: string): string[] | undefined {
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    if (fields[4] === point) return (fields[5] ?? "").split(",");
  }
  return undefined;
}

async function describeTask(arn: string): Promise<Task> {
  const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ tasks: [arn] }));
  return tasks[0] ?? {};
}

function berthLogs(arn: string): string {
  const out = spawnSync(process.execPath, [BERTH_BIN, "logs", arn, "--endpoint", berth.endpoint], {
    encoding: "utf8",
    env: berth.berthEnv,
  });
  return out.stdout;
}

interface Entry {
  path: string;
  mode: number;
  dir: boolean;
}

/**
 * Every file and directory under `root` (symlinks not followed). `skip` names directories whose
 * contents are a tenant's own (an image's files with the image's modes), walked no further.
 */
function walk(root: string, skip: (path: string) => boolean): Entry[] {
  const out: Entry[] = [];
  const visit = (path: string): void => {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (stat === undefined || stat.isSymbolicLink()) return;
    out.push({ path, mode: stat.mode & 0o7777, dir: stat.isDirectory() });
    if (!stat.isDirectory() || skip(path)) return;
    for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(root);
  return out;
}

/** Files whose bytes hold the tenant's secret. */
function holdingSecret(entries: Entry[]): string[] {
  return entries
    .filter((e) => !e.dir && statSync(e.path).isFile() && statSync(e.path).size < 2 ** 24)
    .filter((e) => {
      try {
        return readFileSync(e.path).includes(SECRET);
      } catch {
        return false; // a namespace file bind-mounted there, say
      }
    })
    .map((e) => e.path);
}

before(async () => {
  berth = await startBerthProcess();
  ecs = new ECSClient(berth.clientConfig);
  agentDir = join(berth.dataDir, "agent");
  const image = await pushBusyboxImage(berth, "hostile", {
    setuidBusybox: ["sbin/busybox"],
    devices: [{ path: "disk", type: "b", ...LOOP0 }],
  });
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: "hostile",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        {
          name: "app",
          image: image.uri,
          stopTimeout: 2,
          environment: [{ name: "TOKEN", value: SECRET }],
          command: ["sh", "-c", "echo started; exec sleep 600"],
        },
      ],
    }),
  );
  const { tasks = [], failures = [] } = await ecs.send(
    new RunTaskCommand({ taskDefinition: taskDefinition?.taskDefinitionArn }),
  );
  assert.deepEqual(failures, []);
  taskArn = tasks[0]?.taskArn ?? "";
  await until(
    "the hostile image's task to run",
    () => describeTask(taskArn),
    (task) => task.lastStatus === "RUNNING" || task.lastStatus === "STOPPED",
  );
  assert.equal((await describeTask(taskArn)).lastStatus, "RUNNING", "the hostile layer unpacks");
  await until(
    "the task's output",
    async () => berthLogs(taskArn),
    (out) => /started/.test(out),
  );
});
after(async () => {
  ecs.destroy();
  await berth.stop();
});

describe("a hostile image's setuid files and device nodes (issue 12, item 2)", () => {
  it("the attacks work on a plain directory (so this test can fail)", () => {
    const plain = mkdtempSync(join(tmpdir(), "berth-plain-"));
    try {
      chmodSync(plain, 0o755);
      copyFileSync(BUSYBOX, join(plain, "busybox"));
      chmodSync(join(plain, "busybox"), 0o4755);
      const suid = asNobody(rootProbe(join(plain, "busybox")));
      assert.equal(suid.status, 0, `a setuid busybox gives nobody a raw socket: ${suid.stderr}`);
      spawnSync("mknod", [
        "-m",
        "0666",
        join(plain, "disk"),
        "b",
        ...Object.values(LOOP0).map(String),
      ]);
      const read = asNobody(readProbe(join(plain, "disk")));
      assert.equal(read.status, 0, `a 0666 node of a loop device opens as nobody: ${read.stderr}`);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it("gives an unprivileged host user neither root nor the disk", () => {
    const snapshots = join(agentDir, "images", "snapshots");
    const snapshot = readdirSync(snapshots)
      .map((hex) => join(snapshots, hex))
      .find((dir) => existsSync(join(dir, "sbin", "busybox")));
    assert.ok(snapshot !== undefined, "the hostile layer is unpacked");
    assert.equal(statSync(join(snapshot, "sbin", "busybox")).mode & 0o7777, 0o4755);

    // The data dir is closed: nobody cannot even reach the binary.
    assert.equal(statSync(berth.dataDir).mode & 0o777, 0o700);
    const byPath = asNobody(rootProbe(join(snapshot, "sbin", "busybox")));
    assert.notEqual(byPath.status, 0);
    assert.match(byPath.stderr, /Permission denied/);

    // Reached anyway (here through a descriptor root opened), it runs without root: nosuid.
    assert.ok(mountOptions(snapshots)?.includes("nosuid"), "snapshots are mounted nosuid");
    assert.ok(mountOptions(snapshots)?.includes("nodev"), "snapshots are mounted nodev");
    const reached = asNobodyThrough(join(snapshot, "sbin"), (dir) => rootProbe(`${dir}/busybox`));
    assert.notEqual(reached.status, 0, "the setuid bit is not honoured on the host");
    assert.match(reached.stderr, /Operation not permitted/, "it ran, as nobody");

    // The device node was never made.
    assert.equal(lstatSync(join(snapshot, "disk"), { throwIfNoEntry: false }), undefined);
    const disk = asNobodyThrough(snapshot, (dir) => readProbe(`${dir}/disk`));
    assert.notEqual(disk.status, 0);

    // The task's storage (its containers' upper dirs) is nosuid,nodev too.
    const taskId = taskArn.split("/").pop() ?? "";
    const storage = mountOptions(join(agentDir, "storage", taskId, "fs"));
    assert.ok(storage?.includes("nosuid") && storage.includes("nodev"), String(storage));
  });
});

describe("files with tenant data are root's alone (issue 12, item 3)", () => {
  /** Image content keeps the image's own modes, under 0700 directories. */
  const tenantContent = (path: string): boolean =>
    /\/images\/snapshots\/[0-9a-f]{64}$/.test(path) ||
    /\/images\/mounts\/[^/]+\/merged$/.test(path) ||
    /\/storage\/[^/]+\/fs\/(containers|volumes)$/.test(path);
  /** Open by design, and holding no tenant data (each says why). */
  const allowed = [
    // bind-mounted into the container, for any of its users to read
    /\/containers\/[^/]+\/(hostname|hosts|resolv\.conf)$/,
    // the container's "/" (an overlay mount): the image's own mode
    /\/images\/mounts\/[^/]+\/merged$/,
    // a network namespace (nsfs, bind-mounted): the kernel's mode
    /\/run\/netns\/[^/]+$/,
    // runc's own: its state dir (0711, inside the 0700 run dir) and the pid it writes
    /\/run\/runc\/[^/]+$/,
    /\/containers\/[^/]+\/pidfile$/,
  ];

  function assertPrivate(entries: Entry[]): void {
    assert.ok(entries.length > 20, "the walk saw the data dir");
    const open = entries.filter(
      (e) =>
        (e.dir ? (e.mode & 0o077) !== 0 : (e.mode & 0o044) !== 0) &&
        !allowed.some((pattern) => pattern.test(e.path)),
    );
    assert.deepEqual(
      open.map((e) => `${e.path} ${e.mode.toString(8)}`),
      [],
      "no file is readable, and no directory is open, to group or others",
    );
  }

  it("while the task runs", () => {
    const entries = walk(berth.dataDir, tenantContent);
    const secret = holdingSecret(entries);
    for (const name of ["berth.db", "berth.db-wal", "credentials.json"])
      assert.ok(
        entries.some((e) => e.path === join(berth.dataDir, name)),
        `${name} is there`,
      );
    assert.ok(
      secret.some((p) => p.endsWith("/config.json")),
      "the bundle holds the environment",
    );
    assert.ok(
      secret.some((p) => /\/tasks\/[^/]+\.json$/.test(p)),
      "so does the task record",
    );
    for (const path of secret) assert.equal(statSync(path).mode & 0o777, 0o600, path);
    assertPrivate(entries);

    // Reached anyway (through a descriptor onto the data dir), the files do not open.
    const db = asNobodyThrough(berth.dataDir, (dir) => ["cat", `${dir}/berth.db`]);
    assert.notEqual(db.status, 0);
    assert.match(db.stderr, /Permission denied/);
  });

  it("after the task stopped and its logs were archived", async () => {
    await ecs.send(new StopTaskCommand({ task: taskArn }));
    await until(
      "the task to stop",
      () => describeTask(taskArn),
      (task) => task.lastStatus === "STOPPED",
    );
    assert.match(berthLogs(taskArn), /started/);
    const entries = walk(berth.dataDir, tenantContent);
    assert.ok(
      entries.some((e) => !e.dir && /\/agent\/logs\//.test(e.path)),
      "the archived log is there",
    );
    for (const path of holdingSecret(entries))
      assert.equal(statSync(path).mode & 0o777, 0o600, path);
    assertPrivate(entries);
  });
});
