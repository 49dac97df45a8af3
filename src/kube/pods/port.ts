/** What the pod controller needs from the ECS task path (the composition root provides it). */
import type { RegisterTaskDefinitionRequest, Task } from "@aws-sdk/client-ecs";

export interface PodTaskPort {
  /** Fargate's sizes: CPU units -> the memory sizes (MiB) offered with it. */
  sizes: ReadonlyMap<number, readonly number[]>;
  /** Registers the pod's task definition and runs one task of it in the cluster's ECS cluster. */
  run(
    cluster: string,
    definition: RegisterTaskDefinitionRequest,
    options: { subnets: string[]; startedBy: string; group: string },
  ): Promise<{ taskArn: string } | { failure: string }>;
  stop(cluster: string, taskArn: string, reason: string): Promise<void>;
  /**
   * A task's container output from its host, as `openTaskLogs` streams it: "not-found" when
   * there is no such task, undefined when its host is not connected, else a cancel function.
   */
  logs(
    taskArn: string,
    request: { container: string; follow: boolean },
    onLines: (lines: { time: string; text: string }[], done: boolean, error?: string) => void,
  ): Promise<(() => void) | undefined | "not-found">;
  /**
   * Runs a command in a container of a task on its host, as `berth exec` does: "not-found" when
   * there is no such task, undefined when its host is not connected, else the session.
   */
  exec(
    taskArn: string,
    request: { container: string; command: string[]; tty: boolean; cols?: number; rows?: number },
    sink: {
      output(stream: "stdout" | "stderr", data: Buffer): void;
      exit(exitCode: number | undefined, error?: string): void;
    },
  ): Promise<PodExecSession | undefined | "not-found">;
  /** The tasks by ARN (missing ones are absent). */
  read(taskArns: string[]): Promise<Map<string, Task>>;
}

/** An exec session in a pod's task (the agent channel's). */
export interface PodExecSession {
  input(data: Buffer, eof?: boolean): void;
  resize(cols: number, rows: number): void;
  /** Kills the process; no `exit` follows. */
  cancel(): void;
}
