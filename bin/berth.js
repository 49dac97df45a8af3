#!/usr/bin/env node
// The `berth` binary: the compiled CLI (npm run build writes dist/).
// Berth pins its AWS SDK packages to releases that support Node.js 20, so the SDK's notice
// about future releases needing Node.js 22 says nothing to Berth's users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// Everything Berth and the programs it starts write (its data dir holds tenants' secrets) is
// the owner's alone; the OCI runtime is started with 022 again (libexec/berth-runc).
process.umask(0o077);
const { main } = await import("../dist/cli/main.js");

// Long-running commands (up, agent) return after a clean shutdown; whatever still watches
// containers (they outlive Berth by design) must not keep the process alive.
process.exit(await main(process.argv.slice(2)));
