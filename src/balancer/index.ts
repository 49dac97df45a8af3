/**
 * The load balancers' data plane: listeners on the host that proxy HTTP to healthy targets,
 * with active health checks, rules, routing algorithms and connection draining.
 */
export { pathMatches, hostMatches, hostOf, parseHttpCodes } from "./patterns.js";
