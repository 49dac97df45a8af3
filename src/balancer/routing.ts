/**
 * Where a request goes: the listener on its port (by the load balancer's DNS name when several
 * share the port), the first rule whose conditions all match (by priority, the default rule
 * last), a target group of its action (by weight), and a target by the group's algorithm.
 */
import type { RuleCondition } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { ListenerRoute, RouteRule } from "./config.js";
import { hostMatches, pathMatches } from "./patterns.js";

/** The listener of a port that a request with this host is for. */
export function pickListener(listeners: ListenerRoute[], host: string): ListenerRoute | undefined {
  // Every load balancer has its own addresses on AWS; on one host they share the port, and
  // the Host header (the load balancer's DNS name) tells them apart. Otherwise the oldest.
  return listeners.find((l) => l.dnsName === host) ?? listeners[0];
}

function conditionMatches(condition: RuleCondition, host: string, path: string): boolean {
  const values = condition.Values ?? [];
  if (condition.Field === "path-pattern") return values.some((v) => pathMatches(v, path));
  if (condition.Field === "host-header") return values.some((v) => hostMatches(v, host));
  return false;
}

export function pickRule(rules: RouteRule[], host: string, path: string): RouteRule | undefined {
  return rules.find((rule) => rule.conditions.every((c) => conditionMatches(c, host, path)));
}

/** One of `choices` with probability proportional to its weight (a weight of 0 never). */
export function pickWeighted<T extends { weight: number }>(
  choices: T[],
  random = Math.random,
): T | undefined {
  const total = choices.reduce((sum, c) => sum + Math.max(0, c.weight), 0);
  if (total <= 0) return choices[0];
  let point = random() * total;
  for (const choice of choices) {
    point -= Math.max(0, choice.weight);
    if (point < 0) return choice;
  }
  return choices[choices.length - 1];
}

export interface Candidate {
  key: string;
  healthy: boolean;
  inflight: number;
}

/**
 * The target for the next request: among healthy ones, or — ELB fails open — among all when
 * none is healthy. Round robin walks `cursor`; least outstanding requests takes the target with
 * the fewest in flight (ties by round robin).
 */
export function pickTarget<T extends Candidate>(
  candidates: T[],
  algorithm: string,
  cursor: number,
): T | undefined {
  const healthy = candidates.filter((c) => c.healthy);
  const pool = healthy.length > 0 ? healthy : candidates;
  if (pool.length === 0) return undefined;
  if (algorithm === "least_outstanding_requests") {
    let best: T | undefined;
    for (let i = 0; i < pool.length; i++) {
      const candidate = pool[(cursor + i) % pool.length] as T;
      if (best === undefined || candidate.inflight < best.inflight) best = candidate;
    }
    return best;
  }
  return pool[cursor % pool.length];
}
