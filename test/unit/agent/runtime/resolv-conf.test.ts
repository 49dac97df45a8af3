/** A task's resolv.conf: the host's, less loopback name servers. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { taskResolvConf } from "../../../../src/agent/runtime/index.js";

it("keeps the host's search, options and reachable name servers, and drops loopback ones", () => {
  const host = [
    "# generated",
    "nameserver 127.0.0.53",
    "nameserver 10.255.255.53",
    "nameserver ::1",
    "search corp.example",
    "options edns0 trust-ad",
    "",
  ].join("\n");
  assert.equal(
    taskResolvConf(host),
    "nameserver 10.255.255.53\nsearch corp.example\noptions edns0 trust-ad\n",
  );
  assert.equal(taskResolvConf("nameserver 127.0.0.53\n"), "");
});
