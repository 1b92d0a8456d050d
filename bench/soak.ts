/**
 * `npm run soak`: the soak benchmark of RELIABILITY.md (not in the default test run). A learning
 * run (PPO leader and two PPO followers, each firm its own `stackelberg firm` process, market
 * `stackelberg market`, a local nats-server with the run's nkey auth, checkpoints every 100 rounds)
 * goes on for `--minutes` (default 10) while faults are injected:
 *   - every `--kill-every` seconds (default 60) a follower process is killed with SIGKILL and started
 *     again 2 s later with --resume (alternating between the two followers);
 *   - once, at half time, the nats-server is stopped (SIGTERM) and started again 3 s later on the
 *     same port and store.
 * At the end the market is stopped and the run's JetStream record is read: rounds lost (a round
 * number below the last one recorded that is missing) and rounds cleared twice must both be 0. The
 * resident memory (VmRSS) of the market, of the leader (never killed) and of the nats-server is
 * sampled every 5 s; growth = median of the last minute over the median of the minute after
 * warm-up (2 min; for the server, the minute after its restart). Results: `<out>/soak.json`, and the
 * table between the soak markers of RELIABILITY.md.
 *
 *   node dist/bench/soak.js [--minutes 10] [--kill-every 60] [--out runs/soak] [--no-write]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { pino } from "pino";
import { stringify } from "yaml";
import { connectAs } from "../services/auth/index.js";
import { loadExperiment } from "../services/config/index.js";
import { freePort } from "../services/launcher/nats-server.js";
import { startSecuredServer } from "../services/launcher/secured-server.js";
import { readRecord, roundIntegrity } from "../services/report/record.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const CLI = join(here, "..", "services", "cli", "main.js");
const ROOT = join(here, "..", "..");

export interface SoakResult {
  minutes: number;
  rounds: number;
  recorded: number;
  lost: number;
  clearedTwice: number;
  firmKills: number;
  firmRestarts: number;
  serverRestarts: number;
  resumedFromCheckpoint: number;
  absentRounds: number;
  rss: Record<string, { baselineMiB: number; finalMiB: number; growth: number }>;
  /** Every resident-memory sample (ms since the start, MiB), for a closer look. */
  samples: Record<string, { t: number; mib: number }[]>;
  crashes: string[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor(s.length / 2)] as number);
};

/** Resident memory of a process in MiB (Linux), or undefined when it is gone. */
function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface Proc {
  name: string;
  proc: ChildProcess;
  log: string;
}

export async function soak(o: { minutes: number; killEvery: number; out: string }): Promise<SoakResult> {
  const out = o.out;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "logs"), { recursive: true });
  const runId = "soak";
  const config = join(out, "soak.yaml");
  writeFileSync(
    config,
    stringify({
      name: "soak",
      seed: 1,
      market: {
        demand: { kind: "linear", a: 100, b: 1 },
        batch: 16,
        // More rounds than the soak can play: the soak stops the market itself.
        episodes: 10_000_000,
        quantityMax: 100,
        deadlineMs: 1000,
        maxMisses: 1_000_000,
      },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo", horizon: 4 } },
        { id: "follower-1", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo", horizon: 4 } },
        { id: "follower-2", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo", horizon: 4 } },
      ],
      training: { checkpointEvery: 100 },
    }),
  );
  const exp = loadExperiment(config);
  const port = await freePort();
  let server = await startSecuredServer(out, exp, runId, { port });
  const url = server.nats.url;
  const creds = server.auth;
  const common = ["--config", config, "--nats", url, "--run", runId, "--creds", creds];
  const procs = new Map<string, Proc>();
  const crashes: string[] = [];
  let stopping = false;
  const start = (name: string, args: string[]): Proc => {
    const log = join(out, "logs", `${name}.log`);
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "info" } });
    let text = readFileSafe(log); // a restarted firm's log goes on after its earlier lives' lines
    const append = (b: Buffer) => {
      text += b.toString();
    };
    p.stdout?.on("data", append);
    p.stderr?.on("data", append);
    const rec: Proc = { name, proc: p, log };
    p.once("exit", (code, signal) => {
      writeFileSync(log, text);
      if (!stopping && signal !== "SIGKILL" && procs.get(name) === rec) crashes.push(`${name} exited with ${signal ?? `code ${code}`}`);
    });
    const flush = setInterval(() => writeFileSync(log, text), 5000);
    flush.unref();
    p.once("exit", () => clearInterval(flush));
    procs.set(name, rec);
    return rec;
  };
  const firmArgs = (id: string, resume: boolean) => ["firm", ...common, "--firm", id, "--out", out, ...(resume ? ["--resume"] : [])];
  start("market", ["market", ...common]);
  for (const f of exp.firms) start(f.id, firmArgs(f.id, false));

  const t0 = Date.now();
  const endAt = t0 + o.minutes * 60_000;
  const samples: Record<string, { t: number; mib: number }[]> = { market: [], leader: [], "nats-server": [] };
  let serverRestartedAt = Number.POSITIVE_INFINITY;
  let firmKills = 0;
  let firmRestarts = 0;
  let serverRestarts = 0;
  let nextKill = t0 + o.killEvery * 1000;
  let victim = 0;
  let serverDone = false;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let lastSample = 0;
  while (Date.now() < endAt) {
    const now = Date.now();
    if (now - lastSample >= 5000) {
      lastSample = now;
      for (const [name, pid] of [
        ["market", procs.get("market")?.proc.pid],
        ["leader", procs.get("leader")?.proc.pid],
        ["nats-server", server.nats.process.pid],
      ] as const) {
        const mib = rssMiB(pid);
        if (mib !== undefined) samples[name]?.push({ t: now - t0, mib });
      }
      process.stderr.write(`soak: ${((now - t0) / 60_000).toFixed(1)} min, ${firmKills} firm kills, ${serverRestarts} server restarts\n`);
    }
    if (now >= nextKill) {
      const id = `follower-${1 + (victim++ % 2)}`;
      procs.get(id)?.proc.kill("SIGKILL");
      firmKills++;
      await sleep(2000);
      start(id, firmArgs(id, true));
      firmRestarts++;
      nextKill += o.killEvery * 1000;
    }
    if (!serverDone && now - t0 >= (o.minutes * 60_000) / 2 + 20_000) {
      serverDone = true;
      await server.nats.stop();
      await sleep(3000);
      server = await startSecuredServer(out, exp, runId, { port });
      serverRestarts++;
      serverRestartedAt = Date.now() - t0;
    }
    await sleep(200);
  }
  stopping = true;
  const market = procs.get("market");
  const marketExit = new Promise<void>((r) => (market?.proc.exitCode !== null ? r() : market.proc.once("exit", () => r())));
  market?.proc.kill("SIGTERM");
  await Promise.race([marketExit, sleep(15_000)]);
  // Read the record as the results reader does.
  const bus = await connectAs({ nats: url, creds }, runId, { role: "reader" }, "stk-soak-reader", pino({ level: "silent" }));
  const record = await readRecord(bus.nc, runId, { asReader: true });
  await bus.close();
  for (const p of procs.values()) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill("SIGKILL");
  await sleep(500);
  await server.nats.stop();

  // The run is stopped mid-way: its rounds are those up to the last one recorded.
  const rounds = record.reduce((m, oc) => Math.max(m, Number(oc.round ?? -1) + 1), 0);
  const { lost, clearedTwice: twice } = roundIntegrity(record, rounds);
  const warm = 120_000;
  const rss: SoakResult["rss"] = {};
  for (const [name, xs] of Object.entries(samples)) {
    const from = name === "nats-server" ? serverRestartedAt : warm;
    const base = median(xs.filter((s) => s.t >= from && s.t < from + 60_000).map((s) => s.mib));
    const last = median(xs.filter((s) => s.t >= o.minutes * 60_000 - 60_000).map((s) => s.mib));
    rss[name] = { baselineMiB: base, finalMiB: last, growth: last / base - 1 };
  }
  let resumed = 0;
  for (const f of ["follower-1", "follower-2"])
    resumed += readFileSafe(join(out, "logs", `${f}.log`))
      .split("\n")
      .filter((l) => l.includes('"policy resumed from checkpoint"') && l.includes('"loaded":true')).length;
  return {
    minutes: o.minutes,
    rounds,
    recorded: record.length,
    lost,
    clearedTwice: twice,
    firmKills,
    firmRestarts,
    serverRestarts,
    resumedFromCheckpoint: resumed,
    absentRounds: record.filter((oc) => (oc.absent ?? []).some(Boolean)).length,
    rss,
    samples,
    crashes,
  };
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

export function renderSoak(r: SoakResult, command: string): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return [
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC with \`${command}\`:`,
    "",
    "| figure | value |",
    "|---|---|",
    `| duration | ${r.minutes} min |`,
    `| rounds cleared / recorded | ${r.rounds} / ${r.recorded} |`,
    `| rounds lost | ${r.lost} |`,
    `| rounds cleared twice | ${r.clearedTwice} |`,
    `| firm processes killed (SIGKILL) / restarted | ${r.firmKills} / ${r.firmRestarts} |`,
    `| restarts that reloaded a checkpoint | ${r.resumedFromCheckpoint} |`,
    `| nats-server restarts | ${r.serverRestarts} |`,
    `| rounds where a firm got the default action | ${r.absentRounds} |`,
    `| unexpected process exits | ${r.crashes.length === 0 ? "none" : r.crashes.join("; ")} |`,
    ...Object.entries(r.rss).map(
      ([n, m]) => `| resident memory, ${n} (after warm-up -> last minute) | ${m.baselineMiB.toFixed(1)} MiB -> ${m.finalMiB.toFixed(1)} MiB (${pct(m.growth)}) |`,
    ),
  ].join("\n");
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string, dflt: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? (argv[i + 1] as string) : dflt;
  };
  const minutes = Number(opt("minutes", "10"));
  const killEvery = Number(opt("kill-every", "60"));
  if (!(minutes >= 3) || !(killEvery >= 10)) throw new Error("--minutes must be >= 3 and --kill-every >= 10");
  const out = opt("out", join(ROOT, "runs", "soak"));
  const r = await soak({ minutes, killEvery, out });
  writeFileSync(join(out, "soak.json"), `${JSON.stringify(r, null, 2)}\n`);
  const text = renderSoak(r, `npm run soak -- --minutes ${minutes} --kill-every ${killEvery}`);
  process.stdout.write(`${text}\n`);
  const file = join(ROOT, "RELIABILITY.md");
  const begin = "<!-- soak: generated by npm run soak -->";
  const end = "<!-- end soak -->";
  if (!argv.includes("--no-write") && existsSync(file)) {
    const doc = readFileSync(file, "utf8");
    const i = doc.indexOf(begin);
    const j = doc.indexOf(end);
    if (i >= 0 && j > i) writeFileSync(file, `${doc.slice(0, i + begin.length)}\n${text}\n${doc.slice(j)}`);
  }
  const failed = r.lost > 0 || r.clearedTwice > 0 || r.crashes.length > 0 || Object.values(r.rss).some((m) => !(m.growth < 0.2));
  if (failed) {
    process.stderr.write("soak: a target was missed (rounds lost or cleared twice, a crash, or memory growth >= 20%)\n");
    process.exitCode = 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
