/**
 * The REST verbs of every served resource, generically: list (with label and field selectors,
 * Tables), watch (a stream of events from a resourceVersion, 410 when it is too old), get,
 * create, update, patch (strategic, merge, JSON, apply) and delete. What is special to a kind
 * (pods' scheduling and graceful deletion, a Deployment's scale) comes in through `KindHooks`.
 */
import type { ServerResponse } from "node:http";
import type { Clock } from "../core/index.js";
import type { KubeRequest } from "./api-server.js";
import { parseObject, readBody, sendJson } from "./http.js";
import { applyManagedFields, recordUpdateManager } from "./managed-fields.js";
import { nameSuffix, type Change, type KubeObject, type KubeObjects } from "./objects.js";
import { jsonMergePatch, jsonPatch, strategicMerge } from "./patch.js";
import {
  apiVersionOf,
  findResource,
  RESOURCES,
  storageKey,
  type ResourceType,
} from "./resources.js";
import { parseFieldSelector, parseLabelSelector } from "./selectors.js";
import {
  badRequest,
  KubeError,
  methodNotAllowed,
  notFound,
  successStatus,
  unknownPath,
} from "./status.js";
import { toTable, wantsTable } from "./tables.js";

/** What a kind adds to the generic verbs. */
export interface KindHooks {
  /** Fills defaults and checks a new object before it is stored. */
  beforeCreate?(cluster: string, object: KubeObject): Promise<void> | void;
  /** Deletes the object its own way (pods: gracefully); the generic delete runs when absent. */
  delete?(cluster: string, object: KubeObject, gracePeriodSeconds?: number): Promise<KubeObject>;
  /** Serves a subresource other than `status` (`scale`, `log`); true when handled. */
  subresource?(request: KubeRequest, target: Target): Promise<boolean>;
}

export interface Target {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

/** What `objects` keys an object by: its cluster, type, namespace and name. */
const targetKey = (cluster: string, { type, namespace, name }: Target) =>
  [cluster, type, namespace ?? "", name ?? ""] as const;

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** `/api/v1/namespaces/default/pods/web/log` -> what it names; undefined when not a resource path. */
export function parseTarget(path: string): Target | undefined | "unknown-group" {
  const parts = path
    .split("/")
    .filter((p) => p !== "")
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) {
    group = "";
    version = parts[1] ?? "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    group = parts[1] ?? "";
    version = parts[2] ?? "";
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const type = findResource(group, version, rest[0] ?? "");
  if (type === undefined) return "unknown-group";
  if (!type.namespaced && namespace !== undefined) return "unknown-group";
  return { type, namespace, name: rest[1], subresource: rest[2] };
}

export class ResourceRoutes {
  constructor(
    private readonly objects: KubeObjects,
    private readonly clock: Clock,
    private readonly hooks: Record<string, KindHooks>,
  ) {}

  /** The route the API server runs for resource paths. */
  readonly route = async (request: KubeRequest): Promise<boolean> => {
    const target = parseTarget(request.path);
    if (target === undefined) return false;
    if (target === "unknown-group") throw unknownPath();
    const { req } = request;
    const hooks = this.hooks[storageKey(target.type)] ?? {};
    if (target.subresource !== undefined && target.subresource !== "status") {
      if (hooks.subresource !== undefined && (await hooks.subresource(request, target)))
        return true;
      throw unknownPath();
    }
    if (target.namespace !== undefined && target.type.resource !== "namespaces")
      await this.#requireNamespace(request.cluster, target.namespace, req.method ?? "GET");
    switch (req.method) {
      case "GET":
        if (target.name === undefined) {
          const watch = request.query.get("watch");
          if (watch === "true" || watch === "1") await this.watch(request, target);
          else await this.#list(request, target);
        } else await this.#get(request, target);
        return true;
      case "POST":
        if (target.name !== undefined) throw methodNotAllowed();
        await this.#create(request, target, hooks);
        return true;
      case "PUT":
        await this.#update(request, target);
        return true;
      case "PATCH":
        await this.#patch(request, target, hooks);
        return true;
      case "DELETE":
        await this.#delete(request, target, hooks);
        return true;
      default:
        throw methodNotAllowed();
    }
  };

  async #requireNamespace(cluster: string, namespace: string, method: string): Promise<void> {
    // Reads in a missing namespace answer empty (or NotFound for the object), as Kubernetes does.
    if (method === "GET") return;
    const ns = RESOURCES.find((r) => r.resource === "namespaces") as ResourceType;
    if ((await this.objects.find(cluster, ns, "", namespace)) === undefined)
      throw notFound("namespaces", namespace);
  }

  async #list({ req, res, cluster, query }: KubeRequest, target: Target): Promise<void> {
    const { items, resourceVersion } = await this.objects.list(
      cluster,
      target.type,
      target.namespace,
    );
    const labels = parseLabelSelector(query.get("labelSelector"));
    const fields = parseFieldSelector(query.get("fieldSelector"));
    const selected = items.filter((o) => labels(o.metadata.labels ?? {}) && fields(o));
    if (wantsTable(req.headers.accept)) {
      sendJson(
        res,
        200,
        toTable(target.type, selected, String(resourceVersion), this.clock.now(), {
          accept: req.headers.accept,
          includeObject: query.get("includeObject"),
        }),
      );
      return;
    }
    sendJson(res, 200, {
      kind: target.type.listKind,
      apiVersion: apiVersionOf(target.type),
      metadata: { resourceVersion: String(resourceVersion) },
      items: selected,
    });
  }

  async #get({ req, res, cluster, query }: KubeRequest, target: Target): Promise<void> {
    const object = await this.objects.get(...targetKey(cluster, target));
    if (wantsTable(req.headers.accept)) {
      sendJson(
        res,
        200,
        toTable(target.type, [object], object.metadata.resourceVersion ?? "", this.clock.now(), {
          accept: req.headers.accept,
          includeObject: query.get("includeObject"),
        }),
      );
      return;
    }
    sendJson(res, 200, object);
  }

  /** A watch: chunked JSON events, until the client goes or `timeoutSeconds` pass. */
  async watch({ req, res, cluster, query }: KubeRequest, target: Target): Promise<void> {
    const labels = parseLabelSelector(query.get("labelSelector"));
    const fields = parseFieldSelector(query.get("fieldSelector"));
    const asked = query.get("resourceVersion");
    const table = wantsTable(req.headers.accept);
    const selected = (o: KubeObject) =>
      labels(o.metadata.labels ?? {}) &&
      fields(o) &&
      (target.name === undefined || o.metadata.name === target.name);
    const key = storageKey(target.type);
    const write = (
      res: ServerResponse,
      type: string,
      object: KubeObject | Record<string, unknown>,
    ) => {
      const body =
        table && type !== "ERROR"
          ? toTable(
              target.type,
              [object as KubeObject],
              String((object as KubeObject).metadata.resourceVersion ?? ""),
              this.clock.now(),
              {
                accept: req.headers.accept,
                includeObject: query.get("includeObject"),
                withColumns: false,
              },
            )
          : object;
      res.write(`${JSON.stringify({ type, object: body })}\n`);
    };
    const pending: Change[] = [];
    let started = false;
    const onChange = (change: Change) => {
      if (change.resource !== key) return;
      if (target.namespace !== undefined && change.namespace !== target.namespace) return;
      if (!selected(change.object)) return;
      if (!started) pending.push(change);
      else write(res, change.type, change.object);
    };
    let from: number;
    let initial: KubeObject[] = [];
    if (asked === null || asked === "" || asked === "0") {
      // No version: the current state as ADDED events, then every change after it.
      const listed = await this.objects.list(cluster, target.type, target.namespace);
      from = listed.resourceVersion;
      initial = listed.items.filter(selected);
    } else {
      from = Number(asked);
      if (!Number.isInteger(from) || from < 0)
        throw badRequest(`invalid resourceVersion: ${asked}`);
    }
    const stop = await this.objects.watchFrom(cluster, from, onChange);
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Transfer-Encoding": "chunked",
      "Cache-Control": "no-cache, private",
    });
    // A watch may stay silent for long: the client must see its headers at once.
    res.flushHeaders();
    for (const object of initial) write(res, "ADDED", object);
    started = true;
    for (const change of pending.splice(0)) write(res, change.type, change.object);
    const timeoutSeconds = Number(query.get("timeoutSeconds") ?? "1800");
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(Math.max(timeoutSeconds, 1), 3600) * 1000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      req.once("close", done);
      res.once("close", done);
    });
    stop();
    res.end();
  }

  async #create(request: KubeRequest, target: Target, hooks: KindHooks): Promise<void> {
    const { req, res, cluster, query } = request;
    const object = parseObject(
      await readBody(req),
      req.headers["content-type"],
    ) as unknown as KubeObject;
    checkKind(target.type, object);
    object.metadata = { ...(object.metadata ?? {}) };
    if ((object.metadata.name ?? "") === "" && object.metadata.generateName !== undefined)
      object.metadata.name = `${object.metadata.generateName}${nameSuffix()}`;
    const name = object.metadata.name ?? "";
    if (name === "")
      throw new KubeError(
        "Invalid",
        `${target.type.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
        422,
      );
    if (!NAME.test(name) || name.length > 253)
      throw new KubeError(
        "Invalid",
        `${target.type.kind} "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
        422,
      );
    if (target.type.namespaced) {
      const ns = object.metadata.namespace;
      if (ns !== undefined && ns !== target.namespace)
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      object.metadata.namespace = target.namespace ?? "default";
    }
    delete object.metadata.resourceVersion;
    delete object.metadata.uid;
    recordUpdateManager(
      object,
      undefined,
      query.get("fieldManager") ?? userAgentManager(req.headers["user-agent"]),
      "Update",
      this.clock.now(),
      apiVersionOf(target.type),
    );
    await hooks.beforeCreate?.(cluster, object);
    if (query.get("dryRun") === "All") {
      sendJson(res, 201, object);
      return;
    }
    sendJson(res, 201, await this.objects.create(cluster, target.type, object));
  }

  async #update(request: KubeRequest, target: Target): Promise<void> {
    const { req, res, cluster, query } = request;
    if (target.name === undefined) throw methodNotAllowed();
    const body = parseObject(
      await readBody(req),
      req.headers["content-type"],
    ) as unknown as KubeObject;
    checkKind(target.type, body);
    const manager = query.get("fieldManager") ?? userAgentManager(req.headers["user-agent"]);
    const updated = await this.objects.update(...targetKey(cluster, target), (current) => {
      const next: KubeObject =
        target.subresource === "status"
          ? {
              ...current,
              status: body.status ?? {},
              metadata: { ...current.metadata, resourceVersion: body.metadata?.resourceVersion },
            }
          : {
              ...body,
              status: current.status,
              metadata: { ...current.metadata, ...body.metadata },
            };
      recordUpdateManager(
        next,
        current,
        manager,
        "Update",
        this.clock.now(),
        apiVersionOf(target.type),
      );
      return next;
    });
    sendJson(res, 200, updated);
  }

  async #patch(request: KubeRequest, target: Target, hooks: KindHooks): Promise<void> {
    const { req, res, cluster, query } = request;
    if (target.name === undefined) throw methodNotAllowed();
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
    const raw = await readBody(req);
    let patch: unknown;
    try {
      patch = JSON.parse(raw.toString("utf8"));
    } catch {
      // Berth takes an apply configuration as JSON (what kubectl sends), not as YAML text.
      throw badRequest(
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (as JSON)",
      );
    }
    const manager = query.get("fieldManager") ?? userAgentManager(req.headers["user-agent"]);
    const now = this.clock.now();
    if (contentType === "application/apply-patch+yaml") {
      if (query.get("fieldManager") === null)
        throw badRequest(
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        );
      const applied = patch as KubeObject;
      checkKind(target.type, applied);
      const existing = await this.objects.find(...targetKey(cluster, target));
      if (existing === undefined) {
        const object: KubeObject = {
          ...applied,
          metadata: { ...applied.metadata, name: target.name },
        };
        if (target.type.namespaced) object.metadata.namespace = target.namespace ?? "default";
        applyManagedFields(
          object,
          undefined,
          applied,
          manager,
          now,
          apiVersionOf(target.type),
          query.get("force") === "true",
        );
        await hooks.beforeCreate?.(cluster, object);
        sendJson(res, 201, await this.objects.create(cluster, target.type, object));
        return;
      }
      const updated = await this.objects.update(...targetKey(cluster, target), (current) => {
        const next = strategicMerge(current, {
          ...applied,
          metadata: { ...applied.metadata, resourceVersion: undefined },
        }) as KubeObject;
        next.metadata.resourceVersion = undefined;
        applyManagedFields(
          next,
          current,
          applied,
          manager,
          now,
          apiVersionOf(target.type),
          query.get("force") === "true",
        );
        return next;
      });
      sendJson(res, 200, updated);
      return;
    }
    const merge =
      contentType === "application/strategic-merge-patch+json"
        ? strategicMerge
        : contentType === "application/merge-patch+json"
          ? jsonMergePatch
          : contentType === "application/json-patch+json"
            ? jsonPatch
            : undefined;
    if (merge === undefined)
      throw new KubeError(
        "UnsupportedMediaType",
        `the server does not support the media type '${contentType}'`,
        415,
      );
    const updated = await this.objects.update(...targetKey(cluster, target), (current) => {
      const next = merge(current, patch) as KubeObject;
      if (target.subresource === "status") {
        const only = { ...current, status: next.status };
        recordUpdateManager(only, current, manager, "Update", now, apiVersionOf(target.type));
        return only;
      }
      // A patch that names no resourceVersion does not take part in optimistic concurrency.
      const asked = (patch as { metadata?: { resourceVersion?: string } } | null)?.metadata
        ?.resourceVersion;
      next.metadata = { ...next.metadata, resourceVersion: asked };
      next.status = current.status;
      recordUpdateManager(next, current, manager, "Update", now, apiVersionOf(target.type));
      return next;
    });
    sendJson(res, 200, updated);
  }

  async #delete(request: KubeRequest, target: Target, hooks: KindHooks): Promise<void> {
    const { req, res, cluster, query } = request;
    const raw = await readBody(req);
    if (target.name === undefined) throw methodNotAllowed();
    const options = raw.length > 0 ? parseObject(raw, req.headers["content-type"]) : {};
    const grace =
      typeof options.gracePeriodSeconds === "number"
        ? options.gracePeriodSeconds
        : query.get("gracePeriodSeconds") !== null
          ? Number(query.get("gracePeriodSeconds"))
          : undefined;
    const object = await this.objects.get(...targetKey(cluster, target));
    if (hooks.delete !== undefined) {
      sendJson(res, 200, await hooks.delete(cluster, object, grace));
      return;
    }
    const deleted = await this.objects.delete(...targetKey(cluster, target));
    sendJson(
      res,
      200,
      target.type.resource === "namespaces"
        ? deleted
        : {
            ...successStatus({
              name: target.name,
              group: target.type.group,
              kind: target.type.resource,
            }),
            details: {
              name: target.name,
              group: target.type.group,
              kind: target.type.resource,
              uid: deleted.metadata.uid,
            },
          },
    );
  }
}

function checkKind(type: ResourceType, object: KubeObject): void {
  if (object.kind !== undefined && object.kind !== type.kind)
    throw badRequest(
      `the kind of the provided object (${object.kind}) does not match the resource (${type.kind})`,
    );
  if (object.apiVersion !== undefined && object.apiVersion !== apiVersionOf(type))
    throw badRequest(
      `the API version in the data (${object.apiVersion}) does not match the expected API version (${apiVersionOf(type)})`,
    );
}

/** The API server names an unnamed manager after the client's user agent, up to the first `/`. */
function userAgentManager(agent: string | undefined): string {
  return (agent ?? "unknown").split("/")[0] ?? "unknown";
}
