/**
 * `stackelberg run`: starts a local nats-server (unless --nats), spawns the market and a few firm
 * host processes (--hosts, deployment.hosts; several firms each, see firm-hosts.ts), follows the run through the JetStream record (progress bar, metrics.jsonl), writes
 * summary.json, and shuts everything down on completion, on Ctrl-C, and when a child dies.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import cliProgress from "cli-progress";
import { parseDocument } from "yaml";
import type { Logger } from "pino";
import { readRunAuth } from "../auth/index.js";
import { type NatsBus, type RoundStats, statsOf } from "../bus/index.js";
import { checkSecurityFlags, connectAs } from "../auth/index.js";
import { evaluationRoundsOf, loadExperiment } from "../config/index.js";
import { ConfigError, Interrupted, RuntimeFailure } from "../errors.js";
import { equilibriaFor, referenceFor } from "../report/equilibria.js";
import { finalWindowOf, roundMetrics, type Summary, SummaryBuilder } from "../report/metrics.js";
import { MetricsFiles, mergeLearnerMetrics } from "../report/metrics-files.js";
import { reportAfterRun } from "../report/report.js";
import { runVersions } from "../report/run-data.js";
import { phaseAt, phasesOf } from "../config/phases.js";
import { checkRunSettings, resolvedSettings, SETTINGS_FILE } from "../config/settings.js";
import { followStats, readRecord, recordedRounds, recordManager, waitForStream } from "../report/record.js";
import { RoundOrder } from "../report/round-order.js";
import { TRAINING_THREADS_ENV } from "../../agents/learning/pool.js";
import { HostLogs, hostName, hostsFor, packFirms } from "./firm-hosts.js";
import type { LocalNats } from "./nats-server.js";
import { startSecuredServer } from "./secured-server.js";
import { runIdFor } from "./run-id.js";

export interface RunOptions {
  out?: string;
  /** A running NATS server; then `auth` (the folder `stackelberg auth` wrote) or `insecure` is required. */
  nats?: string;
  auth?: string;
  insecure?: boolean;
  /** TLS files for a tls:// `nats` URL, passed to every component. */
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Continue the run stored in this output folder. */
  resume?: string;
  logger: Logger;
  /** Show a progress bar (default: when stderr is a terminal). */
  progress?: boolean;
  /** Override the experiment's seed (the copy in the output folder records it). */
  seed?: number;
  /** Firm host processes (overrides the config's deployment.hosts; default min(firms, 4)). */
  hosts?: number;
}

const CLI = fileURLToPath(new URL("../cli/main.js", import.meta.url));

/** Runs an experiment end to end and returns its summary. */
export async function runExperiment(configFile: string | undefined, o: RunOptions): Promise<Summary> {
  const started = Date.now();
  if (!o.nats && (o.auth || o.insecure))
    throw new ConfigError("--auth and --insecure go with --nats URL; the local server `run` starts gets its own credentials");
  if (!o.nats && (o.tlsCa || o.tlsCert || o.tlsKey)) throw new ConfigError("--tls-ca/--tls-cert/--tls-key go with --nats tls://...");
  const tlsFlags = { ...(o.tlsCa ? { tlsCa: resolve(o.tlsCa) } : {}), ...(o.tlsCert ? { tlsCert: resolve(o.tlsCert) } : {}), ...(o.tlsKey ? { tlsKey: resolve(o.tlsKey) } : {}) };
  if (o.nats) checkSecurityFlags({ nats: o.nats, ...(o.auth ? { creds: o.auth } : {}), ...(o.insecure ? { insecure: true } : {}), ...tlsFlags });
  // With an external server secured by `stackelberg auth`, the run id is the one its permissions name.
  const external = o.nats && o.auth ? readRunAuth(resolve(o.auth)) : undefined;
  let outDir: string;
  let runId: string;
  let config: string;
  if (o.resume) {
    outDir = resolve(o.resume);
    const runFile = join(outDir, "run.json");
    if (!existsSync(runFile)) throw new ConfigError(`--resume ${o.resume}: no run.json there (not a run output folder)`);
    try {
      runId = (JSON.parse(readFileSync(runFile, "utf8")) as { runId: string }).runId;
    } catch (err) {
      throw new ConfigError(`--resume ${o.resume}: ${runFile} is not readable JSON (${(err as Error).message})`);
    }
    if (typeof runId !== "string") throw new ConfigError(`--resume ${o.resume}: ${runFile} has no runId`);
    config = join(outDir, "config.yaml");
    if (external && external.runId !== runId)
      throw new ConfigError(`--auth ${o.auth} holds credentials for run ${external.runId}, but ${o.resume} is run ${runId}`);
  } else {
    if (!configFile) throw new ConfigError("run needs a config file (or --resume DIR)");
    const exp0 = loadExperiment(configFile);
    runId = external?.runId ?? runIdFor(exp0.name, randomBytes(3).toString("hex"));
    outDir = resolve(o.out ?? join("runs", runId));
    mkdirSync(outDir, { recursive: true });
    config = join(outDir, "config.yaml");
    copyFileSync(configFile, config);
    if (o.seed !== undefined) {
      const doc = parseDocument(readFileSync(config, "utf8"));
      doc.set("seed", o.seed);
      writeFileSync(config, doc.toString());
    }
    writeFileSync(
      join(outDir, "run.json"),
      `${JSON.stringify({ runId, config: resolve(configFile), started: new Date(started).toISOString(), versions: runVersions() }, null, 2)}\n`,
    );
  }
  const exp = loadExperiment(config);
  // The settings the run starts with, defaults filled in; a resume checks it still reads the same.
  if (o.resume) checkRunSettings(outDir, exp, "--resume", false);
  else writeFileSync(join(outDir, SETTINGS_FILE), `${JSON.stringify(resolvedSettings(exp), null, 1)}\n`);
  const hosts = hostsFor(exp.firms.length, o.hosts, exp.deployment?.hosts);
  const eq = equilibriaFor(exp);
  // The yardstick of the summary: the stage equilibrium, or a dynamic reference path where the
  // stage game is the wrong one (learning-by-doing, adjustment costs, persistent shocks).
  const reference = referenceFor(exp);
  writeFileSync(join(outDir, "equilibrium.json"), `${JSON.stringify({ ...eq, reference }, null, 2)}\n`);
  const log = o.logger.child({ component: "launcher", run: runId });
  mkdirSync(join(outDir, "logs"), { recursive: true });

  let nats: LocalNats | undefined;
  const children: { name: string; proc: ChildProcess; logFile: string }[] = [];
  const hostLogs: HostLogs[] = [];
  let bus: NatsBus | undefined;
  let bar: cliProgress.SingleBar | undefined;
  let ending = false;
  const onSignal = () => {
    abort(new Interrupted(`interrupted: run stopped; the rounds cleared so far are in ${outDir}`));
  };
  let abort: (e: Error) => void = () => {};
  const aborted = new Promise<never>((_, rej) => {
    abort = rej;
  });
  aborted.catch(() => {});
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    let url = o.nats;
    // Credentials of every component: the run's own auth folder for the local server (made once,
    // reused on --resume), the given folder for an external server, none with --insecure.
    let creds: string | undefined = o.auth ? resolve(o.auth) : undefined;
    if (!url) {
      const local = await startSecuredServer(outDir, exp, runId);
      nats = local.nats;
      creds = local.auth;
      url = nats.url;
      log.info({ url, auth: creds }, "started local nats-server (nkey auth, per-component permissions)");
      nats.process.once("exit", (code) => abort(new RuntimeFailure(`nats-server exited unexpectedly (code ${code})`)));
    } else if (creds) readRunAuth(creds, exp);
    const security = [
      ...(creds ? ["--creds", creds] : ["--insecure"]),
      ...(tlsFlags.tlsCa ? ["--tls-ca", tlsFlags.tlsCa] : []),
      ...(tlsFlags.tlsCert ? ["--tls-cert", tlsFlags.tlsCert] : []),
      ...(tlsFlags.tlsKey ? ["--tls-key", tlsFlags.tlsKey] : []),
    ];
    const flags = { nats: url, ...(creds ? { creds } : { insecure: true }), ...tlsFlags };
    // The launcher only reads the record (the market creates the stream).
    bus = await connectAs(flags, runId, { role: "reader" }, `stk-launcher-${runId}`, o.logger);
    // Without credentials the server has one account: the reader reads the stream directly.
    const jsm = await recordManager(bus.nc, runId, creds !== undefined);

    const spawnChild = (name: string, args: string[]) => {
      const logFile = join(outDir, "logs", `${name}.log`);
      const fd = openSync(logFile, "a");
      const proc = spawn(process.execPath, [CLI, ...args], {
        stdio: ["ignore", fd, fd],
        env: { ...process.env, LOG_FORMAT: "json" },
      });
      children.push({ name, proc, logFile });
      proc.once("exit", (code, signal) => {
        if (code !== 0 && !ending) {
          const tail = readFileSync(logFile, "utf8").trim().split("\n").slice(-5).join("\n");
          abort(new RuntimeFailure(`${name} process exited with ${signal ?? `code ${code}`}; its log ${logFile} ends:\n${tail}`));
        }
      });
      return proc;
    };

    const common = ["--config", config, "--nats", url, "--run", runId, ...security];
    const total = exp.market.totalRounds;
    // Resuming a run whose record already holds every outcome: nothing to play, only the results
    // to rebuild (from the outcomes, so stats lost after the last outcome do not matter).
    const complete = o.resume !== undefined && (await recordedRounds(jsm, runId)) >= total;
    if (complete) log.info({ rounds: total }, "the record already holds every round; rebuilding the results");
    const market = complete ? undefined : spawnChild("market", ["market", ...common, ...(o.resume ? ["--resume"] : [])]);
    const marketExit = new Promise<void>((res) => {
      if (!market) return res();
      market.once("exit", (code) => {
        if (code !== 0) return;
        // A market that stops cleanly before the last round (stopped by hand) ends the run too;
        // give the record a moment to reach us, then report what is missing.
        setTimeout(() => {
          if (summary.count < total)
            abort(
              new RuntimeFailure(
                `the market stopped after ${summary.count} of ${total} rounds${order.waiting > 0 ? ` (the statistics of round ${summary.count} are missing from the record)` : ""}; resume with --resume ${outDir}`,
              ),
            );
        }, 5000).unref();
        res();
      });
    });
    // Firms packed into `hosts` processes; each firm keeps its own NATS identity and log file. The
    // learners of a host share its training threads; the hosts share the cores (one left for acting).
    const trainingThreads = process.env[TRAINING_THREADS_ENV] ?? String(Math.max(1, Math.ceil((availableParallelism() - 1) / hosts)));
    const firmProcs = complete
      ? []
      : packFirms(
          exp.firms.map((f) => f.id),
          hosts,
        ).map((ids, k) => {
          const logs = new HostLogs(join(outDir, "logs"), hostName(ids, k), ids);
          hostLogs.push(logs);
          const args = ["firm", ...common, "--firm", ids.join(","), "--out", outDir, ...(o.resume ? ["--resume"] : [])];
          const proc = spawn(process.execPath, [CLI, ...args], {
            stdio: ["ignore", "pipe", "pipe"],
            env: { ...process.env, LOG_FORMAT: "json", [TRAINING_THREADS_ENV]: trainingThreads },
          });
          logs.follow(proc.stdout);
          logs.follow(proc.stderr);
          children.push({ name: logs.name, proc, logFile: logs.file });
          // "close": after the process's output is read, so the report names the firm that failed.
          proc.once("close", (code, signal) => {
            if (code !== 0 && !ending) abort(new RuntimeFailure(logs.describeExit(signal ?? `code ${code}`)));
          });
          return proc;
        });
    if (firmProcs.length > 0) log.info({ hosts: hostLogs.map((h) => ({ name: h.name, firms: h.firmIds.length })) }, "firm host processes started");
    const firmExits = firmProcs.map((p) => new Promise<void>((res) => p.once("exit", (code) => (code === 0 || ending) && res())));

    // metrics.jsonl and metrics.csv, written as rounds arrive; the summary keeps running sums of
    // its final window: the launcher's memory does not grow with the run.
    const metrics = new MetricsFiles(outDir, exp.firms.map((f) => f.id));
    const evaluationRounds = evaluationRoundsOf(exp.training.schedule, total);
    const summary = new SummaryBuilder(eq, total, reference, finalWindowOf(total, exp.market.roundsPerEpisode, evaluationRounds));
    const phases = phasesOf(exp);
    const showBar = o.progress ?? process.stderr.isTTY;
    if (showBar) {
      bar = new cliProgress.SingleBar(
        { format: " {bar} {value}/{total} rounds | {rate} rounds/s | {phase} | distance to equilibrium {distance}", hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { rate: "0", phase: phases[0]?.name ?? "", distance: "-" });
    }
    let firstRoundAt: { t: number; n: number } | undefined;
    // Metrics come from the record, the authority: live from the stats subject (per-round means,
    // stored after their outcomes; the launcher never receives the batch arrays), or, when the
    // record is already complete, from the recorded outcomes themselves (the same doubles).
    const order = new RoundOrder<RoundStats>();
    let lastLog = Date.now();
    const take = (batch: RoundStats[]) => {
      let last: ReturnType<typeof roundMetrics> | undefined;
      for (const st of batch)
        for (const ready of order.push(Number(st.round ?? 0), st)) {
          last = roundMetrics(ready, eq, reference);
          metrics.add(last);
          summary.add(last);
        }
      if (!last) return;
      metrics.flush();
      const n = summary.count;
      // The rate since the first round arrived (start-up is not play).
      firstRoundAt ??= { t: Date.now(), n };
      const secs = (Date.now() - firstRoundAt.t) / 1000;
      const rate = secs > 0 ? Math.round((n - firstRoundAt.n) / secs) : 0;
      const phase = phaseAt(phases, last.round).name;
      if (bar) bar.update(n, { rate: String(rate), phase, distance: last.distance.toExponential(2) });
      else if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        log.info({ rounds: n, total, roundsPerSecond: rate, phase, distance: last.distance }, "progress");
      }
    };
    let follow: Promise<void>;
    let following = true;
    if (complete) {
      follow = readRecord(bus.nc, runId, { asReader: creds !== undefined, onOutcome: (o) => take([statsOf(o)]) }).then(() => {
        if (summary.count < total) throw new RuntimeFailure(`the record holds ${summary.count} contiguous rounds of ${total}`);
      });
    } else {
      await Promise.race([waitForStream(jsm, runId), aborted]);
      follow = followStats(jsm, runId, take, () => following && summary.count < total);
    }
    // An abort closes the connection under the reader; its failure then is not news.
    follow.catch(() => {});
    await Promise.race([Promise.all([follow, marketExit]), aborted]);
    // Every round is recorded and the market is done. Firms exit on END_OF_RUN after saving their
    // policies; one that missed it (plain NATS does not redeliver) is stopped after a grace period.
    const grace = setTimeout(() => {
      ending = true;
      for (const p of firmProcs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
      log.warn("a firm did not exit after the end of the run; stopped it");
    }, 60_000);
    grace.unref();
    await Promise.race([Promise.all(firmExits), aborted]);
    clearTimeout(grace);
    following = false;
    await metrics.end();
    bar?.stop();
    bar = undefined;
    const learners = await mergeLearnerMetrics(
      outDir,
      exp.firms.map((f) => f.id),
      exp.training.deterministic ? (k) => !TIMING_KEY.test(k) : undefined,
    );
    const s = summary.build(
      exp.name,
      runId,
      (Date.now() - started) / 1000,
      exp.market.roundsPerEpisode,
      Object.fromEntries(exp.firms.map((f) => [f.id, f.objective === "valuation" ? f.discount : 1])),
      evaluationRounds,
    );
    if (Object.keys(learners).length > 0) s.learners = learners;
    writeFileSync(join(outDir, "summary.json"), `${JSON.stringify(s, null, 2)}\n`);
    await reportAfterRun(outDir, log);
    log.info({ out: outDir, rounds: s.rounds, distance: s.final.distance, reference: s.reference.kind }, "run complete");
    return s;
  } finally {
    bar?.stop();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGTERM");
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.proc.exitCode !== null || c.proc.signalCode !== null) return r();
            const t = setTimeout(() => c.proc.kill("SIGKILL"), 5000);
            c.proc.once("exit", () => {
              clearTimeout(t);
              r();
            });
          }),
      ),
    );
    await Promise.all(hostLogs.map((h) => h.close()));
    await bus?.close().catch(() => {});
    await nats?.stop();
  }
}

/** Keys of learner metrics that depend on timing, left out of metrics.jsonl in deterministic mode. */
const TIMING_KEY = /(Ms|PerSecond|Seconds|Share|Waits)$/;
