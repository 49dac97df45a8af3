/**
 * Serves a byte range of a blob with two reused buffers instead of a fresh buffer per chunk:
 * the next read fills one buffer while the socket drains the other. Allocating a new 1 MiB
 * buffer per chunk (what fs.createReadStream does) made GC a visible cost of large pulls.
 * Backpressure is the buffers themselves: a read waits until the socket gave one back.
 */
import { open } from "node:fs/promises";
import type { ServerResponse } from "node:http";

const CHUNK = 1024 * 1024;

export async function sendFile(
  path: string,
  res: ServerResponse,
  start: number,
  end: number,
): Promise<void> {
  const handle = await open(path, "r");
  try {
    const size = Math.min(CHUNK, end - start + 1);
    const free: Buffer[] = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
    let waiting: (() => void) | undefined;
    let failed = false;
    const wake = (): void => {
      const resume = waiting;
      waiting = undefined;
      resume?.();
    };
    const onClose = (): void => {
      failed = true;
      wake();
    };
    res.once("close", onClose);
    try {
      let position = start;
      while (position <= end && !failed) {
        if (free.length === 0) await new Promise<void>((resolve) => (waiting = resolve));
        const buffer = free.pop();
        if (buffer === undefined || failed) break;
        const want = Math.min(buffer.length, end - position + 1);
        const { bytesRead } = await handle.read(buffer, 0, want, position);
        if (bytesRead === 0) throw new Error(`${path} ended before its recorded size`);
        position += bytesRead;
        res.write(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead), (error) => {
          if (error) failed = true;
          free.push(buffer);
          wake();
        });
      }
    } finally {
      res.off("close", onClose);
    }
    if (failed) res.destroy();
    else res.end();
  } finally {
    await handle.close();
  }
}
