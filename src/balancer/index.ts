/**
 * The load balancers' data plane: listeners on the host that proxy HTTP to healthy targets,
 * with active health checks, rules, routing algorithms and connection draining.
 */
export { pathMatches, hostMatches, parseHttpCodes } from "./patterns.js";
export { balancerConnectionLimits, LoadBalancerPlane } from "./plane.js";
export {
  afterCheck,
  describeHealth,
  INITIAL_HEALTH,
  type HealthState,
  type ProbeResult,
} from "./health.js";
export { pickRule, pickTarget, pickWeighted, pickListener } from "./routing.js";
export { ResponseTimeHistogram, RESPONSE_TIME_BOUNDS } from "./response-times.js";
