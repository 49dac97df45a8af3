/**
 * Operations of ECS's API that are newer than the model in Debian's awscli package (its models
 * date from January 2023), written in the model's own form from the ECS API reference so the
 * front door validates them like every other action. Drop an entry once the installed model
 * has it.
 */
import type { ServiceModel } from "../../aws/index.js";

export const ecsModelSupplement: Partial<ServiceModel> = {
  operations: {
    DeleteTaskDefinitions: {
      name: "DeleteTaskDefinitions",
      input: { shape: "DeleteTaskDefinitionsRequest" },
      output: { shape: "DeleteTaskDefinitionsResponse" },
    },
  },
  shapes: {
    DeleteTaskDefinitionsRequest: {
      type: "structure",
      required: ["taskDefinitions"],
      members: { taskDefinitions: { shape: "StringList" } },
    },
    DeleteTaskDefinitionsResponse: {
      type: "structure",
      members: {
        taskDefinitions: { shape: "TaskDefinitionList" },
        failures: { shape: "Failures" },
      },
    },
    TaskDefinitionList: { type: "list", member: { shape: "TaskDefinition" } },
    // Members added to existing structures (merged into the model's own).
    RunTaskRequest: { type: "structure", members: { clientToken: { shape: "ClientToken" } } },
    ClientToken: { type: "string", max: 64 },
  },
};
