/** The in-memory TaskUsageSource keeps the shared contract. */
import { InMemoryTaskUsageSource } from "../../../src/billing/index.js";
import { runTaskUsageSourceContract } from "./task-usage-source-contract.js";

runTaskUsageSourceContract("in memory", async (tasks) => ({
  source: new InMemoryTaskUsageSource(tasks),
}));
