/** The in-memory TaskUsageSource keeps the shared contract. */
import { InMemoryTaskUsageSource } from "./memory-source.js";
import { runTaskUsageSourceContract } from "./task-usage-source-contract.js";

runTaskUsageSourceContract("in memory", async (tasks) => ({
  source: new InMemoryTaskUsageSource(tasks),
}));
