/**
 * `npm run bench`: round rate of the framework (1 leader + 1 follower, fixed policies, each in its
 * own process, JetStream recording on) at B = 1 and B = 1024, next to the messaging floor measured
 * in the same run on the same nats-server; PPO training throughput at B = 4096 against raw TF.js
 * (bench/training.ts) and in a run, with the acting thread's wait; the economics kernels
 * (bench/economics.ts); rounds/s and the market's CPU per round at 10 to 1000 firms (bench/scale.ts).
 * Figures are printed and written to BENCHMARKS.md.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { stringify } from "yaml";
import { encode, runSubjects } from "../services/bus/index.js";
import { startNatsServer } from "../services/launcher/nats-server.js";
import { readStats } from "../services/report/record.js";
import { economicsSection } from "./economics.js";
import { reportSection } from "./report.js";
import { scaleSection } from "./scale.js";
import { measureTraining } from "./training.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const CLI = join(here, "..", "services", "cli", "main.js");
const ROOT = join(here, "..", "..");

function run(cmd: string[], onLine?: (l: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, cmd, {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, LOG_LEVEL: "warn", LOG_FORMAT: "json" },
    });
    let out = "";
    p.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (onLine) for (const l of b.toString().split("\n")) if (l) onLine(l);
    });
    p.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd.join(" ")} exited ${code}`))));
  });
}

/**
 * Sizes of the 5 messages of one round of the benchmark's run (fixed policies, one-round episodes,
 * no shocks, constant costs), encoded with the framework's own codec.
 */
function messageSizes(B: number): number[] {
  const q = new Float64Array(B).fill(45) as unknown as number[];
  const base = {
    runId: "bench-b1024-abcdef",
    round: 123_456,
    episode: 123_456,
    batch: B,
    deadlineUnixMs: Date.now(),
    phase: "simultaneous",
  };
  const move0 = encode.move({ ...base, tier: 0, episodeEnd: true, tierFirmIds: ["leader"] }).length;
  const sub = encode.submission({ runId: base.runId, firmId: "leader", round: base.round, quantities: q }).length;
  const move1 = encode.move({
    ...base,
    tier: 1,
    episodeEnd: true,
    tierFirmIds: ["follower"],
    committed: [{ tier: 0, firmIds: ["leader"], quantities: q }],
  }).length;
  const twoB = new Float64Array(2 * B).fill(500) as unknown as number[];
  const outcome = encode.outcome({
    ...base,
    episodeEnd: true,
    prices: q,
    firmIds: ["follower", "leader"],
    quantities: twoB,
    profits: twoB,
    absent: [false, false],
    evicted: [false, false],
    clearedUnixMs: Date.now(),
  }).length;
  return [move0, sub, move1, outcome];
}

/** Rates of one run: over all rounds, and over the rounds after the warm-up. */
interface Rate {
  whole: number;
  warm: number;
}

async function floor(url: string, rounds: number, warmup: number, B: number): Promise<Rate> {
  const peer = join(here, "floor-peer.js");
  const sizes = [String(warmup), ...messageSizes(B).map(String)];
  // Resolve with a wrapper: resolving with the process promise itself would wait for its exit.
  const ready = (role: string) =>
    new Promise<{ exited: Promise<string> }>((res) => {
      const exited: Promise<string> = run([peer, role, url, String(rounds), ...sizes], (l) => l === "ready" && res({ exited }));
    });
  const leader = await ready("leader");
  const follower = await ready("follower");
  const out = await run([peer, "market", url, String(rounds), ...sizes]);
  await Promise.all([leader.exited, follower.exited]);
  const r = JSON.parse(out.trim()) as { roundsPerSecond: number; warmRoundsPerSecond: number };
  return { whole: r.roundsPerSecond, warm: r.warmRoundsPerSecond };
}

async function framework(url: string, rounds: number, warmup: number, B: number): Promise<Rate> {
  const dir = mkdtempSync(join(tmpdir(), "stk-bench-"));
  const file = join(dir, "bench.yaml");
  writeFileSync(
    file,
    stringify({
      name: `bench-b${B}`,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: B, episodes: rounds, quantityMax: 100 },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 45 } },
        { id: "follower", role: "follower", cost: { kind: "linear", c: 10 }, policy: { kind: "fixed", quantity: 22.5 } },
      ],
    }),
  );
  const out = join(dir, "out");
  await run([CLI, "run", file, "--nats", url, "--insecure", "--out", out, "--no-progress"]);
  const { runId } = JSON.parse(readFileSync(join(out, "run.json"), "utf8")) as { runId: string };
  const nc = await connect({ servers: url });
  const stats = await readStats(nc, runId);
  // Every run leaves its record (~650 MB at B = 1024) in the server's store; remove it so that the
  // runs that follow are not measured against a growing store.
  await (await jetstreamManager(nc)).streams.delete(runSubjects(runId).stream);
  await nc.close();
  rmSync(dir, { recursive: true, force: true });
  if (stats.length !== rounds) throw new Error(`the record holds ${stats.length} of ${rounds} rounds`);
  // Rates from the clearing times of the recorded rounds, which leave out process start-up and
  // registration: over all rounds, and after the warm-up rounds.
  const t = stats.map((s) => Number(s.clearedUnixMs));
  const last = t[rounds - 1] as number;
  return {
    whole: (rounds - 1) / ((last - (t[0] as number)) / 1000),
    warm: (rounds - 1 - warmup) / ((last - (t[warmup] as number)) / 1000),
  };
}

/** What the bench reads of a learner's metrics in a run's summary. */
interface LearnerSummary {
  trainedRounds: number;
  samplesPerSecond: number;
  trainerSamplesPerSecond: number;
  actWaitMs: number;
  actWaitShare: number;
  updates: number;
  samples: number;
  droppedRows: number;
  policyLagMax: number;
}

/**
 * Trains a PPO leader (and a PPO follower, or a best-response one when `learners` is 1) for a short
 * budget; returns each learner's throughput and acting wait.
 */
async function learning(url: string, deterministic: boolean, rounds: number, B: number, learners: 1 | 2) {
  const dir = mkdtempSync(join(tmpdir(), "stk-bench-learn-"));
  const file = join(dir, "learn.yaml");
  writeFileSync(
    file,
    stringify({
      name: `bench-learn-${deterministic ? "det" : "async"}-${learners}`,
      market: { demand: { kind: "linear", a: 100, b: 1 }, batch: B, episodes: rounds, quantityMax: 100, deadlineMs: 120000 },
      firms: [
        { id: "leader", role: "leader", cost: { kind: "linear", c: 10 }, policy: { kind: "ppo" } },
        {
          id: "follower",
          role: "follower",
          cost: { kind: "linear", c: 10 },
          policy: learners === 2 ? { kind: "ppo" } : { kind: "best-response" },
        },
      ],
      training: { schedule: { kind: "simultaneous" }, deterministic },
    }),
  );
  const out = join(dir, "out");
  try {
    await run([CLI, "run", file, "--nats", url, "--insecure", "--out", out, "--no-progress"]);
    const s = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as {
      wallSeconds: number;
      learners: Record<string, LearnerSummary>;
    };
    return { wallSeconds: s.wallSeconds, learners: s.learners };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The BENCHMARKS.md section on training throughput (runs on `url`). */
async function trainingSection(url: string): Promise<string[]> {
  const B = Number(process.env.BENCH_TRAIN_B ?? 4096);
  const updates = Number(process.env.BENCH_TRAIN_UPDATES ?? 2);
  const pairs = Number(process.env.BENCH_TRAIN_PAIRS ?? 9);
  const rounds = Number(process.env.BENCH_LEARN_ROUNDS ?? 40);
  const t = await measureTraining(B, updates, pairs);
  process.stdout.write(`training B=${B}: ${JSON.stringify(t)}\n`);
  const out: string[] = [];
  out.push(`\n## Training throughput (PPO, WASM backend, B = ${B})\n`);
  out.push(
    `Network: actor and critic of [32, 32] tanh units, minibatch 256, 4 epochs, Adam (the PPO defaults). **Raw TF.js** is a plain TF.js PPO loop on this process's main thread: experience already in tensors, advantages given, per minibatch one gather and one Adam step each for the actor (clipped surrogate) and the critic. **Learner** is a firm's path: each round of ${B} samples handed to the Updater in the default mode (policy lag 1), moved (transferred, not copied) to the firm's piscina worker, unpacked, the critic's pass for the advantages, the same gradient steps, and the new weights moved back and installed in the acting network; timed from the first hand-over to the last weights installed. ${pairs} raw/learner pairs of ${updates} updates each, alternating (this machine's speed drifts with other load), after one untimed update of each; rates are medians, the ratio is the median of the pairs' ratios.\n`,
  );
  out.push("| B | raw TF.js samples/s | learner samples/s | of which inside the trainer | learner / raw | target |");
  out.push("|---:|---:|---:|---:|---:|---:|");
  out.push(
    `| ${B} | ${t.raw.toFixed(0)} | ${t.learner.toFixed(0)} | ${t.trainer.toFixed(0)} | ${t.ratio.toFixed(2)} | >= 0.70 |`,
  );
  out.push(
    `\nIn runs of ${rounds} rounds at B = ${B}, simultaneous schedule, each firm in its own process with its own pool, market and nats-server beside them on the same ${cpus().length} cores: a PPO leader against a best-response follower (one learner), and a PPO leader and follower (two learners training at once, so each trainer has at most one of the cores). samples/s is the learner's path as the firm's acting thread sees it (hand-over to weights installed), the next column inside the trainer; "/ raw" divides the former by the raw TF.js rate above. Rows (rounds of ${B} samples) handed over, and trained by the time of the last round's metrics: the difference is the updates still in flight then (at most the lag bound + 1), none dropped. Acting wait: time the acting thread waited for the trainer before acting (backpressure in the default mode, the synchronization in deterministic mode); wait share: that time over the time since the learner's first act.\n`,
  );
  out.push(
    "| mode | learners | learner | samples/s | inside trainer | / raw | rows handed over | rows trained | rows dropped | policy lag max | acting wait (s) | wait share |",
  );
  out.push("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const [det, n] of [
    [false, 1],
    [false, 2],
    [true, 2],
  ] as const) {
    const r = await learning(url, det, rounds, B, n);
    for (const [id, m] of Object.entries(r.learners))
      out.push(
        `| ${det ? "deterministic" : "default (async)"} | ${n} | ${id} | ${m.samplesPerSecond.toFixed(0)} | ${m.trainerSamplesPerSecond.toFixed(0)} | ${(m.samplesPerSecond / t.raw).toFixed(2)} | ${m.trainedRounds} | ${m.samples / B} | ${m.droppedRows} | ${m.policyLagMax} | ${(m.actWaitMs / 1000).toFixed(2)} | ${m.actWaitShare.toFixed(3)} |`,
      );
  }
  return out;
}

/**
 * Replaces the sections of `file` that this run measured: the part before the first "## " heading
 * (the round rates) and the "## ..." sections whose heading starts with one of `titles`.
 */
function updateReport(file: string, fresh: string[], sections: Set<string>): string {
  const split = (text: string) => {
    const parts = text.split(/\n(?=## )/);
    return { head: parts[0] ?? "", rest: parts.slice(1) };
  };
  const now = split(fresh.join("\n"));
  if (sections.has("rounds") && sections.has("training") && sections.has("economics") && sections.has("report") && sections.has("scale"))
    return `${fresh.join("\n")}\n`;
  const old = existsSync(file) ? split(readFileSync(file, "utf8").trimEnd()) : { head: "# Benchmarks\n", rest: [] };
  const key = (part: string) => part.split(/[\s(]/, 2)[1] ?? "";
  const head = sections.has("rounds") ? now.head : old.head;
  const rest = old.rest.map((p) => now.rest.find((q) => key(q) === key(p)) ?? p);
  for (const q of now.rest) if (!rest.includes(q) && !old.rest.some((p) => key(p) === key(q))) rest.push(q);
  return `${[head.trimEnd(), ...rest.map((p) => p.trimEnd())].join("\n\n")}\n`;
}

// One server without auth, shared by the floor's bare clients and the framework's runs (which say
// --insecure), so both sides of every pair cross the same server the same way.
const nats = await startNatsServer();
const lines: string[] = [];
const log = (s: string) => {
  process.stdout.write(`${s}\n`);
  lines.push(s);
};
try {
  // BENCH_SECTIONS=training (or rounds, economics, report, scale, comma-separated) measures only those and
  // replaces only their sections of BENCHMARKS.md.
  const sections = new Set((process.env.BENCH_SECTIONS ?? "rounds,training,economics,report,scale").split(",").map((x) => x.trim()));
  if (sections.has("rounds")) {
    const r1 = Number(process.env.BENCH_ROUNDS_B1 ?? 30000);
    const r1024 = Number(process.env.BENCH_ROUNDS_B1024 ?? 30000);
    const reps = Number(process.env.BENCH_REPEATS ?? 5);
    // Every process JIT-compiles its hot path during the first few thousand rounds (the framework's
    // per-round CPU falls ~4x, the floor's ~2x); rates are reported after that warm-up, and over
    // the whole run for reference.
    const w1 = Math.floor(r1 / 3);
    const w1024 = Math.floor(r1024 / 3);
    // Floor and framework alternate, each measured `reps` times. This machine's speed drifts by
    // 15-30% over minutes, so the ratio is taken within each floor/framework pair (measured back to
    // back) and its median reported; rates are medians over the runs.
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const measure = async (rounds: number, warmup: number, B: number) => {
      const f: Rate[] = [];
      const w: Rate[] = [];
      for (let i = 0; i < reps; i++) {
        f.push(await floor(nats.url, rounds, warmup, B));
        w.push(await framework(nats.url, rounds, warmup, B));
      }
      const show = (xs: Rate[], k: keyof Rate) => xs.map((x) => x[k].toFixed(0)).join(", ");
      const ratios = (k: keyof Rate) => w.map((x, i) => x[k] / (f[i] as Rate)[k]);
      const m = {
        floor: median(f.map((x) => x.warm)),
        fw: median(w.map((x) => x.warm)),
        ratio: median(ratios("warm")),
        floorWhole: median(f.map((x) => x.whole)),
        fwWhole: median(w.map((x) => x.whole)),
        ratioWhole: median(ratios("whole")),
        runs: `floor ${show(f, "warm")} (whole run ${show(f, "whole")}); framework ${show(w, "warm")} (whole run ${show(w, "whole")}); pair ratios ${ratios(
          "warm",
        )
          .map((r) => r.toFixed(2))
          .join(", ")}`,
      };
      process.stdout.write(`B=${B}: ${m.runs} rounds/s\n`);
      return m;
    };
    const b1 = await measure(r1, w1, 1);
    const b1024 = await measure(r1024, w1024, 1024);
    log(
      `# Benchmarks\n\nMeasured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} (${process.platform}, Node ${process.version}, ${cpus().length} cores).`,
    );
    log(
      `Round rate: 1 leader + 1 follower, fixed policies, market and each firm in its own process, launched by \`stackelberg run\` (JetStream recording and the launcher's metrics on). ${reps} floor/framework pairs run back to back, ${r1} rounds (B = 1) and ${r1024} rounds (B = 1024) per run; rates are medians over the runs, the ratio is the median of the pairs' ratios. Rates are measured after a warm-up of the first third of the rounds (${w1} and ${w1024}), in which every process JIT-compiles its hot path; the whole-run rates (first to last round cleared) are given too.`,
    );
    log(
      `Floor: the same 5 messages per round (payload bytes at B = 1024: ${messageSizes(1024).join(", ")}) between bare NATS clients with no protocol logic, same server, same run, same warm-up.\n`,
    );
    log(
      "| batch B | floor rounds/s | framework rounds/s | framework / floor | market instances/s | whole run: floor, framework, ratio |",
    );
    log("|---:|---:|---:|---:|---:|---:|");
    for (const [B, m] of [
      [1, b1],
      [1024, b1024],
    ] as const)
      log(
        `| ${B} | ${m.floor.toFixed(0)} | ${m.fw.toFixed(0)} | ${m.ratio.toFixed(2)} | ${(m.fw * B).toFixed(0)} | ${m.floorWhole.toFixed(0)}, ${m.fwWhole.toFixed(0)}, ${m.ratioWhole.toFixed(2)} |`,
      );
    log(`\nEach run (after warm-up, and whole run): B = 1 ${b1.runs}; B = 1024 ${b1024.runs}.`);
  } else log("# Benchmarks\n");
  if (sections.has("training")) for (const l of await trainingSection(nats.url)) log(l);
  if (sections.has("economics")) for (const l of economicsSection()) log(l);
  if (sections.has("report")) for (const l of await reportSection()) log(l);
  if (sections.has("scale")) for (const l of await scaleSection(nats.url, nats.process.pid)) log(l);
  const file = join(ROOT, "BENCHMARKS.md");
  writeFileSync(file, updateReport(file, lines, sections));
} finally {
  await nats.stop();
}
