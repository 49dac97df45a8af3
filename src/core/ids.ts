/** Identifiers and ARNs in AWS's formats. */
import { randomFillSync, randomUUID } from "node:crypto";

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

/** `N` values of `T`, to destructure a checked match or split (`as Tuple<string, 5>`). */
export type Tuple<T, N extends number, Acc extends T[] = []> = Acc["length"] extends N
  ? Acc
  : Tuple<T, N, [...Acc, T]>;

export function parseArn(value: string): ParsedArn | undefined {
  const parts = value.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return undefined;
  const [, partition, service, region, accountId] = parts as Tuple<string, 5>;
  return { partition, service, region, accountId, resource: parts.slice(5).join(":") };
}

export function newRequestId(): string {
  return randomUUID();
}

/**
 * Random bytes for ids, drawn 4 KiB at a time: a `randomBytes` call per id was a system call
 * each (2% of the server's CPU profile in bench:placement, an id per task).
 */
const ID_BYTES = Buffer.alloc(4096);
let idBytesAt = ID_BYTES.length;

/** A 32-hex-character id, the shape ECS uses for task ids. */
export function newHexId(): string {
  if (idBytesAt + 16 > ID_BYTES.length) {
    randomFillSync(ID_BYTES);
    idBytesAt = 0;
  }
  idBytesAt += 16;
  return ID_BYTES.toString("hex", idBytesAt - 16, idBytesAt);
}
