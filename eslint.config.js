// Type-aware lint: a supervisor of processes cannot afford a forgotten promise.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import importX, { createNodeResolver } from "eslint-plugin-import-x";
import { readdirSync } from "node:fs";

// The dependency direction (ARCHITECTURE.md's table): what each component under src/ may import.
// Everything else under src/ is off limits to it, and one AWS service never imports another.
const DEPENDS_ON = {
  core: [],
  protocol: [],
  store: ["core"],
  aws: ["core"],
  billing: ["store", "core"],
  balancer: ["store", "core"],
  registry: ["aws", "store", "core"],
  kube: ["aws", "store", "core"],
  control: ["protocol", "store", "core"],
  console: ["aws", "store", "core"],
  agent: ["protocol", "core"],
  services: ["aws", "control", "registry", "billing", "balancer", "protocol", "store", "core"],
  server: [
    "console",
    "services",
    "kube",
    "control",
    "agent",
    "registry",
    "billing",
    "balancer",
    "aws",
    "protocol",
    "store",
    "core",
  ],
  cli: ["server", "services", "agent", "billing", "aws", "core"],
  testing: ["server", "agent", "aws", "core", "protocol"],
};
const SERVICES = readdirSync(new URL("./src/services", import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const DIRECTION_ZONES = [
  ...Object.entries(DEPENDS_ON).map(([component, allowed]) => ({
    target: `./src/${component}`,
    from: Object.keys(DEPENDS_ON)
      .filter((other) => other !== component && !allowed.includes(other))
      .map((other) => `./src/${other}`),
    message: `${component} may import only ${allowed.join(", ") || "nothing of src/"} (ARCHITECTURE.md)`,
  })),
  ...SERVICES.map((service) => ({
    target: `./src/services/${service}`,
    from: SERVICES.filter((other) => other !== service).map((other) => `./src/services/${other}`),
    message: "one AWS service does not import another; share through a component below them",
  })),
];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "bin/**", "scripts/*.js", "eslint.config.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "import-x": importX },
    settings: {
      // Sources import "./x.js" and mean "./x.ts": without the alias no import resolves, and the
      // import rules (cycles, direction) would pass without looking.
      "import-x/resolver-next": [
        createNodeResolver({
          extensions: [".ts", ".js"],
          extensionAlias: { ".js": [".ts", ".js"] },
        }),
      ],
    },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          // node:test registers suites and tests synchronously; their promises are the runner's.
          allowForKnownSafeCalls: [
            {
              from: "package",
              package: "node:test",
              name: [
                "describe",
                "it",
                "test",
                "suite",
                "before",
                "after",
                "beforeEach",
                "afterEach",
              ],
            },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "@typescript-eslint/require-await": "off",
      "import-x/no-cycle": "error",
      "import-x/no-restricted-paths": ["error", { zones: DIRECTION_ZONES }],
    },
  },
);
