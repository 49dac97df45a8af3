/**
 * The tasks' CPU and memory as their agents sampled them from the tasks' cgroups: a short
 * series per task, in memory only (a restart of the server starts empty, as a fresh CloudWatch
 * metric would: the next samples fill it again). Bounded in time and in samples per task.
 */

export interface UsageSample {
  /** Epoch ms on the agent's clock. */
  at: number;
  /** Cumulative CPU time of the task's processes. */
  cpuNanos: number;
  memoryBytes: number;
}

/** A task's use over an interval: CPU in units (1024 = one vCPU busy), memory in MiB. */
export interface TaskUse {
  cpuUnits: number;
  memoryMiB: number;
}

const MAX_SAMPLES_PER_TASK = 600;

/** A container's series sits beside its task's, under this key. */
export const containerSeriesKey = (taskArn: string, container: string): string =>
  `${taskArn}#${container}`;
const MIB = 1024 * 1024;

export class UsageSeries {
  readonly #series = new Map<string, UsageSample[]>();

  /** `windowMs`: how far back samples are kept. */
  constructor(private readonly windowMs: number) {}

  record(taskArn: string, sample: UsageSample): void {
    let samples = this.#series.get(taskArn);
    if (samples === undefined) {
      samples = [];
      this.#series.set(taskArn, samples);
    }
    const last = samples[samples.length - 1];
    // A sample older than the last (a resend, a clock step) or a counter that went back is dropped.
    if (last !== undefined && (sample.at <= last.at || sample.cpuNanos < last.cpuNanos)) return;
    samples.push(sample);
    if (samples.length > MAX_SAMPLES_PER_TASK) samples.shift();
  }

  /** Drops samples older than the window, and tasks left with none. */
  prune(now: number): void {
    const cutoff = now - this.windowMs;
    for (const [taskArn, samples] of this.#series) {
      // Keep one sample before the cutoff: the base a rate over the window starts from.
      let drop = 0;
      while (drop + 1 < samples.length && (samples[drop + 1]?.at ?? 0) <= cutoff) drop++;
      samples.splice(0, drop);
      if ((samples[samples.length - 1]?.at ?? 0) <= cutoff) this.#series.delete(taskArn);
    }
  }

  tasks(): string[] {
    return [...this.#series.keys()];
  }

  /** The containers of a task that have a series. */
  containersOf(taskArn: string): string[] {
    const prefix = containerSeriesKey(taskArn, "");
    return [...this.#series.keys()]
      .filter((key) => key.startsWith(prefix))
      .map((key) => key.slice(prefix.length));
  }

  /**
   * The task's use over `(from, to]`: CPU as the rate between the last sample at or before
   * `from` (or the first after it) and the last at or before `to`; memory as the mean of the
   * samples in the interval. Undefined without two samples to take a rate from.
   */
  use(taskArn: string, from: number, to: number): TaskUse | undefined {
    const samples = this.#series.get(taskArn) ?? [];
    let base: UsageSample | undefined;
    let end: UsageSample | undefined;
    let memorySum = 0;
    let memoryCount = 0;
    for (const sample of samples) {
      if (sample.at > to) break;
      if (sample.at <= from || base === undefined) base = sample;
      if (sample.at > from) {
        memorySum += sample.memoryBytes;
        memoryCount++;
      }
      end = sample;
    }
    if (base === undefined || end === undefined || end.at <= base.at) return undefined;
    const cpuSecondsPerSecond = (end.cpuNanos - base.cpuNanos) / ((end.at - base.at) * 1e6);
    const memoryBytes = memoryCount > 0 ? memorySum / memoryCount : end.memoryBytes;
    return { cpuUnits: cpuSecondsPerSecond * 1024, memoryMiB: memoryBytes / MIB };
  }
}
