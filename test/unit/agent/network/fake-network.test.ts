/** The fake TaskNetwork keeps the contract the CNI one keeps. */
import { FakeTaskNetwork } from "./fake-network.js";
import { runTaskNetworkContract } from "./task-network-contract.js";

runTaskNetworkContract("fake", () =>
  Promise.resolve({
    network: new FakeTaskNetwork(),
    netns: (taskId) => Promise.resolve(`/fake/netns/${taskId}`),
    close: () => Promise.resolve(),
  }),
);
