// The README's five-minute tour, run as written: every `sh` block of the section, command by
// command and in order, with the real clients (/usr/bin/aws, podman, skopeo, curl, `berth`) and
// the environment `berth up`'s banner tells the reader to paste, against a Berth this test starts.
// Each command must exit as the tour implies, print what its `# -> ...` line says, and have the
// effect checked below; a command the README gains runs too (exit 0 expected), and a check whose
// command the README lost fails the test. So a README change that breaks the tour fails here.
//
// What differs from a reader's machine, and only that: Berth listens on a free port instead of
// 4566 (and the load balancer's listener on a free one instead of 8000), so the README's
// `127.0.0.1:4566` and `8000` are replaced by those; `aws` is /usr/bin/aws and `berth` this
// checkout's bin/berth.js (first on PATH); HOME, podman's storage and its login file live in the
// test's temp dir, so nothing of the machine's own is read or changed.
//
// Two test files run it (`tourTests`), in two parts, so that each stays within the runner's
// 10 minutes on a loaded machine.
import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, it } from "node:test";
import {
  DescribeServicesCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import {
  BERTH_BIN,
  pushBusyboxImage,
  waitForTask,
  describeTask,
  describeTasks,
  freePort,
  startBerthProcess,
  tempDataDir,
  until,
  type BerthProcess,
} from "../../../src/testing/index.js";
import {
  expectedPattern,
  shellBlocks,
  splitCommands,
  tourSection,
  type TourCommand,
} from "./script.js";
import { ReaderShell, type StepOutcome } from "./shell.js";

const README = join(import.meta.dirname, "../../../README.md");

let berth: BerthProcess;
let ecs: ECSClient;
let home: string;
let shell: ReaderShell;
let listenerPort: number;

/** What the test knows about one tour command: how to drive it and what it must have done. */
interface Step {
  /** Matches the command's text (the first unused step that matches takes it). */
  match: RegExp;
  exit?: number | "any";
  tty?: boolean;
  interact?: { when: RegExp; keys?: string; interrupt?: boolean };
  check?: (outcome: StepOutcome) => Promise<void> | void;
}

function json<T>(outcome: StepOutcome): T {
  return JSON.parse(outcome.stdout) as T;
}

async function taskRunning(arn: string): Promise<void> {
  const task = await describeTask(ecs, arn);
  assert.equal(task.lastStatus, "RUNNING", `task ${arn}: ${JSON.stringify(task)}`);
}

async function waitStopped(arn: string): Promise<void> {
  await until(
    "the task STOPPED",
    () => describeTask(ecs, arn),
    (t) => t.lastStatus === "STOPPED",
    {
      timeoutMs: 60_000,
    },
  );
}

/** The first part of the tour: up to "What it cost". */
const EARLY_STEPS: Step[] = [
  // Getting started
  {
    match: /ecs create-cluster --cluster-name demo$/,
    check: (o) => assert.equal(json<{ cluster: { status: string } }>(o).cluster.status, "ACTIVE"),
  },
  {
    match: /register-task-definition --family web /,
    // "0.25 vCPU" is ECS's other spelling of 256 units.
    check: (o) => {
      const { taskDefinition } = json<{ taskDefinition: { revision: number; cpu: string } }>(o);
      assert.deepEqual([taskDefinition.revision, taskDefinition.cpu], [1, "256"]);
    },
  },
  {
    match: /ecs list-task-definitions$/,
    check: (o) => assert.match(o.stdout, /task-definition\/web:1"/),
  },
  {
    match: /describe-clusters --clusters demo/,
    check: (o) => assert.match(o.stdout, /"clusterName": "demo"/),
  },
  { match: /register-task-definition --family bad /, exit: 254 },
  { match: /^berth status$/, check: (o) => assert.match(o.stdout, /is up; 2 cluster\(s\)/) },
  { match: /^berth clusters$/, check: (o) => assert.match(o.stdout, /^demo\s+ACTIVE/m) },
  // The registry
  { match: /ecr create-repository --repository-name team\/web$/ },
  {
    match: /^berth image busybox busybox/,
    check: () =>
      assert.ok(existsSync(join(home, "busybox", "oci-layout")), "no OCI layout written"),
  },
  {
    match: /ecr get-login-password \|\s+podman login/,
    check: (o) => assert.match(o.output, /Login Succeeded/),
  },
  { match: /^podman tag \$\(podman pull -q oci:busybox:latest\)/ },
  {
    match: /^podman push /,
    check: async () => {
      const images = await cli(["ecr", "describe-images", "--repository-name", "team/web"]);
      assert.match(images, /"v1"/);
    },
  },
  { match: /^podman pull --tls-verify=false / },
  {
    match: /^skopeo copy oci:busybox:latest /,
    check: (o) => assert.match(o.output, /Writing manifest/),
  },
  {
    match: /ecr describe-images --repository-name team\/web$/,
    check: (o) => assert.match(o.stdout, /"v1"/),
  },
  {
    match: /ecr put-lifecycle-policy /,
    check: (o) => assert.match(o.stdout, /"lifecyclePolicyText"/),
  },
  // Run tasks
  {
    match: /register-task-definition --family hello /,
    check: (o) =>
      assert.equal(json<{ taskDefinition: { revision: number } }>(o).taskDefinition.revision, 1),
  },
  {
    match: /^TASK=\$\(.*ecs run-task --task-definition hello /s,
    check: async () =>
      assert.match(
        await shell.variable("TASK"),
        /^arn:aws:ecs:us-east-1:000000000000:task\/default\/\w+$/,
      ),
  },
  {
    match: /ecs list-tasks$/,
    check: async (o) => assert.ok(o.stdout.includes(await shell.variable("TASK")), o.stdout),
  },
  {
    match: /ecs wait tasks-running --tasks \$TASK/,
    check: async () => taskRunning(await shell.variable("TASK")),
  },
  {
    match: /ecs describe-tasks --tasks \$TASK$/,
    check: (o) => assert.match(o.stdout, /"lastStatus": "RUNNING"/),
  },
  {
    match: /ecs stop-task --task \$TASK/,
    check: async (o) => {
      assert.match(o.stdout, /"stoppedReason": "Task stopped by user"/);
      await waitStopped(await shell.variable("TASK"));
    },
  },
  { match: /^berth logs \$TASK -f$/, check: (o) => assert.match(o.stdout, /^hello from 1$/m) },
  {
    match: /^berth run \S+ -- sh -c 'echo hi; exit 3'$/,
    exit: 3,
    check: (o) => assert.match(o.stdout, /^hi$/m),
  },
  {
    match: /^berth ps -a$/,
    check: async (o) => {
      const id = (await shell.variable("TASK")).split("/").pop() ?? "";
      assert.match(o.stdout, new RegExp(`${id}.*STOPPED`));
    },
  },
  // A task's address, exec
  {
    match: /^WEB=\$\(berth run -d /,
    check: async () => assert.match(await shell.variable("WEB"), /^[0-9a-f]{32}$/),
  },
  {
    match: /ecs wait tasks-running --tasks \$WEB$/,
    check: async () => taskRunning(await shell.variable("WEB")),
  },
  {
    match: /describe-tasks --tasks \$WEB \\\s+--query 'tasks\[0\]\.attachments\[0\]\.details'$/,
    check: (o) => assert.match(o.stdout, /privateIPv4Address/),
  },
  {
    match: /^ADDRESS=\$\(/,
    check: async () =>
      assert.match(
        await shell.variable("ADDRESS"),
        /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/,
      ),
  },
  { match: /^curl .*http:\/\/\$ADDRESS:8080\/$/, check: (o) => assert.equal(o.stdout, "hi\n") },
  {
    match: /register-task-definition --family shared /,
    check: (o) => assert.match(o.stdout, /"containerName": "writer"/),
  },
  {
    match: /^berth exec \$WEB -- ls \/www$/,
    check: (o) => assert.match(o.stdout, /^index\.html$/m),
  },
  {
    // On a terminal, as a reader types: a command, then exit with a code that must come back.
    match: /^berth exec -it \$WEB --container main -- sh$/,
    tty: true,
    interact: { when: /\/ # /, keys: "echo tour-$((6*7)); exit 3\r" },
    exit: 3,
    check: (o) => assert.match(o.output, /^tour-42\r?$/m),
  },
  { match: /^berth stop \$WEB$/, check: async () => waitStopped(await shell.variable("WEB")) },
  { match: /ecs create-cluster --cluster-name tenants/ },
  { match: /^berth run --cluster tenants / },
  // Services
  {
    match: /ecs create-service --service-name web --task-definition hello /,
    check: (o) => assert.match(o.stdout, /"desiredCount": 3/),
  },
  {
    match: /ecs wait services-stable --services web$/,
    check: async () => {
      const { services: [service] = [] } = await ecs.send(
        new DescribeServicesCommand({ services: ["web"] }),
      );
      assert.equal(service?.runningCount, 3, JSON.stringify(service));
    },
  },
  {
    match: /ecs describe-services --services web$/,
    check: (o) => assert.match(o.stdout, /"rolloutState"/),
  },
  {
    match: /register-task-definition --family hello /,
    check: (o) =>
      assert.equal(json<{ taskDefinition: { revision: number } }>(o).taskDefinition.revision, 2),
  },
  {
    match: /ecs update-service --service web --task-definition hello:2$/,
    check: (o) => assert.match(o.stdout, /task-definition\/hello:2"/),
  },
  {
    // "hello:1's tasks give way to hello:2's": the rollout finishes (and frees room for the next).
    match: /^berth ps$/,
    check: async () => {
      await until(
        "web running 3 tasks of hello:2 alone",
        async () => {
          const { taskArns = [] } = await ecs.send(new ListTasksCommand({ serviceName: "web" }));
          return describeTasks(ecs, taskArns);
        },
        (tasks) =>
          tasks.length === 3 &&
          tasks.every(
            (t) => t.lastStatus === "RUNNING" && t.taskDefinitionArn?.endsWith("/hello:2") === true,
          ),
        { timeoutMs: 120_000, everyMs: 1000 },
      );
    },
  },
  // Load balancers
  { match: /^E="--endpoint-url / },
  { match: /register-task-definition --family httpd / },
  {
    match: /^LB=\$\(/,
    check: async () =>
      assert.match(
        await shell.variable("LB"),
        /^arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer\/app\/web\//,
      ),
  },
  {
    match: /^TG=\$\(/,
    check: async () => assert.match(await shell.variable("TG"), /:targetgroup\/web\//),
  },
  { match: /elbv2 create-listener / },
  { match: /ecs create-service --service-name site / },
  { match: /elbv2 wait target-in-service / },
  {
    match: /elbv2 describe-target-health /,
    check: (o) => assert.equal(o.stdout.match(/"State": "healthy"/g)?.length, 3, o.stdout),
  },
  {
    match: /^curl http:\/\/\$\(.*DNSName.*\):\d+\/$/s,
    check: (o) => assert.equal(o.stdout, "hi\n"),
  },
  // Auto scaling, metrics, top
  { match: /register-scalable-target / },
  { match: /put-scaling-policy /, check: (o) => assert.match(o.stdout, /"PolicyARN"/) },
  { match: /put-scheduled-action / },
  { match: /describe-scaling-activities / },
  {
    match: /^TASK=\$\(.*list-tasks --service-name web/s,
    check: async () => assert.match(await shell.variable("TASK"), /:task\/default\//),
  },
  {
    match: /update-task-protection /,
    check: (o) => assert.match(o.stdout, /"protectionEnabled": true/),
  },
  {
    match: /^curl -s http:\/\/[\d.:]+\/metrics$/,
    check: (o) => assert.match(o.stdout, /^# TYPE /m),
  },
  {
    // Until q, as top(1). A service shows once a metric period has closed since its tasks began
    // (a minute): web has run for minutes by now, site's tasks may be younger than that.
    match: /^berth top$/,
    tty: true,
    interact: { when: /default\/web\s.*\r?\n/, keys: "q" },
    check: (o) => assert.match(o.output, /^default\/web\s+3\s+3\s/m),
  },
];

/** The second part: from "What it cost" on. */
const LATER_STEPS: Step[] = [
  // Costs
  {
    match: /^FROM=\$\(date /,
    check: async () => assert.match(await shell.variable("FROM"), /^\d{4}-\d\d-01$/),
  },
  {
    match: /ce get-cost-and-usage /,
    check: (o) => {
      const { ResultsByTime } = json<{
        ResultsByTime: Array<{
          Groups: Array<{ Keys: string[]; Metrics: { UnblendedCost: { Amount: string } } }>;
        }>;
      }>(o);
      const groups = ResultsByTime.flatMap((r) => r.Groups);
      assert.ok(
        groups.some(
          (g) =>
            /Fargate-vCPU-Hours/.test(g.Keys[0] ?? "") &&
            Number(g.Metrics.UnblendedCost.Amount) > 0,
        ),
        `no vCPU cost for the tour's tasks: ${o.stdout}`,
      );
    },
  },
  { match: /^berth bill /, check: (o) => assert.match(o.stdout, /Fargate-vCPU-Hours/) },
  { match: /^berth prices list --history$/ },
  {
    match: /^berth prices set /,
    check: async () =>
      assert.match(await berthOut(["prices", "list"]), /spot\.x86\.vcpu\s+0\.0125/),
  },
  {
    match: /^berth savings-plans create /,
    check: async () => assert.match(await berthOut(["savings-plans", "list"]), /0\.05/),
  },
  {
    // The plan starts at the next hour: until then there is no data, as on AWS; from then on
    // its commitment (the step may run past the hour).
    match: /ce get-savings-plans-utilization /,
    exit: "any",
    check: async (o) => {
      const start = /\s(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\s/.exec(
        await berthOut(["savings-plans", "list"]),
      )?.[1];
      assert.ok(start !== undefined, "no plan listed");
      if (Date.parse(start) > o.startedAt) {
        assert.equal(o.code, 254, o.output);
        assert.match(o.output, /\(DataUnavailableException\)/);
      } else {
        assert.equal(o.code, 0, o.output);
        assert.match(o.stdout, /"TotalCommitment": "0\.05/);
      }
    },
  },
  // Logs
  { match: /logs create-log-group / },
  { match: /logs create-log-stream / },
  { match: /logs put-log-events / },
  {
    match: /logs get-log-events /,
    check: (o) => assert.match(o.stdout, /\\"level\\":\\"error\\"/),
  },
  {
    match: /logs filter-log-events /,
    check: (o) => assert.match(o.stdout, /\\"level\\":\\"error\\"/),
  },
  { match: /logs put-retention-policy / },
  {
    // Live until Ctrl-C.
    match: /logs tail \/demo --follow$/,
    interact: { when: /s1 \{"level":"error"\}/, interrupt: true },
    exit: "any",
  },
  // Scheduled tasks, identity, secrets
  { match: /iam create-role --role-name scheduler / },
  { match: /iam put-role-policy --role-name scheduler / },
  {
    match: /^TD=\$\(/,
    check: async () => assert.match(await shell.variable("TD"), /:task-definition\/web:1$/),
  },
  {
    match: /scheduler create-schedule --name nightly-report /,
    check: (o) => assert.match(o.stdout, /"ScheduleArn"/),
  },
  { match: /list-tasks --started-by chronos-schedule\/nightly-report$/ },
  { match: /iam create-role --role-name lister / },
  { match: /iam put-role-policy / },
  {
    match: /register-task-definition --family lister /,
    check: (o) => assert.match(o.stdout, /"taskRoleArn"/),
  },
  {
    match: /secretsmanager create-secret --name prod\/db /,
    check: (o) => assert.match(o.stdout, /"ARN"/),
  },
  {
    match: /ssm put-parameter --name \/prod\/token /,
    check: (o) => assert.match(o.stdout, /"Version": 1/),
  },
];

/** The AWS CLI against the test's Berth, outside the reader's shell (for checks). */
async function cli(args: string[]): Promise<string> {
  const outcome = await shell.run(
    ["/usr/bin/aws", "--endpoint-url", berth.endpoint, ...args].map(quote).join(" "),
    { timeoutMs: 60_000 },
  );
  assert.equal(outcome.code, 0, outcome.output);
  return outcome.stdout;
}

async function berthOut(args: string[]): Promise<string> {
  const outcome = await shell.run(["berth", ...args].map(quote).join(" "), { timeoutMs: 60_000 });
  assert.equal(outcome.code, 0, outcome.output);
  return outcome.stdout;
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

// One test per block, in the README's order; after a failure the rest is skipped, since each
// block builds on the ones before.
const BLOCKS = shellBlocks(tourSection(readFileSync(README, "utf8")));

/**
 * The tour's tests, in two parts run by two test files (the runner gives a file 10 minutes, and
 * the tour's ~80 AWS CLI processes take longer on a loaded machine): "early" runs the blocks
 * before "What it cost"; "later" the rest on its own Berth, after the reader's first steps (the
 * block that registers the `web` family the schedule uses) and one task run and stopped through
 * the SDK (a cost to see).
 */
export function tourTests(part: "early" | "later"): void {
  const cut = BLOCKS.findIndex((b) => b.heading === "What it cost");
  const steps = part === "early" ? EARLY_STEPS : LATER_STEPS;
  const used = new Set<Step>();
  let broken: string | undefined;

  before(async () => {
    berth = await startBerthProcess();
    listenerPort = await freePort();
    ecs = new ECSClient(berth.clientConfig);
    home = tempDataDir("berth-tour-");
    const bin = join(home, ".bin");
    mkdirSync(bin);
    mkdirSync(join(home, ".podman"));
    symlinkSync("/usr/bin/aws", join(bin, "aws"));
    writeFileSync(join(bin, "berth"), `#!/bin/sh\nexec ${process.execPath} ${BERTH_BIN} "$@"\n`);
    chmodSync(join(bin, "berth"), 0o755);
    const podman = join(home, ".podman");
    writeFileSync(
      join(podman, "storage.conf"),
      `[storage]\ndriver = "vfs"\ngraphroot = "${podman}/storage"\nrunroot = "${podman}/run"\n`,
    );
    writeFileSync(join(podman, "containers.conf"), `[engine]\ntmp_dir = "${podman}/tmp"\n`);
    // The reader's environment: theirs, less any AWS or Berth settings of the machine's.
    const env: NodeJS.ProcessEnv = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^(AWS_|BERTH_)/.test(name)),
    );
    Object.assign(env, {
      PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: home,
      TERM: "xterm",
      AWS_PAGER: "",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      CONTAINERS_STORAGE_CONF: join(podman, "storage.conf"),
      CONTAINERS_CONF: join(podman, "containers.conf"),
      REGISTRY_AUTH_FILE: join(podman, "auth.json"),
    });
    // "It prints ... a ready-to-paste line": the reader pastes what the banner printed.
    const exports = berth
      .output()
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line.startsWith("export "));
    assert.ok(exports.length > 0, `the banner has no export line:\n${berth.output()}`);
    shell = new ReaderShell(home, env, exports.join("\n"));
  });

  after(async () => {
    (ecs as ECSClient | undefined)?.destroy(); // undefined if berth up failed
    await (berth as BerthProcess | undefined)?.stop();
    if (home !== undefined) rmSync(home, { recursive: true, force: true });
  });

  if (part === "later")
    it("the reader's first steps, and a task that ran", async () => {
      for (const command of splitCommands(localize(BLOCKS[1]?.body ?? ""), 1))
        await runStep(command, undefined);
      const image = await pushBusyboxImage(berth, "tour/busybox");
      const { taskDefinition } = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "ran",
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: "256",
          memory: "512",
          containerDefinitions: [{ name: "app", image: image.uri, command: ["sleep", "3600"] }],
        }),
      );
      const { tasks: [task] = [] } = await ecs.send(
        new RunTaskCommand({ taskDefinition: taskDefinition?.taskDefinitionArn }),
      );
      const arn = task?.taskArn ?? "";
      await waitForTask(ecs, arn, "RUNNING");
      await ecs.send(new StopTaskCommand({ task: arn }));
      await waitStopped(arn);
    });

  it("the banner prints the line the tour's first block shows, and it is what the reader pastes", () => {
    const [first, ...more] = splitCommands(BLOCKS[0]?.body ?? "");
    assert.equal(more.length, 0, "the first block is the banner's one line");
    assert.match(first?.text ?? "", /^export AWS_ACCESS_KEY_ID=/);
    assert.match(berth.output(), expectedPattern(first?.text ?? ""));
    assert.ok(BLOCKS.length > 15, `only ${BLOCKS.length} sh blocks found in the tour`);
  });

  const blocks = part === "early" ? BLOCKS.slice(1, cut) : BLOCKS.slice(cut);
  const offset = part === "early" ? 1 : cut;
  blocks.forEach(({ heading, body }, index) => {
    const block = index + offset;
    const first = body.split("\n")[0] ?? "";
    it(`block ${block + 1} (${heading}): ${first.slice(0, 70)}`, async (t) => {
      if (broken !== undefined) return t.skip(`an earlier block failed: ${broken}`);
      try {
        for (const command of splitCommands(localize(body), block)) {
          const step = steps.find((s) => !used.has(s) && s.match.test(command.text));
          if (step !== undefined) used.add(step);
          await runStep(command, step);
        }
      } catch (error) {
        broken = `block ${block + 1}`;
        throw error;
      }
    });
  });

  it("every check met its command: the tour lost none of the steps it had", (t) => {
    if (broken !== undefined) return t.skip(`${broken} failed`);
    const unused = steps.filter((s) => !used.has(s)).map((s) => String(s.match));
    assert.deepEqual(unused, [], "the README's tour lost the commands these checks are for");
  });
}

/** The README's port (4566) and listener port (8000) as this test's free ones. */
function localize(text: string): string {
  return text
    .replaceAll("127.0.0.1:4566", `127.0.0.1:${new URL(berth.endpoint).port}`)
    .replace(/(--port |:)8000\b/g, `$1${listenerPort}`);
}

async function runStep(command: TourCommand, step: Step | undefined): Promise<void> {
  const started = Date.now();
  const outcome = await shell.run(command.text, {
    timeoutMs: step?.tty === true ? 60_000 : 180_000,
    ...(step?.tty === true ? { tty: true } : {}),
    ...(step?.interact === undefined ? {} : { interact: step.interact }),
  });
  // BERTH_TOUR_TIMES=1 prints how long each step took (to see where a slow run spends it).
  if (process.env.BERTH_TOUR_TIMES !== undefined)
    console.log(`${((Date.now() - started) / 1000).toFixed(1)} s  ${command.text.split("\n")[0]}`);
  const where = `README tour, block ${command.block + 1}: ${command.text}\n--- output:\n${outcome.output}`;
  assert.ok(!outcome.timedOut, `timed out: ${where}`);
  const exit = step?.exit ?? 0;
  if (exit !== "any") assert.equal(outcome.code, exit, `exit code: ${where}`);
  for (const expected of command.expected)
    assert.match(outcome.output, expectedPattern(expected), `"# -> ${expected}": ${where}`);
  try {
    await step?.check?.(outcome);
  } catch (error) {
    throw new Error(`${where}\n--- check failed: ${(error as Error).message}`, { cause: error });
  }
}
