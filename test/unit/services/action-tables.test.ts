// Every row of every action table names an operation of its service's model (with its
// supplement): a mistyped row would answer, yet skip the model's validation of its input.
// And a handler serves the action it is named for: `tsc` (npm run typecheck) checks this file.
import type { ECS } from "@aws-sdk/client-ecs";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Handlers } from "../../../src/aws/index.js";
import type { RunningBerth } from "../../../src/server/index.js";
import type { taskHandlers } from "../../../src/services/ecs/tasks.js";
import { startBerthInProcess, type TestBerth } from "../../../src/testing/index.js";

let berth: TestBerth & { berth: RunningBerth };

before(async () => {
  berth = await startBerthInProcess();
});
after(() => berth.stop());

describe("action tables", () => {
  it("serve the six AWS services, and IAM, STS and EKS", () => {
    const names = berth.berth.awsServices.map((service) => service.signingName).sort();
    for (const name of [
      "application-autoscaling",
      "ce",
      "ecr",
      "ecs",
      "eks",
      "elasticloadbalancing",
      "iam",
      "logs",
      "sts",
    ])
      assert.ok(names.includes(name), `${name} is served (${names.join(", ")})`);
  });

  it("name only operations of the service's model", () => {
    let rows = 0;
    for (const service of berth.berth.awsServices) {
      const actions = Object.keys(service.actions);
      assert.ok(actions.length > 0, `${service.signingName} has actions`);
      for (const action of actions) {
        rows++;
        assert.ok(
          service.model.operations[action] !== undefined,
          `${service.signingName}: ${action} is not an operation of its model`,
        );
      }
    }
    assert.ok(rows >= 6, "the tables were read");
  });

  it("hold each the handler of its own action, by the SDK's request and response types", () => {
    const tasks: Pick<ReturnType<typeof taskHandlers>, "runTask" | "stopTask"> = {
      runTask: () => Promise.resolve({ tasks: [] }),
      stopTask: () => Promise.resolve({ task: {} }),
    };
    const wired = { runTask: tasks.runTask, stopTask: tasks.stopTask } satisfies Handlers<ECS>;
    // @ts-expect-error RunTask's handler as StopTask's: RunTask's request and response.
    const miswired = { stopTask: tasks.runTask } satisfies Handlers<ECS>;
    assert.notEqual(wired.stopTask, miswired.stopTask);
  });
});
