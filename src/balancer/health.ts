/**
 * Active health checks: the state machine of one target (initial -> healthy / unhealthy after
 * the thresholds in a row, with ELB's reason codes) and the HTTP probe that feeds it.
 */
import { request } from "node:http";
import { connect } from "node:net";
import type { TargetGroup, TargetHealth } from "@aws-sdk/client-elastic-load-balancing-v2";
import { parseHttpCodes } from "./patterns.js";

export type ProbeResult =
  | { ok: true }
  | { ok: false; reason: "Target.ResponseCodeMismatch"; status: number }
  | { ok: false; reason: "Target.Timeout" | "Target.FailedHealthChecks" };

export interface HealthState {
  state: "initial" | "healthy" | "unhealthy";
  /** Checks passed (or failed) in a row. */
  successes: number;
  failures: number;
  last?: ProbeResult;
}

export const INITIAL_HEALTH: HealthState = { state: "initial", successes: 0, failures: 0 };

/** The state after one more check. */
export function afterCheck(
  current: HealthState,
  result: ProbeResult,
  healthyThreshold: number,
  unhealthyThreshold: number,
): HealthState {
  if (result.ok) {
    const successes = current.successes + 1;
    const state = successes >= healthyThreshold ? "healthy" : current.state;
    return { state, successes, failures: 0, last: result };
  }
  const failures = current.failures + 1;
  const state = failures >= unhealthyThreshold ? "unhealthy" : current.state;
  return { state, successes: 0, failures, last: result };
}

/** What DescribeTargetHealth reports for a state. */
export function describeHealth(health: HealthState): TargetHealth {
  if (health.state === "healthy") return { State: "healthy" };
  if (health.state === "initial")
    return {
      State: "initial",
      Reason: "Elb.InitialHealthChecking",
      Description: "Initial health checks in progress",
    };
  const last = health.last;
  if (last?.ok === false && last.reason === "Target.ResponseCodeMismatch")
    return {
      State: "unhealthy",
      Reason: last.reason,
      Description: `Health checks failed with these codes: [${last.status}]`,
    };
  if (last?.ok === false && last.reason === "Target.Timeout")
    return { State: "unhealthy", Reason: last.reason, Description: "Request timed out" };
  return {
    State: "unhealthy",
    Reason: "Target.FailedHealthChecks",
    Description: "Health checks failed",
  };
}

/** One health check of `host:port` as the group's settings say. */
export function probe(group: TargetGroup, host: string, trafficPort: number): Promise<ProbeResult> {
  const port =
    group.HealthCheckPort === undefined || group.HealthCheckPort === "traffic-port"
      ? trafficPort
      : Number(group.HealthCheckPort);
  const accepts = parseHttpCodes(group.Matcher?.HttpCode ?? "200") ?? ((s: number) => s === 200);
  const timeoutMs = (group.HealthCheckTimeoutSeconds ?? 5) * 1000;
  return new Promise((resolve) => {
    const req = request(
      {
        host,
        port,
        path: group.HealthCheckPath ?? "/",
        method: "GET",
        headers: { "User-Agent": "ELB-HealthChecker/2.0", Connection: "close" },
        agent: false,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(
          accepts(status)
            ? { ok: true }
            : { ok: false, reason: "Target.ResponseCodeMismatch", status },
        );
      },
    );
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve({ ok: false, reason: "Target.Timeout" });
    });
    req.on("error", () => resolve({ ok: false, reason: "Target.FailedHealthChecks" }));
    req.end();
  });
}

/**
 * Whether anything accepts a TCP connection at `host`:`port` within `timeoutMs`. A live
 * machine's kernel answers a connect even when the process behind it is slow, so a failure says
 * the target's machine or network is gone, not that it is busy.
 */
export function reachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
