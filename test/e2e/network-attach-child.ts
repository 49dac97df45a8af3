// An agent's task network in a process of its own (agent-network-contract.test.ts runs it, to
// take away what it may use or to kill it mid-attach): attaches one task over a data dir and
// prints the address.
import { BridgeTaskNetwork } from "../../src/agent/network/index.js";

const [dataDir = "", taskCidr = "", taskId = "", clusterArn = "", netnsPath = ""] =
  process.argv.slice(2);
const network = new BridgeTaskNetwork({ dataDir, taskCidr });
const address = await network.attach({ taskId, clusterArn, netnsPath });
process.stdout.write(JSON.stringify(address));
process.exit(0);
