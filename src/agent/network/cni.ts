/**
 * The CNI glue: runs a network configuration list's plugins the way the CNI specification
 * (1.0) says a runtime does. ADD runs the plugins in order, each given the previous one's
 * result as `prevResult`; DEL runs them in reverse order with the ADD's result; CHECK runs them
 * in order with it. Each plugin is an executable found in the plugin dirs (CNI_PATH), given
 * CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME and CNI_PATH in its environment and its
 * own configuration (plus the list's `name` and `cniVersion`) on stdin; it answers with JSON
 * on stdout, or exits non-zero with a CNI error object there.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../../core/index.js";
import { runCommand } from "../runtime/index.js";

export interface CniPluginConf {
  type: string;
  [key: string]: unknown;
}

export interface CniConflist {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
}

/** Which container and namespace an operation is for. */
export interface CniAttachment {
  containerId: string;
  /** The network namespace file; DEL may be given one that is already gone. */
  netns: string;
  ifName: string;
}

/** The parts of a CNI result Berth reads (the whole result is kept and passed on). */
export interface CniResult {
  cniVersion: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  [key: string]: unknown;
}

export const CniErrorCode = "NetworkSetupFailed";

/** A plugin's failure, with the CNI error code and text it gave. */
export class CniError extends BerthError {
  constructor(
    readonly plugin: string,
    readonly cniCode: number | undefined,
    message: string,
  ) {
    super(CniErrorCode, `CNI plugin ${plugin}: ${message}`, { fault: "server" });
  }
}

export class CniPlugins {
  constructor(readonly pluginDirs: string[]) {}

  async add(list: CniConflist, target: CniAttachment): Promise<CniResult> {
    let result: CniResult | undefined;
    for (const plugin of list.plugins) {
      result = await this.#invoke("ADD", list, plugin, target, result);
    }
    if (result === undefined) throw new CniError(list.name, undefined, "the list has no plugins");
    return result;
  }

  /** Undoes an ADD; succeeds when there is nothing left to undo (the spec asks DEL to be idempotent). */
  async del(list: CniConflist, target: CniAttachment, added?: CniResult): Promise<void> {
    for (const plugin of [...list.plugins].reverse()) {
      await this.#invoke("DEL", list, plugin, target, added);
    }
  }

  /** Asks every plugin whether what ADD set up is still there; throws what the first finds missing. */
  async check(list: CniConflist, target: CniAttachment, added: CniResult): Promise<void> {
    for (const plugin of list.plugins) {
      await this.#invoke("CHECK", list, plugin, target, added);
    }
  }

  #find(type: string): string {
    // A type is a file name, never a path (the spec forbids it; it would escape CNI_PATH).
    if (!/^[A-Za-z0-9_.-]+$/.test(type)) throw new CniError(type, undefined, "invalid plugin type");
    for (const dir of this.pluginDirs) {
      const file = join(dir, type);
      if (existsSync(file)) return file;
    }
    throw new CniError(type, undefined, `not found in ${this.pluginDirs.join(":")}`);
  }

  async #invoke(
    command: "ADD" | "DEL" | "CHECK",
    list: CniConflist,
    plugin: CniPluginConf,
    target: CniAttachment,
    prevResult: CniResult | undefined,
  ): Promise<CniResult | undefined> {
    const config = {
      ...plugin,
      cniVersion: list.cniVersion,
      name: list.name,
      ...(prevResult === undefined ? {} : { prevResult }),
    };
    const { stdout, stderr, code } = await runCommand(this.#find(plugin.type), [], {
      allowFailure: true,
      input: JSON.stringify(config),
      env: {
        PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
        CNI_COMMAND: command,
        CNI_CONTAINERID: target.containerId,
        CNI_NETNS: target.netns,
        CNI_IFNAME: target.ifName,
        CNI_PATH: this.pluginDirs.join(":"),
      },
    });
    if (code !== 0) {
      const error = parseJson(stdout) as
        { code?: number; msg?: string; details?: string } | undefined;
      const text = [error?.msg, error?.details].filter(Boolean).join(": ");
      throw new CniError(
        plugin.type,
        error?.code,
        `${command} failed: ${text || stderr.trim() || `exit ${code}`}`,
      );
    }
    if (command !== "ADD") return undefined;
    const result = parseJson(stdout) as CniResult | undefined;
    if (result === undefined || typeof result !== "object")
      throw new CniError(plugin.type, undefined, `ADD answered no result: ${stdout.slice(0, 200)}`);
    return result;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
