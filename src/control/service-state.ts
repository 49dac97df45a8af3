/**
 * A service as the reconciler and the API share it: the stored ECS `Service` document, its
 * deployments, and its event log (newest first, at most 100, as ECS keeps them).
 */
import { randomInt, randomUUID } from "node:crypto";
import type { Deployment, Service, ServiceEvent } from "@aws-sdk/client-ecs";
import type { ServiceTable } from "../store/index.js";

const MAX_EVENTS = 100;

/** What Berth keeps beside the ECS shape (never shown to clients). */
export interface ServiceExtras {
  /** The task definition of the last deployment that COMPLETED: where a rollback goes. */
  lastCompletedTaskDefinition?: string;
  /** Tasks that failed in a row; spaces out further launches. */
  consecutiveFailures?: number;
  /** No launches before this time (epoch ms). */
  backoffUntil?: number;
  /** Whether the last pass found the service steady (events are written on change). */
  steady?: boolean;
}

export interface StoredService {
  service: Service;
  extras: ServiceExtras;
}

export function readService(
  row: Pick<ServiceTable, "document" | "status" | "desired_count">,
): StoredService {
  const stored = JSON.parse(row.document) as StoredService;
  const service = stored.service;
  if (service.createdAt !== undefined) service.createdAt = new Date(service.createdAt);
  service.deployments = (service.deployments ?? []).map(reviveDeployment);
  service.events = (service.events ?? []).map((e) => ({
    ...e,
    createdAt: new Date(e.createdAt ?? 0),
  }));
  service.status = row.status;
  service.desiredCount = row.desired_count;
  return { service, extras: stored.extras ?? {} };
}

function reviveDeployment(deployment: Deployment): Deployment {
  return {
    ...deployment,
    ...(deployment.createdAt === undefined ? {} : { createdAt: new Date(deployment.createdAt) }),
    ...(deployment.updatedAt === undefined ? {} : { updatedAt: new Date(deployment.updatedAt) }),
  };
}

export function writeService(stored: StoredService): string {
  return JSON.stringify(stored);
}

/** `ecs-svc/` and 19 digits, as ECS names deployments. */
export function newDeploymentId(): string {
  let digits = String(randomInt(1, 10));
  while (digits.length < 19) digits += String(randomInt(0, 10));
  return `ecs-svc/${digits}`;
}

export function addEvent(service: Service, message: string, at: Date): void {
  const event: ServiceEvent = { id: randomUUID(), createdAt: at, message };
  service.events = [event, ...(service.events ?? [])].slice(0, MAX_EVENTS);
}
