/** Identifiers and ARNs in AWS's formats. */
import { randomBytes, randomUUID } from "node:crypto";

export interface Identity {
  accountId: string;
  region: string;
}

/** `arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE`. */
export function arn(identity: Identity, service: string, resource: string): string {
  return `arn:aws:${service}:${identity.region}:${identity.accountId}:${resource}`;
}

export interface ParsedArn {
  partition: string;
  service: string;
  region: string;
  accountId: string;
  resource: string;
}

export function parseArn(value: string): ParsedArn | undefined {
  const parts = value.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return undefined;
  const [, partition, service, region, accountId] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  return { partition, service, region, accountId, resource: parts.slice(5).join(":") };
}

export function newRequestId(): string {
  return randomUUID();
}

/** A 32-hex-character id, the shape ECS uses for task ids. */
export function newHexId(): string {
  return randomBytes(16).toString("hex");
}
