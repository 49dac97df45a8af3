#!/usr/bin/env node
// The `berth` binary: the compiled CLI (npm run build writes dist/).
//
// CommonJS (bin/package.json), so that this runs before Node.js first uses its libuv thread
// pool (an ES module's own loading does): the pool's size is read once, at that first use.
// An agent's file work (each task's records, bundle and address files; fsyncs) waits in that
// pool, 4 threads by default. With 16, 20 callers starting tasks for 20 s (as bench:launch's
// sustained row) started 7.5 tasks/s against 6.5 with 4: 10 runs each, in pairs, in both orders,
// 16 ahead in 9 pairs of 10. A size the user set is kept.
process.env.UV_THREADPOOL_SIZE ??= "16";
// Berth pins its AWS SDK packages to releases that support Node.js 20, so the SDK's notice
// about future releases needing Node.js 22 says nothing to Berth's users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// Everything Berth and the programs it starts write (its data dir holds tenants' secrets) is
// the owner's alone; the OCI runtime is started with 022 again (libexec/berth-runc).
process.umask(0o077);

import("../dist/cli/main.js")
  .then(({ main }) => main(process.argv.slice(2)))
  // Long-running commands (up, agent) return after a clean shutdown; whatever still watches
  // containers (they outlive Berth by design) must not keep the process alive.
  .then((code) => process.exit(code));
