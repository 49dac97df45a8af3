// Thousands of malformed and hostile requests against a real `berth up`: every one must get an
// AWS-shaped 4xx, and the server must be alive and correct afterwards. The probes come from each
// service's model and Berth's own action tables: ECS, ECR, Logs, Application Auto Scaling,
// Cost Explorer, Secrets Manager and SSM (JSON 1.1), ELBv2, IAM and STS (Query), EKS and
// EventBridge Scheduler (REST-JSON).
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import { type ServiceModel, type Shape } from "../../src/aws/index.js";
import {
  startBerthInProcess,
  startBerthProcess,
  type BerthProcess,
} from "../../src/testing/index.js";

const PREFIX = "AmazonEC2ContainerServiceV20141113";

type Protocol = "json" | "query" | "rest-json";

interface Probe {
  name: string;
  /** JSON 1.1 unless said. */
  protocol?: Protocol;
  /** The SigV4 signing name (ecs unless said). */
  service?: string;
  method?: string;
  /** Path and query string; `/` unless said. */
  path?: string;
  target?: string;
  body: string | Buffer;
  sign?: boolean;
  /** Send without Content-Length, in chunks. */
  chunked?: boolean;
  expectStatus?: number;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(berth: BerthProcess, probe: Probe, headers: Record<string, string>): Promise<Answer> {
  const url = new URL(berth.endpoint);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: probe.method ?? "POST",
        path: probe.path ?? "/",
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    // The server may answer 413 and close before the whole body is sent: that is fine, as long
    // as the answer arrives. A connection that closes without one fails the probe (it used to
    // leave this promise pending for ever).
    let answered = false;
    req.on("response", () => (answered = true));
    req.on("error", (error: NodeJS.ErrnoException) =>
      error.code === "EPIPE" || error.code === "ECONNRESET" ? undefined : reject(error),
    );
    req.on("close", () => {
      if (!answered) reject(new Error(`${probe.name}: the connection closed without an answer`));
    });
    const body = typeof probe.body === "string" ? Buffer.from(probe.body) : probe.body;
    if (probe.chunked) {
      for (let offset = 0; offset < body.length; offset += 64 * 1024)
        req.write(body.subarray(offset, offset + 64 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

async function signedHeaders(berth: BerthProcess, probe: Probe): Promise<Record<string, string>> {
  const url = new URL(berth.endpoint);
  const contentType = {
    json: "application/x-amz-json-1.1",
    query: "application/x-www-form-urlencoded; charset=utf-8",
    "rest-json": "application/json",
  }[probe.protocol ?? "json"];
  const headers: Record<string, string> = { host: url.host, "content-type": contentType };
  if (probe.target !== undefined) headers["x-amz-target"] = probe.target;
  if (!probe.chunked) headers["content-length"] = String(Buffer.byteLength(probe.body));
  else headers["transfer-encoding"] = "chunked";
  if (probe.sign === false) return headers;
  const signer = new SignatureV4({
    credentials: berth.credentials,
    region: "us-east-1",
    service: probe.service ?? "ecs",
    sha256: Hash.bind(null, "sha256"),
    applyChecksum: false,
  });
  const [path = "/", query = ""] = (probe.path ?? "/").split("?", 2);
  const signed = await signer.sign(
    new HttpRequest({
      method: probe.method ?? "POST",
      hostname: url.hostname,
      port: Number(url.port),
      // As sent, escapes and all: Berth re-signs the raw path as the signer escapes it.
      path,
      query: Object.fromEntries(new URLSearchParams(query)),
      headers,
      body: probe.body,
    }),
  );
  return signed.headers;
}

/** A value of the wrong JSON type for `shape`. */
function wrongType(shape: Shape): unknown {
  switch (shape.type) {
    case "string":
    case "timestamp":
    case "blob":
      return { not: "a string" };
    case "integer":
    case "long":
    case "double":
    case "float":
      return "not a number";
    case "boolean":
      return "yes";
    case "list":
      return { not: "a list" };
    case "map":
    case "structure":
      return ["not", "an", "object"];
  }
}

/** Requests that the model alone says are wrong, for every member of every action. */
function modelProbes(
  model: ServiceModel,
  actions: string[],
  prefix = PREFIX,
  service = "ecs",
): Probe[] {
  const probes: Probe[] = [];
  for (const action of actions) {
    const target = `${prefix}.${action}`;
    const inputName = model.operations[action]?.input?.shape;
    const input = inputName === undefined ? undefined : model.shapes[inputName];
    const members = Object.entries(input?.members ?? {});
    probes.push({ name: `${action}: not JSON`, target, body: '{"unterminated' });
    probes.push({ name: `${action}: a JSON array`, target, body: "[1,2,3]" });
    probes.push({ name: `${action}: a JSON string`, target, body: '"hello"' });
    probes.push({
      name: `${action}: binary garbage`,
      target,
      body: Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x80]),
    });
    if ((input?.required?.length ?? 0) > 0)
      probes.push({ name: `${action}: required members missing`, target, body: "{}" });
    for (const [member, ref] of members) {
      const shape = model.shapes[ref.shape];
      if (shape === undefined) continue;
      probes.push({
        name: `${action}.${member}: wrong type`,
        target,
        body: JSON.stringify({ [member]: wrongType(shape) }),
      });
      if (shape.enum !== undefined)
        probes.push({
          name: `${action}.${member}: not in enum`,
          target,
          body: JSON.stringify({ [member]: "NOT_A_VALUE" }),
        });
      if ((shape.type === "integer" || shape.type === "long") && shape.max !== undefined)
        probes.push({
          name: `${action}.${member}: above max`,
          target,
          body: JSON.stringify({ [member]: shape.max + 1 }),
        });
      if ((shape.type === "integer" || shape.type === "long") && shape.min !== undefined)
        probes.push({
          name: `${action}.${member}: below min`,
          target,
          body: JSON.stringify({ [member]: shape.min - 1 }),
        });
      if (shape.type === "list" && shape.member !== undefined) {
        const item = model.shapes[shape.member.shape];
        if (item !== undefined)
          probes.push({
            name: `${action}.${member}[]: wrong item type`,
            target,
            body: JSON.stringify({ [member]: [wrongType(item)] }),
          });
        // One level further down: each member of a list of structures, of the wrong type.
        for (const [inner, innerRef] of Object.entries(item?.members ?? {})) {
          const innerShape = model.shapes[innerRef.shape];
          if (innerShape === undefined) continue;
          probes.push({
            name: `${action}.${member}[].${inner}: wrong type`,
            target,
            body: JSON.stringify({ [member]: [{ [inner]: wrongType(innerShape) }] }),
          });
        }
      }
    }
  }
  return probes.map((probe) => ({ ...probe, service }));
}

/** A form value the model says is wrong for `shape` ("" when none is simple to write). */
function wrongFormValue(shape: Shape): string {
  switch (shape.type) {
    case "integer":
    case "long":
    case "double":
    case "float":
      return "not a number";
    case "boolean":
      return "maybe";
    case "timestamp":
      return "not a time";
    case "string":
      if (shape.enum !== undefined) return "NOT_A_VALUE";
      if (shape.max !== undefined && shape.max < 5000) return "x".repeat(shape.max + 1);
      return "";
    default:
      return "";
  }
}

/** The Query protocol's probes: forms the model says are wrong, for every member of every action. */
function queryProbes(model: ServiceModel, actions: string[], service: string): Probe[] {
  const probes: Probe[] = [];
  const form = (action: string, rest: string): string =>
    `Action=${action}&Version=${model.metadata.apiVersion}${rest}`;
  const probe = (name: string, body: string | Buffer): Probe => ({
    name: `${service} ${name}`,
    protocol: "query",
    service,
    body,
  });
  for (const action of actions) {
    const input = model.shapes[model.operations[action]?.input?.shape ?? ""];
    if ((input?.required?.length ?? 0) > 0)
      probes.push(probe(`${action}: required members missing`, form(action, "")));
    for (const [member, ref] of Object.entries(input?.members ?? {})) {
      const shape = model.shapes[ref.shape];
      if (shape === undefined) continue;
      const wrong = wrongFormValue(shape);
      if (wrong !== "")
        probes.push(
          probe(
            `${action}.${member}: wrong`,
            form(action, `&${member}=${encodeURIComponent(wrong)}`),
          ),
        );
      if ((shape.type === "integer" || shape.type === "long") && shape.max !== undefined)
        probes.push(
          probe(`${action}.${member}: above max`, form(action, `&${member}=${shape.max + 1}`)),
        );
      if ((shape.type === "integer" || shape.type === "long") && shape.min !== undefined)
        probes.push(
          probe(`${action}.${member}: below min`, form(action, `&${member}=${shape.min - 1}`)),
        );
      // One level down: the first item of a list, and a structure's members.
      const item = shape.type === "list" ? model.shapes[shape.member?.shape ?? ""] : undefined;
      const itemWrong = item === undefined ? "" : wrongFormValue(item);
      if (itemWrong !== "")
        probes.push(
          probe(
            `${action}.${member}.member.1: wrong`,
            form(action, `&${member}.member.1=${encodeURIComponent(itemWrong)}`),
          ),
        );
      const fields = shape.type === "structure" ? shape.members : item?.members;
      const at = shape.type === "structure" ? member : `${member}.member.1`;
      for (const [inner, innerRef] of Object.entries(fields ?? {})) {
        const innerShape = model.shapes[innerRef.shape];
        const innerWrong = innerShape === undefined ? "" : wrongFormValue(innerShape);
        if (innerWrong !== "")
          probes.push(
            probe(
              `${action}.${at}.${inner}: wrong`,
              form(action, `&${at}.${inner}=${encodeURIComponent(innerWrong)}`),
            ),
          );
      }
    }
  }
  for (const action of ["LaunchMissiles", "__proto__", "constructor", "toString"])
    probes.push(probe(`unknown action ${action}`, form(action, "")));
  probes.push(probe("binary garbage", Buffer.from([0xff, 0xfe, 0x00, 0x26, 0x80])));
  probes.push(probe("no action", "Version=1"));
  return probes;
}

/** The REST-JSON protocol's probes: each operation's URI with hostile labels and bad members. */
function restProbes(model: ServiceModel, actions: string[], service: string): Probe[] {
  const probes: Probe[] = [];
  for (const action of actions) {
    const operation = model.operations[action];
    const http = operation?.http;
    if (http === undefined) continue;
    const input = model.shapes[operation?.input?.shape ?? ""];
    const members = Object.entries(input?.members ?? {});
    const uri = (label: string, query = ""): string => {
      const [path = "/", literal = ""] = http.requestUri.split("?", 2);
      const filled = path.replace(/\{[^}]+\}/g, label);
      const search = [literal, query].filter((part) => part !== "").join("&");
      return search === "" ? filled : `${filled}?${search}`;
    };
    const probe = (name: string, path: string, body: string | Buffer = ""): Probe => ({
      name: `${service} ${action}: ${name}`,
      protocol: "rest-json",
      service,
      method: http.method,
      path,
      body,
    });
    const hasBody = http.method !== "GET" && http.method !== "DELETE";
    if (hasBody) {
      probes.push(probe("not JSON", uri("probe"), '{"unterminated'));
      probes.push(probe("a JSON array", uri("probe"), "[1,2,3]"));
      probes.push(probe("binary garbage", uri("probe"), Buffer.from([0xff, 0xfe, 0x00, 0x7b])));
      if ((input?.required ?? []).some((name) => input?.members?.[name]?.location === undefined))
        probes.push(probe("required members missing", uri("probe"), "{}"));
    }
    if (http.requestUri.includes("{"))
      for (const label of ["%00", "%E0%A4%A", "a".repeat(300), "%2F..%2F"])
        probes.push(probe(`label ${label.slice(0, 12)}`, uri(label), hasBody ? "{}" : ""));
    for (const [member, ref] of members) {
      const shape = model.shapes[ref.shape];
      if (shape === undefined) continue;
      if (ref.location === "querystring") {
        const wrong = wrongFormValue(shape);
        const name = ref.locationName ?? member;
        if (wrong !== "")
          probes.push(
            probe(`?${name} wrong`, uri("probe", `${name}=${encodeURIComponent(wrong)}`)),
          );
        if ((shape.type === "integer" || shape.type === "long") && shape.max !== undefined)
          probes.push(probe(`?${name} above max`, uri("probe", `${name}=${shape.max + 1}`)));
      } else if (ref.location === undefined && hasBody) {
        probes.push(
          probe(
            `${member} wrong type`,
            uri("probe"),
            JSON.stringify({ [member]: wrongType(shape) }),
          ),
        );
        if (shape.enum !== undefined)
          probes.push(
            probe(
              `${member} not in enum`,
              uri("probe"),
              JSON.stringify({ [member]: "NOT_A_VALUE" }),
            ),
          );
      }
    }
  }
  return probes;
}

/** What is wrong with an answer, for an AWS client of the probe's protocol. */
function answerProblems(probe: Probe, answer: Answer): string[] {
  const problems: string[] = [];
  if (
    probe.expectStatus !== undefined
      ? answer.status !== probe.expectStatus
      : answer.status < 400 || answer.status >= 500
  )
    problems.push(`status ${answer.status}`);
  if (typeof answer.headers["x-amzn-requestid"] !== "string") problems.push("no x-amzn-RequestId");
  if (/at .*\.(ts|js):\d+/.test(answer.body)) problems.push("stack trace leaked");
  const protocol = probe.protocol ?? "json";
  if (protocol === "query") {
    const shaped =
      /^<ErrorResponse xmlns="[^"]*"><Error><Type>Sender<\/Type><Code>[A-Za-z.]+<\/Code><Message>[^<]*<\/Message><\/Error><RequestId>[^<]+<\/RequestId><\/ErrorResponse>$/;
    if (!shaped.test(answer.body)) problems.push("not an <ErrorResponse>");
    return problems;
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    problems.push("body is not JSON");
  }
  const type = answer.headers["x-amzn-errortype"];
  if (typeof type !== "string" || type === "") problems.push("no x-amzn-ErrorType");
  if (body === null || typeof body !== "object") problems.push("body is not an object");
  else if (protocol === "json" && (body as { __type?: unknown }).__type !== type)
    problems.push("x-amzn-ErrorType differs from __type");
  return problems;
}

function hostileProbes(): Probe[] {
  const target = `${PREFIX}.RegisterTaskDefinition`;
  const huge = JSON.stringify({
    family: "x",
    containerDefinitions: [{ name: "a", image: "x".repeat(3 * 1024 * 1024) }],
  });
  const deep = "[".repeat(5000) + "]".repeat(5000);
  return [
    { name: "unknown action", target: `${PREFIX}.LaunchMissiles`, body: "{}" },
    { name: "prototype as action", target: `${PREFIX}.__proto__`, body: "{}" },
    { name: "constructor as action", target: `${PREFIX}.constructor`, body: "{}" },
    { name: "toString as action", target: `${PREFIX}.toString`, body: "{}" },
    { name: "unknown service", target: "NoSuchService.CreateCluster", body: "{}" },
    { name: "target without action", target: PREFIX, body: "{}" },
    { name: "no target", body: "{}" },
    { name: "unsigned", target: `${PREFIX}.ListClusters`, body: "{}", sign: false },
    { name: "huge body with length", target, body: huge, expectStatus: 413 },
    { name: "huge body chunked", target, body: huge, chunked: true, expectStatus: 413 },
    { name: "deeply nested JSON", target, body: deep },
    {
      name: "deeply nested object",
      target,
      body: JSON.stringify({
        family: "x",
        containerDefinitions: [
          {
            name: "a",
            image: "b",
            dockerLabels: JSON.parse('{"a":'.repeat(500) + "1" + "}".repeat(500)) as unknown,
          },
        ],
      }),
    },
    { name: "__proto__ member", target, body: '{"__proto__":{"polluted":true},"family":"x"}' },
    { name: "null body value", target, body: "null" },
    { name: "number body", target, body: "12345" },
    { name: "NaN-ish", target: `${PREFIX}.ListClusters`, body: '{"maxResults": 1e400}' },
    { name: "float for integer", target: `${PREFIX}.ListClusters`, body: '{"maxResults": 1.5}' },
    { name: "negative integer", target: `${PREFIX}.ListClusters`, body: '{"maxResults": -1}' },
    {
      name: "invalid UTF-8",
      target,
      body: Buffer.from([0x7b, 0x22, 0x66, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
    },
    {
      name: "family too long",
      target,
      body: JSON.stringify({
        family: "f".repeat(300),
        containerDefinitions: [{ name: "a", image: "b" }],
      }),
    },
    {
      name: "bad task definition ref",
      target: `${PREFIX}.DescribeTaskDefinition`,
      body: JSON.stringify({ taskDefinition: "::::" }),
    },
    {
      name: "bad cluster arn tag",
      target: `${PREFIX}.TagResource`,
      body: JSON.stringify({ resourceArn: "arn:nope", tags: [{ key: "a", value: "b" }] }),
    },
    {
      name: "bad next token",
      target: `${PREFIX}.ListTaskDefinitions`,
      body: JSON.stringify({ nextToken: "%%%%" }),
    },
    {
      name: "bad next token offset",
      target: `${PREFIX}.ListClusters`,
      body: JSON.stringify({ nextToken: Buffer.from('{"offset":-5}').toString("base64url") }),
    },
    {
      name: "register invalid size",
      target,
      body: JSON.stringify({
        family: "x",
        requiresCompatibilities: ["FARGATE"],
        cpu: "3",
        memory: "5",
        networkMode: "awsvpc",
        containerDefinitions: [{ name: "a", image: "b" }],
      }),
    },
  ];
}

describe("bad input", () => {
  let berth: BerthProcess;
  /** Each service Berth answers: its protocol, signing name, model and action table. */
  let services: Array<{ protocol: Protocol; signingName: string; probes: Probe[] }> = [];
  before(async () => {
    berth = await startBerthProcess();
    // The action tables, read from an in-process Berth (the probed one is another process).
    const tables = await startBerthInProcess();
    services = tables.berth.awsServices.map((service) => {
      const actions = Object.keys(service.actions);
      const { model, signingName } = service;
      if ("targetPrefix" in service)
        return {
          protocol: "json",
          signingName,
          probes: modelProbes(model, actions, service.targetPrefix, signingName),
        };
      return model.metadata.protocol === "query"
        ? { protocol: "query", signingName, probes: queryProbes(model, actions, signingName) }
        : { protocol: "rest-json", signingName, probes: restProbes(model, actions, signingName) };
    });
    await tables.stop();
  });
  after(async () => {
    await berth.stop();
  });

  async function failuresOf(probes: Probe[]): Promise<string[]> {
    const failures: string[] = [];
    for (const probe of probes) {
      const answer = await send(berth, probe, await signedHeaders(berth, probe));
      const problems = answerProblems(probe, answer);
      if (problems.length > 0)
        failures.push(`${probe.name}: ${problems.join(", ")} -> ${answer.body.slice(0, 200)}`);
    }
    return failures;
  }

  it("probes every service Berth answers", () => {
    assert.deepEqual(services.map((s) => s.signingName).sort(), [
      "application-autoscaling",
      "ce",
      "ecr",
      "ecs",
      "eks",
      "elasticloadbalancing",
      "iam",
      "logs",
      "scheduler",
      "secretsmanager",
      "ssm",
      "sts",
    ]);
  });

  for (const name of [
    "ecs",
    "ecr",
    "logs",
    "application-autoscaling",
    "ce",
    "elasticloadbalancing",
    "iam",
    "sts",
    "eks",
    "secretsmanager",
    "ssm",
    "scheduler",
  ])
    it(`gets an AWS-shaped 4xx from ${name} for every request its model says is wrong`, async () => {
      const service = services.find((s) => s.signingName === name);
      assert.ok(service !== undefined, `${name} is served`);
      const probes = [...service.probes, ...(name === "ecs" ? hostileProbes() : [])];
      assert.ok(probes.length >= 20, `only ${probes.length} probes for ${name}`);
      const failures = await failuresOf(probes);
      assert.deepEqual(failures, [], failures.join("\n"));
      assert.equal(berth.process.exitCode, null, "the server is alive");
    });

  it("leaves the server alive and correct", async () => {
    assert.equal(berth.process.exitCode, null);
    const health = await fetch(`${berth.endpoint}/_berth/health`);
    assert.equal(health.status, 200);
    const ecs = new ECSClient(berth.clientConfig);
    const { clusterArns = [] } = await ecs.send(new ListClustersCommand({}));
    assert.deepEqual(clusterArns, ["arn:aws:ecs:us-east-1:000000000000:cluster/default"]);
    ecs.destroy();
    assert.equal(({} as Record<string, unknown>).polluted, undefined, "no prototype pollution");
  });
});
