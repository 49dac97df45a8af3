/**
 * `npm run bench:registry`: Berth's registry against Debian's docker-registry (the Go reference
 * implementation) on loopback, in one run, with the same images and the same clients:
 *   (a) one 256 MiB layer, (b) 200 layers of 64 KiB, (c) 50 clients pushing 1 MiB at once,
 * with skopeo, then the 256 MiB blob with curl (the raw HTTP client), beside this machine's
 * physical limits: its single-core sha256 rate and its disk write rate. Each figure is the
 * median of RUNS runs; each run uses fresh random bytes so neither side can skip work.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { closeSync, fsyncSync, openSync, rmSync, writeSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBerth, startGoRegistry, type Peer } from "./peers.js";
import { randomLayout, rawDownload, rawUpload, skopeoPull, skopeoPush } from "./workloads.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MiB = 1024 * 1024;
const BIG = 256 * MiB;

interface Row {
  name: string;
  /** Bytes moved per measurement, to turn seconds into MB/s; undefined for pure timings. */
  bytes?: number;
  berth: number[];
  go: number[];
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

function mbps(bytes: number, seconds: number): number {
  return bytes / 1e6 / seconds;
}

function show(row: Row): string {
  const berth = median(row.berth);
  const go = median(row.go);
  const cell = (s: number) =>
    row.bytes === undefined
      ? `${s.toFixed(2)} s`
      : `${s.toFixed(2)} s ${mbps(row.bytes, s).toFixed(0).padStart(5)} MB/s`;
  // Ratio > 1 means Berth is faster: the Go registry's time over Berth's.
  const ratio = go / berth;
  return `${row.name.padEnd(44)} ${cell(berth).padStart(20)} ${cell(go).padStart(20)} ${ratio.toFixed(2).padStart(6)}`;
}

/**
 * Flushes every dirty page before a measurement: the Go registry never fsyncs, so without this
 * its writes (and the benchmark's own files) would be flushed during the next measurement.
 */
function settle(): void {
  spawnSync("sync");
}

/** Runs `work` for each peer in `order`, each after `settle()`, pushing its time to `row`. */
async function measure(
  row: Row,
  order: Array<[keyof Pick<Row, "berth" | "go">, Peer]>,
  work: (peer: Peer) => Promise<number>,
): Promise<void> {
  for (const [key, peer] of order) {
    settle();
    row[key].push(await work(peer));
  }
}

function sha256Rate(): number {
  const buffer = randomFillSync(Buffer.allocUnsafe(BIG));
  const started = performance.now();
  const hash = createHash("sha256");
  for (let offset = 0; offset < buffer.length; offset += MiB)
    hash.update(buffer.subarray(offset, offset + MiB));
  hash.digest();
  return mbps(BIG, (performance.now() - started) / 1000);
}

function diskWriteRate(): number {
  const file = join(tmpdir(), `berth-bench-disk-${process.pid}`);
  const chunk = randomFillSync(Buffer.allocUnsafe(4 * MiB));
  const started = performance.now();
  const fd = openSync(file, "w");
  for (let written = 0; written < BIG; written += chunk.length) writeSync(fd, chunk);
  fsyncSync(fd);
  closeSync(fd);
  const rate = mbps(BIG, (performance.now() - started) / 1000);
  rmSync(file, { force: true });
  return rate;
}

function peakRss(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return /VmHWM:\s+(\d+ kB)/.exec(status)?.[1] ?? "?";
  } catch {
    return "?";
  }
}

async function main(): Promise<void> {
  const berth = await startBerth();
  const go = await startGoRegistry();
  const peers: Array<[keyof Pick<Row, "berth" | "go">, Peer]> = [
    ["berth", berth],
    ["go", go],
  ];
  const rows: Row[] = [];
  const row = (name: string, bytes?: number): Row => {
    const made: Row = { name, bytes, berth: [], go: [] };
    rows.push(made);
    return made;
  };
  try {
    const bigPush = row("(a) skopeo push, one 256 MiB layer", BIG);
    const bigPull = row("(a) skopeo pull, one 256 MiB layer", BIG);
    const manyPush = row("(b) skopeo push, 200 layers of 64 KiB", 200 * 64 * 1024);
    const manyPull = row("(b) skopeo pull, 200 layers of 64 KiB", 200 * 64 * 1024);
    const crowd = row("(c) 50 skopeo clients push 1 MiB each at once", 50 * MiB);
    const rawUp = row("raw HTTP (curl) upload, 256 MiB blob", BIG);
    const rawDown = row("raw HTTP (curl) download, 256 MiB blob", BIG);

    for (let i = 0; i < RUNS; i++) {
      // Alternate who goes first, so page cache and CPU frequency favour neither.
      const order = i % 2 === 0 ? peers : [...peers].reverse();
      const big = randomLayout(1, BIG);
      await measure(bigPush, order, (peer) => skopeoPush(peer, big, `big${i}`));
      await measure(bigPull, order, (peer) => skopeoPull(peer, `big${i}`));
      big.remove();

      const many = randomLayout(200, 64 * 1024);
      await measure(manyPush, order, (peer) => skopeoPush(peer, many, `many${i}`));
      await measure(manyPull, order, (peer) => skopeoPull(peer, `many${i}`));
      many.remove();

      const small = Array.from({ length: 50 }, () => randomLayout(1, MiB));
      await measure(crowd, order, async (peer) => {
        const started = performance.now();
        await Promise.all(small.map((layout, n) => skopeoPush(peer, layout, `crowd${i}-${n}`)));
        return (performance.now() - started) / 1000;
      });
      for (const layout of small) layout.remove();

      const file = join(tmpdir(), `berth-bench-blob-${process.pid}`);
      const bytes = randomFillSync(Buffer.allocUnsafe(BIG));
      const fd = openSync(file, "w");
      writeSync(fd, bytes);
      closeSync(fd);
      const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      for (const [key, peer] of order)
        rawUp[key].push(await rawUpload(peer, `raw${i}`, file, digest));
      for (const [key, peer] of order)
        rawDown[key].push(await rawDownload(peer, `raw${i}`, digest));
      rmSync(file, { force: true });
      process.stderr.write(`run ${i + 1}/${RUNS} done\n`);
    }

    settle();
    const hashRate = sha256Rate();
    settle();
    const diskRate = diskWriteRate();
    const header = `${"row (median of " + RUNS + " runs)".padEnd(44)} ${"Berth".padStart(20)} ${"Go registry".padStart(20)} ${"ratio".padStart(6)}`;
    const lines = [header, "-".repeat(header.length), ...rows.map(show), ""];
    const upload = mbps(BIG, median(rawUp.berth));
    lines.push(
      `physical limits: single-core sha256 ${hashRate.toFixed(0)} MB/s, disk write (fsync) ${diskRate.toFixed(0)} MB/s`,
      `Berth raw upload is ${((upload / hashRate) * 100).toFixed(0)}% of the sha256 rate; ratio = Go time / Berth time (> 1: Berth faster)`,
      `peak RSS after the run: Berth ${peakRss(berth.pid)}, Go registry ${peakRss(go.pid)}`,
    );
    process.stdout.write(lines.join("\n") + "\n");
  } finally {
    await berth.stop();
    await go.stop();
  }
}

await main();
