/**
 * Members of EventBridge Scheduler's API newer than the model in Debian's awscli package,
 * written in the model's own form from the API reference so the front door validates them like
 * every other member. Drop an entry once the installed model has it.
 */
import type { ServiceModel } from "../../aws/index.js";

const actionAfterCompletion = { ActionAfterCompletion: { shape: "ActionAfterCompletion" } };

export const schedulerModelSupplement: Partial<ServiceModel> = {
  shapes: {
    // Members added to existing structures (merged into the model's own).
    CreateScheduleInput: { type: "structure", members: actionAfterCompletion },
    UpdateScheduleInput: { type: "structure", members: actionAfterCompletion },
    GetScheduleOutput: { type: "structure", members: actionAfterCompletion },
    ActionAfterCompletion: { type: "string", enum: ["NONE", "DELETE"] },
  },
};
