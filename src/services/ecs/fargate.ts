/**
 * Fargate task sizes: how ECS reads `cpu` and `memory` ("1 vCPU", "2 GB" or plain units and
 * MiB) and which combinations exist (the table is Fargate's published one), and the range of
 * ephemeral storage.
 */
import { clientException } from "./errors.js";

/** CPU units -> the memory sizes (MiB) Fargate offers with it. */
export const FARGATE_SIZES: ReadonlyMap<number, readonly number[]> = new Map([
  [256, [512, 1024, 2048]],
  [512, steps(1024, 4096, 1024)],
  [1024, steps(2048, 8192, 1024)],
  [2048, steps(4096, 16384, 1024)],
  [4096, steps(8192, 30720, 1024)],
  [8192, steps(16384, 61440, 4096)],
  [16384, steps(32768, 122880, 8192)],
]);

function steps(from: number, to: number, by: number): number[] {
  const sizes: number[] = [];
  for (let size = from; size <= to; size += by) sizes.push(size);
  return sizes;
}

/** "256", "0.25 vCPU", "1 vcpu" -> CPU units; undefined when it is none of these. */
export function parseCpu(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$/i.exec(value);
  if (match === null) return undefined;
  const amount = Number(match[1]);
  const units = match[2] === undefined ? amount : amount * 1024;
  return Number.isInteger(units) && units > 0 ? units : undefined;
}

/** "512", "1 GB", "0.5gb" -> MiB; undefined when it is none of these. */
export function parseMemory(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(gb|mb|mib|gib)?\s*$/i.exec(value);
  if (match === null) return undefined;
  const amount = Number(match[1]);
  const unit = match[2]?.toLowerCase();
  const mib = unit === "gb" || unit === "gib" ? amount * 1024 : amount;
  return Number.isInteger(mib) && mib > 0 ? mib : undefined;
}

export type FargateSizeCheck =
  { ok: true; cpu: number; memory: number } | { ok: false; problem: "cpu" | "combination" };

export function checkFargateSize(
  cpu: number | undefined,
  memory: number | undefined,
): FargateSizeCheck {
  const sizes = cpu === undefined ? undefined : FARGATE_SIZES.get(cpu);
  if (cpu === undefined || sizes === undefined) return { ok: false, problem: "cpu" };
  if (memory === undefined || !sizes.includes(memory)) return { ok: false, problem: "combination" };
  return { ok: true, cpu, memory };
}

/** Ephemeral storage in a task definition or a RunTask override: 21..200 GiB when given. */
export function checkEphemeralStorage(sizeInGiB: number | undefined): void {
  if (sizeInGiB !== undefined && sizeInGiB < 21)
    throw clientException("EphemeralStorage size should be at least 21");
  if (sizeInGiB !== undefined && sizeInGiB > 200)
    throw clientException("EphemeralStorage size should be at most 200");
}
