/**
 * Scale: the round rate and the market's CPU per round at 10, 50, 200 and 1000 firms (1 leader and
 * fixed-quantity followers, B = 16, one-round episodes, JetStream recording on). The firms run in
 * `stackelberg firm` host processes (several firms each, as `stackelberg run` packs them); the
 * market runs in this process, so its CPU per round is `process.cpuUsage()` over the rounds after
 * the warm-up (this process does nothing else meanwhile). `scaleSection(url)` returns the
 * BENCHMARKS.md section; run this file alone (`node dist/bench/scale.js`) to print just that
 * section (it starts its own nats-server).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { pino } from "pino";
import { stringify } from "yaml";
import { MarketService } from "../market/service/index.js";
import { connectAs } from "../services/auth/index.js";
import { runSubjects } from "../services/bus/index.js";
import { loadExperiment } from "../services/config/index.js";
import { startNatsServer } from "../services/launcher/nats-server.js";
import { ensureRecordStream } from "../services/report/record.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const CLI = join(here, "..", "services", "cli", "main.js");

/** One size's figures. */
export interface ScalePoint {
  firms: number;
  hosts: number;
  rounds: number;
  warmup: number;
  roundsPerSecond: number;
  /** The market process's CPU (user + system) per round after the warm-up, in ms. */
  marketCpuMs: number;
  /** Rounds in which some firm was absent (must be 0: every firm acts every round). */
  absences: number;
}

/** Rounds measured at `firms` firms: enough for a few seconds of play at each size. */
function roundsFor(firms: number): number {
  const scale = Number(process.env.BENCH_SCALE_WORK ?? 30_000);
  return Math.max(150, Math.round(scale / firms));
}

/** Runs 1 leader + (firms - 1) fixed followers over `hosts` firm processes; the market in this process. */
export async function measureScale(url: string, firms: number, hosts: number, B = 16): Promise<ScalePoint> {
  const rounds = roundsFor(firms);
  const warmup = Math.floor(rounds / 3);
  const dir = mkdtempSync(join(tmpdir(), "stk-bench-scale-"));
  const file = join(dir, "scale.yaml");
  const width = String(firms).length;
  const ids = ["leader", ...Array.from({ length: firms - 1 }, (_, i) => `f${String(i).padStart(width, "0")}`)];
  writeFileSync(
    file,
    stringify({
      name: `bench-scale-${firms}`,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: B, episodes: rounds, quantityMax: 100, deadlineMs: 30_000 },
      firms: ids.map((id, i) =>
        i === 0
          ? { id, role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 45 } }
          : { id, role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 22.5 / firms } },
      ),
    }),
  );
  const exp = loadExperiment(file);
  const runId = `bench-scale-${firms}-${process.pid}`;
  const flags = { nats: url, insecure: true };
  const log = pino({ level: "silent" });
  const bus = await connectAs(flags, runId, { role: "market" }, `stk-market-${runId}`, log);
  const procs: ReturnType<typeof spawn>[] = [];
  try {
    const jsm = await bus.jetstreamManager();
    await ensureRecordStream(jsm, runId);
    let mark: { cpu: NodeJS.CpuUsage; t: number } | undefined;
    let end: { cpu: NodeJS.CpuUsage; t: number } | undefined;
    let absences = 0;
    const market = new MarketService({
      bus,
      experiment: exp,
      runId,
      logger: log,
      onCleared: (r) => {
        if ((r.outcome.absent ?? []).some(Boolean)) absences++;
        if (r.round === warmup) mark = { cpu: process.cpuUsage(), t: performance.now() };
        if (r.round === rounds - 1) end = { cpu: process.cpuUsage(), t: performance.now() };
      },
    });
    const done = market.run();
    // Firms split over the host processes in contiguous runs of ids, as the launcher packs them.
    const per = Math.ceil(ids.length / hosts);
    const exits: Promise<void>[] = [];
    // BENCH_SCALE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the firm hosts.
    const nodeArgs = (process.env.BENCH_SCALE_NODE_ARGS ?? "").split(" ").filter(Boolean);
    for (let h = 0; h < hosts; h++) {
      const mine = ids.slice(h * per, (h + 1) * per);
      if (mine.length === 0) continue;
      const p = spawn(
        process.execPath,
        [...nodeArgs, CLI, "firm", "--config", file, "--nats", url, "--run", runId, "--insecure", "--firm", mine.join(",")],
        { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LOG_LEVEL: "error", LOG_FORMAT: "json" } },
      );
      let err = "";
      p.stderr?.on("data", (b: Buffer) => {
        err = (err + b.toString()).slice(-2000);
      });
      procs.push(p);
      exits.push(
        new Promise((res, rej) =>
          p.once("exit", (code) => (code === 0 ? res() : rej(new Error(`firm host ${h} exited ${code}: ${err}`)))),
        ),
      );
    }
    await Promise.all([done, ...exits]);
    await jsm.streams.delete(runSubjects(runId).stream);
    if (!mark || !end) throw new Error(`the market did not clear rounds ${warmup} and ${rounds - 1}`);
    const n = rounds - 1 - warmup;
    const cpuMs = (end.cpu.user + end.cpu.system - mark.cpu.user - mark.cpu.system) / 1000;
    return {
      firms,
      hosts,
      rounds,
      warmup,
      roundsPerSecond: n / ((end.t - mark.t) / 1000),
      marketCpuMs: cpuMs / n,
      absences,
    };
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGTERM");
    await bus.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ln(cost ratio) / ln(firm ratio): 1 is linear growth, 2 quadratic. */
function exponent(a: ScalePoint, b: ScalePoint, cost: (p: ScalePoint) => number): number {
  return Math.log(cost(b) / cost(a)) / Math.log(b.firms / a.firms);
}

/** The BENCHMARKS.md section on scale (runs on `url`, a server without auth). */
export async function scaleSection(url: string): Promise<string[]> {
  const sizes = (process.env.BENCH_SCALE_FIRMS ?? "10,50,200,1000").split(",").map(Number);
  const hosts = Number(process.env.BENCH_SCALE_HOSTS ?? 4);
  const points: ScalePoint[] = [];
  for (const f of sizes) {
    const p = await measureScale(url, f, Math.min(hosts, f));
    process.stdout.write(`scale ${f} firms: ${JSON.stringify(p)}\n`);
    points.push(p);
  }
  const wall = (p: ScalePoint) => 1000 / p.roundsPerSecond;
  const out: string[] = [];
  out.push(`\n## Scale (1 leader + fixed followers, B = 16)\n`);
  out.push(
    `Rounds/s and the market's CPU per round against the number of firms: 1 leader and fixed-quantity followers, B = 16, one-round episodes, JetStream recording on, the firms packed into ${hosts} \`stackelberg firm\` host processes, the market in the benchmark's process (its CPU per round is \`process.cpuUsage()\` over the rounds after the first third), nats-server without auth, all on the same ${cpus().length} cores. Growth exponent: ln(cost ratio) / ln(firm ratio) between consecutive sizes (1 = linear in the number of firms, 2 = quadratic); the wall-clock cost per round also includes the firm hosts and nats-server, which share the cores.\n`,
  );
  out.push("| firms | host processes | rounds (warm-up) | rounds/s | ms per round | market CPU ms per round | exponent: market CPU | exponent: ms per round | rounds with an absent firm |");
  out.push("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  points.forEach((p, i) => {
    const prev = points[i - 1];
    const e = (cost: (q: ScalePoint) => number) => (prev ? exponent(prev, p, cost).toFixed(2) : "-");
    out.push(
      `| ${p.firms} | ${p.hosts} | ${p.rounds} (${p.warmup}) | ${p.roundsPerSecond.toFixed(1)} | ${wall(p).toFixed(2)} | ${p.marketCpuMs.toFixed(3)} | ${e((q) => q.marketCpuMs)} | ${e(wall)} | ${p.absences} |`,
    );
  });
  const first = points[0];
  const last = points[points.length - 1];
  if (first && last && first !== last)
    out.push(
      `\nFrom ${first.firms} to ${last.firms} firms (x${(last.firms / first.firms).toFixed(0)}): market CPU per round x${(last.marketCpuMs / first.marketCpuMs).toFixed(1)} (exponent ${exponent(first, last, (q) => q.marketCpuMs).toFixed(2)}), wall time per round x${(wall(last) / wall(first)).toFixed(1)} (exponent ${exponent(first, last, wall).toFixed(2)}).`,
    );
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const nats = await startNatsServer();
  try {
    process.stdout.write(`${(await scaleSection(nats.url)).join("\n")}\n`);
  } finally {
    await nats.stop();
  }
}
