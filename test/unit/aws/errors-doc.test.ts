// The registry of error codes is the one place a code's status lives: docs/errors.md is it
// written out, every AwsError takes its status from it, and wherever a service's model states a
// status for a code (REST-JSON and Query models do) the registry says the same for that service.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ERRORS_DOC, renderErrorsDoc } from "../../../scripts/errors-doc.js";
import {
  AWS_ERROR_CODES,
  AwsError,
  errorStatus,
  loadServiceModel,
  renderError,
  type AwsErrorCode,
  type AwsErrorSpec,
} from "../../../src/aws/index.js";

describe("error codes", () => {
  it("docs/errors.md is up to date (node --import tsx scripts/errors-doc.ts)", () => {
    assert.equal(readFileSync(ERRORS_DOC, "utf8"), renderErrorsDoc());
  });

  it("an AwsError takes its status and fault from the registry", () => {
    const tooLarge = new AwsError("RequestEntityTooLargeException", "too large");
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.fault, "client");
    const server = new AwsError("ServerException", "");
    assert.equal(server.status, 500);
    assert.equal(server.fault, "server");
    assert.equal(AWS_ERROR_CODES.InvalidSignatureException.query.code, "SignatureDoesNotMatch");
  });

  it("a code's status is the answering service's: EKS's ResourceNotFoundException is 404, Logs' 400", () => {
    const error = new AwsError("ResourceNotFoundException", "gone");
    assert.equal(renderError(error, { service: "eks", protocol: "rest-json" }).status, 404);
    assert.equal(renderError(error, { service: "logs" }).status, 400);
    assert.equal(renderError(error).status, 400);
    assert.equal(errorStatus("InvalidSignatureException", "eks"), 403);
    assert.equal(errorStatus("InvalidSignatureException", "ecs"), 400);
  });

  it("the renderer's answer carries the request id, the type and no __type on REST-JSON", () => {
    const json = renderError(new AwsError("ClusterNotFoundException", "Cluster not found."), {
      requestId: "r-1",
    });
    assert.equal(json.headers["x-amzn-RequestId"], "r-1");
    assert.equal(json.headers["x-amzn-ErrorType"], "ClusterNotFoundException");
    assert.deepEqual(JSON.parse(json.body), {
      __type: "ClusterNotFoundException",
      message: "Cluster not found.",
    });
    const rest = renderError(new AwsError("NotFoundException", "x"), { protocol: "rest-json" });
    assert.deepEqual(JSON.parse(rest.body), { message: "x" });
    const crash = renderError(new Error("secret /var/lib/berth detail"));
    assert.equal(crash.status, 500);
    assert.doesNotMatch(crash.body, /secret/);
  });

  it("agrees with every model that states a status, and never moves a code across 500", () => {
    const models: Record<string, string> = {
      eks: "eks",
      elasticloadbalancing: "elbv2",
      scheduler: "scheduler",
    };
    let compared = 0;
    for (const [code, spec] of Object.entries(AWS_ERROR_CODES) as [AwsErrorCode, AwsErrorSpec][]) {
      for (const status of Object.values(spec.statusIn ?? {}))
        assert.equal(status >= 500, spec.status >= 500, `${code}: statusIn crosses 500`);
      for (const [service, modelName] of Object.entries(models)) {
        if (!spec.services.includes(service)) continue;
        // Query models name the wire code in `error.code` (LoadBalancerNotFoundException -> LoadBalancerNotFound).
        const shape = Object.entries(loadServiceModel(modelName).shapes).find(
          ([name, candidate]) => (candidate.error?.code ?? name) === code,
        )?.[1];
        const stated = shape?.error?.httpStatusCode;
        if (stated === undefined) continue;
        compared++;
        const expected =
          service === "elasticloadbalancing" ? spec.status : errorStatus(code, service);
        assert.equal(expected, stated, `${service} ${code}: the model says ${stated}`);
      }
    }
    assert.ok(compared >= 8, `compared ${compared} codes with the models`);
  });
});
