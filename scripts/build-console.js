// Bundles the web console (src/console/web, Preact) into dist/console-assets with esbuild:
// one script and one stylesheet, served by the server from its own origin (nothing from a CDN).
import { build } from "esbuild";

await build({
  entryPoints: { app: "src/console/web/main.tsx" },
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: "linked",
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: "dist/console-assets",
  logLevel: "warning",
  legalComments: "none",
});
await build({
  entryPoints: { app: "src/console/web/app.css" },
  bundle: true,
  minify: true,
  outdir: "dist/console-assets",
  logLevel: "warning",
});
