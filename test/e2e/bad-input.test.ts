// Hundreds of malformed and hostile requests against a real `berth up`: every one must get an
// AWS-shaped 4xx, and the server must be alive and correct afterwards.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import { loadServiceModel, type ServiceModel, type Shape } from "../../src/aws/index.js";
import { createEcsService } from "../../src/services/ecs/index.js";
import { startBerthProcess, type BerthProcess } from "../../src/testing/index.js";

const PREFIX = "AmazonEC2ContainerServiceV20141113";

interface Probe {
  name: string;
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
      { host: url.hostname, port: url.port, method: "POST", path: "/", headers },
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
  const headers: Record<string, string> = {
    host: url.host,
    "content-type": "application/x-amz-json-1.1",
  };
  if (probe.target !== undefined) headers["x-amz-target"] = probe.target;
  if (!probe.chunked) headers["content-length"] = String(Buffer.byteLength(probe.body));
  else headers["transfer-encoding"] = "chunked";
  if (probe.sign === false) return headers;
  const signer = new SignatureV4({
    credentials: berth.credentials,
    region: "us-east-1",
    service: "ecs",
    sha256: Hash.bind(null, "sha256"),
    applyChecksum: false,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: "POST",
      hostname: url.hostname,
      port: Number(url.port),
      path: "/",
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
function modelProbes(model: ServiceModel, actions: string[]): Probe[] {
  const probes: Probe[] = [];
  for (const action of actions) {
    const target = `${PREFIX}.${action}`;
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
  return probes;
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
  before(async () => {
    berth = await startBerthProcess();
  });
  after(async () => {
    await berth.stop();
  });

  it("gets an AWS-shaped 4xx for every malformed or hostile request and leaves the server alive", async () => {
    const model = loadServiceModel("ecs");
    // Every action Berth answers, from its own table.
    const actions = Object.keys(
      createEcsService({
        store: undefined as never,
        // Only the action table is read; the service reads the dispatcher's address space.
        dispatcher: {} as never,
        stopper: undefined as never,
      }).actions,
    );
    const probes = [...modelProbes(model, actions), ...hostileProbes()];
    assert.ok(probes.length >= 200, `only ${probes.length} probes`);
    const failures: string[] = [];
    for (const probe of probes) {
      const answer = await send(berth, probe, await signedHeaders(berth, probe));
      const problems: string[] = [];
      if (
        probe.expectStatus !== undefined
          ? answer.status !== probe.expectStatus
          : answer.status < 400 || answer.status >= 500
      )
        problems.push(`status ${answer.status}`);
      let type: unknown;
      try {
        type = (JSON.parse(answer.body) as { __type?: unknown }).__type;
      } catch {
        problems.push("body is not JSON");
      }
      if (typeof type !== "string" || type === "") problems.push("no __type");
      if (answer.headers["x-amzn-errortype"] !== type)
        problems.push("x-amzn-ErrorType differs from __type");
      if (typeof answer.headers["x-amzn-requestid"] !== "string")
        problems.push("no x-amzn-RequestId");
      if (/at .*\.(ts|js):\d+/.test(answer.body)) problems.push("stack trace leaked");
      if (problems.length > 0)
        failures.push(`${probe.name}: ${problems.join(", ")} -> ${answer.body.slice(0, 200)}`);
    }
    assert.deepEqual(failures, [], failures.join("\n"));

    // Alive, and still correct.
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
