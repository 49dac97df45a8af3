/**
 * What the ELBv2 API needs from the data plane (the listeners on the host): a port bound
 * before a listener is promised on it, a nudge when the configuration changed, and each
 * target's health as last observed. The data plane implements it; the API imports nothing of it.
 */
import type { TargetHealth } from "@aws-sdk/client-elastic-load-balancing-v2";

export interface ElbDataPlane {
  /** Binds `port` on the listen address unless it already is; rejects when it cannot. */
  reservePort(port: number): Promise<void>;
  /** Load balancers, listeners, rules, target groups or targets changed in the store. */
  changed(): void;
  /** The target's health as the data plane sees it; undefined when it holds no opinion yet. */
  targetHealth(targetGroupArn: string, id: string, port: number): TargetHealth | undefined;
}
