/** `berth spot interrupt [--host H | --fraction F]`: take Spot capacity back, as AWS may. */
import { BerthError } from "../core/index.js";
import { invalidArgument } from "./errors.js";
import { signedPost } from "./client.js";
import { defineCommand } from "./command.js";
import { CLIENT_FLAGS, clientConfigFrom } from "./config.js";

export const spot = defineCommand({
  name: "spot",
  summary: "take Spot capacity back, as AWS may (FARGATE_SPOT tasks get the warning, then stop)",
  usage: ["berth spot interrupt [--host HOST_ID | --fraction F]"],
  description:
    "Without --host or --fraction, every Spot task is interrupted. Each ends SpotInterruption\nafter the warning (berth up --spot-warning-seconds), and its service replaces it.",
  flags: {
    host: { type: "string", value: "HOST_ID", help: "only the Spot tasks of this host" },
    fraction: {
      type: "string",
      value: "F",
      help: "a random fraction (0 to 1) of the Spot tasks",
    },
    ...CLIENT_FLAGS,
  },
  positionals: true,
  run: async ({ flags: values, positionals }, env) => {
    if (positionals[0] !== "interrupt" || positionals.length > 1)
      throw invalidArgument("the one subcommand is interrupt: berth spot interrupt");
    const fraction = values.fraction === undefined ? undefined : Number(values.fraction);
    if (fraction !== undefined && !(fraction >= 0 && fraction <= 1)) {
      throw invalidArgument("--fraction is a number from 0 to 1");
    }
    const config = clientConfigFrom(values, env);
    const response = await signedPost(config, "/_berth/spot/interrupt", {
      ...(values.host === undefined ? {} : { hostId: values.host }),
      ...(fraction === undefined ? {} : { fraction }),
    });
    const body = await response.text();
    if (!response.ok) {
      throw new BerthError("SpotRefused", `the server refused (${response.status}): ${body}`);
    }
    const { interrupted } = JSON.parse(body) as { interrupted: string[] };
    process.stdout.write(
      `${interrupted.length} Spot task(s) interrupted:\n${interrupted.map((arn) => `  ${arn}\n`).join("")}`,
    );
    return 0;
  },
});
