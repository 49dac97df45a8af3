/** `berth spot interrupt [--host H | --fraction F]`: take Spot capacity back, as AWS may. */
import { parseArgs } from "node:util";
import { signedPost } from "./client.js";
import { resolveClientConfig } from "./config.js";

export const SPOT_USAGE = "Usage: berth spot interrupt [--host HOST_ID | --fraction 0.5]";

export async function spot(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      endpoint: { type: "string" },
      "data-dir": { type: "string" },
      region: { type: "string" },
      host: { type: "string" },
      fraction: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals[0] !== "interrupt") {
    process.stderr.write(`${SPOT_USAGE}\n`);
    return 2;
  }
  const fraction = values.fraction === undefined ? undefined : Number(values.fraction);
  if (fraction !== undefined && !(fraction >= 0 && fraction <= 1)) {
    process.stderr.write("berth spot: --fraction is a number from 0 to 1.\n");
    return 2;
  }
  const config = resolveClientConfig(
    { endpoint: values.endpoint, dataDir: values["data-dir"], region: values.region },
    env,
  );
  const response = await signedPost(config, "/_berth/spot/interrupt", {
    ...(values.host === undefined ? {} : { hostId: values.host }),
    ...(fraction === undefined ? {} : { fraction }),
  });
  const body = await response.text();
  if (!response.ok) {
    process.stderr.write(`berth spot: the server refused (${response.status}): ${body}\n`);
    return 1;
  }
  const { interrupted } = JSON.parse(body) as { interrupted: string[] };
  process.stdout.write(
    `${interrupted.length} Spot task(s) interrupted:\n${interrupted.map((arn) => `  ${arn}\n`).join("")}`,
  );
  return 0;
}
