// Every row of every action table names an operation of its service's model (with its
// supplement): a mistyped row would answer, yet skip the model's validation of its input.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunningBerth } from "../../../src/server/index.js";
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
});
