/**
 * Scale: the round rate and the market's CPU per round at 10, 50, 200 and 1000 firms (1 leader and
 * fixed-quantity followers, B = 16, one-round episodes, JetStream recording on). The firms run in
 * `stackelberg firm` host processes (several firms each, as `stackelberg run` packs them); the
 * market runs in this process, so its CPU per round is `process.cpuUsage()` over the rounds after
 * the warm-up (this process does nothing else meanwhile); the firm hosts' and nats-server's CPU
 * come from /proc. Each size is measured twice, back to back: with compact move requests (what
 * the framework does) and with named ones (the baseline: every move request names its tier's firms). `scaleSection(url)` returns the
 * BENCHMARKS.md section; run this file alone (`node dist/bench/scale.js`) to print just that
 * section (it starts its own nats-server).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
  /**
   * CPU per round of every process of the run (market, firm hosts, nats-server), in ms; from
   * /proc, undefined elsewhere. Unlike wall time it does not grow with other load on the machine.
   */
  totalCpuMs: number | undefined;
  /** Rounds in which some firm was absent (must be 0: every firm acts every round). */
  absences: number;
}

/** Clock ticks per second of /proc's CPU times. */
const ticks = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) of process `pid` so far in ms, from /proc; undefined without it. */
function procCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticks;
  } catch {
    return undefined;
  }
}

/** Rounds measured at `firms` firms: enough for a few seconds of play at each size. */
function roundsFor(firms: number): number {
  const scale = Number(process.env.BENCH_SCALE_WORK ?? 30_000);
  return Math.max(150, Math.round(scale / firms));
}

/**
 * Runs 1 leader + (firms - 1) fixed followers over `hosts` firm processes, the market in this
 * process; `named`: move requests name every firm (the baseline, see MarketServiceOptions.alwaysNameFirms).
 */
export async function measureScale(url: string, firms: number, hosts: number, B = 16, named = false, serverPid?: number): Promise<ScalePoint> {
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
  const runId = `bench-scale-${firms}-${named ? "named" : "compact"}-${process.pid}`;
  const flags = { nats: url, insecure: true };
  const log = pino({ level: "silent" });
  const bus = await connectAs(flags, runId, { role: "market" }, `stk-market-${runId}`, log);
  const procs: ReturnType<typeof spawn>[] = [];
  try {
    const jsm = await bus.jetstreamManager();
    await ensureRecordStream(jsm, runId);
    let mark: { cpu: NodeJS.CpuUsage; t: number; others: number | undefined } | undefined;
    let end: { cpu: NodeJS.CpuUsage; t: number; others: number | undefined } | undefined;
    // The firm hosts' and the server's CPU so far (undefined when some figure is missing).
    const others = () => {
      const xs = [...procs.map((p) => procCpuMs(p.pid)), procCpuMs(serverPid)];
      return xs.some((x) => x === undefined) ? undefined : xs.reduce<number>((a, x) => a + (x as number), 0);
    };
    let absences = 0;
    const market = new MarketService({
      bus,
      experiment: exp,
      runId,
      logger: log,
      alwaysNameFirms: named,
      onCleared: (r) => {
        if ((r.outcome.absent ?? []).some(Boolean)) absences++;
        if (r.round === warmup) mark = { cpu: process.cpuUsage(), t: performance.now(), others: others() };
        if (r.round === rounds - 1) end = { cpu: process.cpuUsage(), t: performance.now(), others: others() };
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
      totalCpuMs: end.others !== undefined && mark.others !== undefined ? (cpuMs + end.others - mark.others) / n : undefined,
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

/** The BENCHMARKS.md section on scale (runs on `url`, a server without auth, whose process is `serverPid`). */
export async function scaleSection(url: string, serverPid?: number): Promise<string[]> {
  const sizes = (process.env.BENCH_SCALE_FIRMS ?? "10,50,200,1000").split(",").map(Number);
  const hosts = Number(process.env.BENCH_SCALE_HOSTS ?? 4);
  const compact: ScalePoint[] = [];
  const named: ScalePoint[] = [];
  for (const f of sizes) {
    // Back to back at each size: this machine's speed drifts over minutes.
    const c = await measureScale(url, f, Math.min(hosts, f), 16, false, serverPid);
    const n = await measureScale(url, f, Math.min(hosts, f), 16, true, serverPid);
    process.stdout.write(`scale ${f} firms: compact ${JSON.stringify(c)}; named ${JSON.stringify(n)}\n`);
    compact.push(c);
    named.push(n);
  }
  const wall = (p: ScalePoint) => 1000 / p.roundsPerSecond;
  const cpu = (p: ScalePoint) => p.marketCpuMs;
  const all = (p: ScalePoint) => p.totalCpuMs ?? Number.NaN;
  const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "-");
  const out: string[] = [];
  out.push(`\n## Scale (1 leader + fixed followers, B = 16)\n`);
  out.push(
    `Rounds/s and CPU per round against the number of firms: 1 leader and fixed-quantity followers, B = 16, one-round episodes, JetStream recording on, the firms packed into ${hosts} \`stackelberg firm\` host processes (as \`stackelberg run\` packs them), the market in the benchmark's process, nats-server without auth, all on the same ${cpus().length} cores (shared with other work: wall time per round grows with that load, CPU time much less). Market CPU: \`process.cpuUsage()\` of the market's process; all processes: that plus the firm hosts' and nats-server's CPU from /proc; both per round over the rounds after the first third. **compact**: what the framework does (every firm announces \`compact-move\`, so move requests carry no firm ids); **named** (baseline, measured back to back with it): the market names every firm of the tier in each move request, as it must for a client without \`compact-move\`, so each of F firms decodes F ids a round. Growth exponent: ln(cost ratio) / ln(firm ratio) between consecutive sizes (1 = linear in the number of firms, 2 = quadratic).\n`,
  );
  out.push(
    "| firms | rounds (warm-up) | rounds/s | wall ms per round | market CPU ms per round | all processes' CPU ms per round | exponent: market CPU | exponent: all CPU | exponent: wall | named: rounds/s | named: all CPU ms per round | named exponent: all CPU | rounds with an absent firm |",
  );
  out.push("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  compact.forEach((p, i) => {
    const n = named[i] as ScalePoint;
    const e = (xs: ScalePoint[], cost: (q: ScalePoint) => number) => {
      const prev = xs[i - 1];
      const v = prev ? exponent(prev, xs[i] as ScalePoint, cost) : Number.NaN;
      return Number.isFinite(v) ? v.toFixed(2) : "-";
    };
    out.push(
      `| ${p.firms} | ${p.rounds} (${p.warmup}) | ${p.roundsPerSecond.toFixed(1)} | ${ms(wall(p))} | ${cpu(p).toFixed(3)} | ${ms(all(p))} | ${e(compact, cpu)} | ${e(compact, all)} | ${e(compact, wall)} | ${n.roundsPerSecond.toFixed(1)} | ${ms(all(n))} | ${e(named, all)} | ${p.absences + n.absences} |`,
    );
  });
  const first = compact[0];
  const last = compact[compact.length - 1];
  const lastNamed = named[named.length - 1];
  if (first && last && lastNamed && first !== last) {
    const x = (cost: (q: ScalePoint) => number, a: ScalePoint, b: ScalePoint) =>
      `x${(cost(b) / cost(a)).toFixed(1)} (exponent ${exponent(a, b, cost).toFixed(2)})`;
    out.push(
      `\nFrom ${first.firms} to ${last.firms} firms (x${(last.firms / first.firms).toFixed(0)}), compact: market CPU per round ${x(cpu, first, last)}, all processes' CPU per round ${x(all, first, last)}, wall time per round ${x(wall, first, last)}. At ${last.firms} firms the named baseline costs ${(all(lastNamed) / all(last)).toFixed(1)}x the CPU per round of compact move requests and runs at ${(lastNamed.roundsPerSecond / last.roundsPerSecond).toFixed(2)}x their rounds/s.`,
    );
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const nats = await startNatsServer();
  try {
    process.stdout.write(`${(await scaleSection(nats.url, nats.process.pid)).join("\n")}\n`);
  } finally {
    await nats.stop();
  }
}
