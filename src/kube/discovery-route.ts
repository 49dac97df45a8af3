/** The discovery and OpenAPI paths of the Kubernetes API, as one route. */
import type { KubeRoute } from "./api-server.js";
import { CLUSTER_PATH_PREFIX } from "./api-server.js";
import {
  aggregatedDiscovery,
  discoveryContentType,
  discoveryFormat,
  legacyApiVersions,
  legacyGroup,
  legacyGroupList,
  resourceList,
} from "./discovery.js";
import { sendJson } from "./http.js";
import { openApiV3 } from "./openapi.js";
import { unknownPath } from "./status.js";

export const discoveryRoute: KubeRoute = async ({ req, res, path, cluster }) => {
  if (req.method !== "GET") return false;
  if (path === "/api" || path === "/apis") {
    const format = discoveryFormat(req.headers.accept);
    if (format === "legacy")
      sendJson(res, 200, path === "/api" ? legacyApiVersions() : legacyGroupList());
    else
      sendJson(
        res,
        200,
        aggregatedDiscovery(path === "/api", format),
        discoveryContentType(format),
      );
    return true;
  }
  if (path.startsWith("/openapi/")) {
    // No OpenAPI v2: kubectl takes v3 (and its absence of schemas) when the server has it.
    const doc = path.startsWith("/openapi/v3")
      ? openApiV3(path, `${CLUSTER_PATH_PREFIX}${cluster}`)
      : undefined;
    if (doc === undefined) throw unknownPath();
    sendJson(res, 200, doc);
    return true;
  }
  const parts = path.split("/").filter((p) => p !== "");
  if (parts[0] === "api" && parts.length === 2) {
    const list = resourceList("", parts[1] ?? "");
    if (list === undefined) throw unknownPath();
    sendJson(res, 200, list);
    return true;
  }
  if (parts[0] === "apis" && parts.length === 2) {
    const group = legacyGroup(parts[1] ?? "");
    if (group === undefined) throw unknownPath();
    sendJson(res, 200, group);
    return true;
  }
  if (parts[0] === "apis" && parts.length === 3) {
    const list = resourceList(parts[1] ?? "", parts[2] ?? "");
    if (list === undefined) throw unknownPath();
    sendJson(res, 200, list);
    return true;
  }
  return false;
};
