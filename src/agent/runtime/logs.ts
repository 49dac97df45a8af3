/**
 * Reads a container's log as conmon writes it (k8s-file format: one record a line,
 * `<RFC3339Nano time> <stdout|stderr> <P|F> <text>`, where P marks a partial line that the
 * next record of the same stream continues). Follow mode tails the file until the container
 * has exited and everything written is read.
 */
import { open, type FileHandle } from "node:fs/promises";
import { watch } from "node:fs";
import type { LogLine } from "./types.js";

const RECORD = /^(\S+) (stdout|stderr) ([PF]) ?(.*)$/;

/** Parses records into lines, joining partials per stream. */
export class LogParser {
  private readonly partial = { stdout: "", stderr: "" };
  /** When each stream's pending partial line began. */
  private readonly partialTime = { stdout: "", stderr: "" };
  private rest = "";

  push(chunk: string): LogLine[] {
    const text = this.rest + chunk;
    const records = text.split("\n");
    this.rest = records.pop() ?? "";
    const out: LogLine[] = [];
    for (const record of records) {
      const match = RECORD.exec(record);
      if (!match) continue;
      const [, time = "", streamName, tag, body = ""] = match;
      const stream = streamName === "stderr" ? "stderr" : "stdout";
      if (tag === "P") {
        if (this.partial[stream] === "") this.partialTime[stream] = time;
        this.partial[stream] += body;
        continue;
      }
      out.push({ stream, time, text: this.partial[stream] + body });
      this.partial[stream] = "";
    }
    return out;
  }

  /** Once the writer is done: a last line that never got its newline, per stream. */
  end(): LogLine[] {
    const out: LogLine[] = [];
    for (const stream of ["stdout", "stderr"] as const) {
      const text = this.partial[stream];
      if (text !== "") out.push({ stream, time: this.partialTime[stream], text });
      this.partial[stream] = "";
    }
    return out;
  }
}

export interface TailOptions {
  follow: boolean;
  signal?: AbortSignal;
  /** True once the writer is done (the container exited and its monitor drained stdio). */
  finished: () => Promise<boolean>;
}

export async function* readLogFile(path: string, options: TailOptions): AsyncGenerator<LogLine> {
  const parser = new LogParser();
  let handle: FileHandle | undefined;
  let position = 0;
  const buffer = Buffer.alloc(64 * 1024);
  try {
    for (;;) {
      if (options.signal?.aborted) return;
      if (!handle) handle = await open(path, "r").catch(() => undefined);
      let read = 0;
      if (handle) {
        ({ bytesRead: read } = await handle.read(buffer, 0, buffer.length, position));
        position += read;
        for (const line of parser.push(buffer.subarray(0, read).toString("utf8"))) yield line;
      }
      if (read > 0) continue;
      if (!options.follow) {
        if (await options.finished()) yield* parser.end();
        return;
      }
      // Check "finished" before the last read so nothing written before the exit is lost.
      if (await options.finished()) {
        if (!handle) return;
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) {
          yield* parser.end();
          return;
        }
        position += bytesRead;
        for (const line of parser.push(buffer.subarray(0, bytesRead).toString("utf8"))) yield line;
        continue;
      }
      await waitForChange(path, options.signal);
    }
  } finally {
    await handle?.close();
  }
}

/** Resolves on the next change of the file (or its dir), or after a short poll interval. */
function waitForChange(path: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let watcher: ReturnType<typeof watch> | undefined;
    const done = (): void => {
      clearTimeout(timer);
      watcher?.close();
      signal?.removeEventListener("abort", done);
      resolve();
    };
    // The poll covers what inotify misses (the file not there yet, exits seen elsewhere).
    const timer = setTimeout(done, 250);
    try {
      watcher = watch(path, done);
      watcher.on("error", done);
    } catch {
      // not created yet: the timer polls
    }
    signal?.addEventListener("abort", done);
  });
}
