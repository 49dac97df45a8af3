/**
 * The remote command protocol of `kubectl exec` over a WebSocket (`v5.channel.k8s.io`, and
 * `v4.channel.k8s.io`), as the API server speaks it: every message is binary, its first byte the
 * channel (0 stdin, 1 stdout, 2 stderr, 3 the error channel that carries the final Status, 4
 * terminal resize as `{"Width":W,"Height":H}`); v5 adds 255 + channel, the sender's end of that
 * channel (kubectl's end of stdin). Pure: frames in and out, nothing sent.
 */

export const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;
export type ExecProtocol = (typeof EXEC_PROTOCOLS)[number];

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
const CLOSE = 255;

/** What one message from the client means; undefined for what is ignored (empty, unknown). */
export type ClientFrame =
  | { type: "stdin"; data: Buffer }
  | { type: "stdinEnd" }
  | { type: "resize"; cols: number; rows: number };

/** The protocol to speak, from the client's offer (its order of preference), if any is served. */
export function chooseProtocol(offered: string | undefined): ExecProtocol | undefined {
  const names = (offered ?? "").split(",").map((p) => p.trim());
  return names.find((p): p is ExecProtocol => (EXEC_PROTOCOLS as readonly string[]).includes(p));
}

export function parseClientFrame(protocol: ExecProtocol, frame: Buffer): ClientFrame | undefined {
  const channel = frame[0];
  const data = frame.subarray(1);
  if (channel === STDIN) return data.length === 0 ? undefined : { type: "stdin", data };
  if (channel === CLOSE && protocol === "v5.channel.k8s.io" && data[0] === STDIN)
    return { type: "stdinEnd" };
  if (channel !== RESIZE) return undefined;
  try {
    const size = JSON.parse(data.toString("utf8")) as { Width?: unknown; Height?: unknown };
    const cols = Number(size.Width);
    const rows = Number(size.Height);
    // A terminal of 0 columns is what kubectl reports when it cannot tell: no size to set.
    if (!Number.isInteger(cols) || !Number.isInteger(rows)) return undefined;
    if (cols < 1 || rows < 1 || cols > 1000 || rows > 1000) return undefined;
    return { type: "resize", cols, rows };
  } catch {
    return undefined;
  }
}

export function outputFrame(channel: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.of(channel), data]);
}

/**
 * The error channel's last word, as the kubelet writes it: Success, or NonZeroExitCode with the
 * code as the ExitCode cause (kubectl exits with it), or InternalError when the command could
 * not run at all.
 */
export function exitStatus(
  command: string[],
  exitCode: number | undefined,
  error: string | undefined,
): Buffer {
  const base = { kind: "Status", apiVersion: "v1", metadata: {} };
  let status: Record<string, unknown>;
  if (error !== undefined || exitCode === undefined)
    status = {
      ...base,
      status: "Failure",
      message: `Internal error occurred: error executing command in container: ${error ?? "the session ended without an exit code"}`,
      reason: "InternalError",
      code: 500,
    };
  else if (exitCode === 0) status = { ...base, status: "Success" };
  else
    status = {
      ...base,
      status: "Failure",
      message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${String(exitCode)}`,
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
    };
  return outputFrame(ERROR, Buffer.from(JSON.stringify(status)));
}
