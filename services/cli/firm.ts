import { mkdirSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { FirmRuntime, makePolicyFactory } from "../../agents/index.js";
import { CAPABILITIES, type NatsBus, runSubjects } from "../bus/index.js";
import { ConfigError, Interrupted } from "../errors.js";
import { loadExperiment, receivesTrainingInfo } from "../config/index.js";
import { rootLogger } from "../log.js";
import { claimFirm, matchesClaim } from "./claim.js";
import { checkSecurityFlags, type ConnectFlags, connectAs } from "../auth/index.js";

export interface FirmCommandOptions extends ConnectFlags {
  config: string;
  run: string;
  /** Comma-separated firm ids hosted by this process (or --claim). */
  firm?: string;
  /** Host one firm: the first one matching this pattern that no other process claimed in `claimDir`. */
  claim?: string;
  claimDir?: string;
  /** Who claims (default: the host name; a container's id). */
  claimAs?: string;
  /** Output folder for checkpoints (optional). */
  out?: string;
  /** Load policies from the output folder's checkpoints first. */
  resume?: boolean;
}

/** `stackelberg firm`: hosts one or more firms of the experiment in this process. */
export async function firmCommand(o: FirmCommandOptions): Promise<void> {
  checkSecurityFlags(o);
  runSubjects(o.run); // a bad run id is refused before connecting
  const exp = loadExperiment(o.config);
  const ids = o.claim !== undefined ? [claimedFirm(o, exp.firms.map((f) => f.id))] : (o.firm ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) throw new ConfigError("--firm needs at least one firm id (or --claim PATTERN --claim-dir DIR)");
  if (ids.length > 1 && o.creds && !statSync(o.creds, { throwIfNoEntry: false })?.isDirectory())
    throw new ConfigError(
      `--firm ${o.firm}: each firm has its own credentials; pass --creds DIR (the folder \`stackelberg auth\` wrote), not one file`,
    );
  const firms = ids.map((id) => {
    const f = exp.firms.find((x) => x.id === id);
    if (!f) throw new ConfigError(`--firm ${id}: no such firm in ${o.config} (firms: ${exp.firms.map((x) => x.id).join(", ")})`);
    return f;
  });
  const log = rootLogger("firm");
  if (o.claim !== undefined) log.info({ firm: ids[0], claimDir: o.claimDir }, "claimed firm");
  const evaluating = exp.training.schedule.kind === "evaluation";
  if (evaluating && !o.out)
    throw new ConfigError("an evaluation run (training.schedule.kind: evaluation) needs --out DIR holding the trained policies in DIR/checkpoints");
  if (o.out) mkdirSync(join(o.out, "learners"), { recursive: true });
  // One connection per firm: each firm is its own NATS identity, allowed only its own subjects.
  const buses: NatsBus[] = [];
  try {
    for (const f of firms)
      buses.push(await connectAs(o, o.run, { role: "firm", firmId: f.id, tier: f.tier, ctde: receivesTrainingInfo(f.policy.kind, exp.training.schedule) }, `stk-firm-${f.id}`, log));
  } catch (err) {
    await Promise.all(buses.map((b) => b.close()));
    throw err;
  }
  const runtimes = firms.map(
    (f, i) =>
      new FirmRuntime({
        bus: buses[i]!,
        runId: o.run,
        firmId: f.id,
        role: f.role,
        tier: f.tier,
        logger: log,
        makePolicy: makePolicyFactory(exp, f, { logger: log, ...(o.out ? { outDir: o.out } : {}) }),
        capabilities: capabilitiesOf(f.policy.kind, receivesTrainingInfo(f.policy.kind, exp.training.schedule)),
        trainingInfo: receivesTrainingInfo(f.policy.kind, exp.training.schedule),
        ...(o.out
          ? {
              checkpointDir: join(o.out, "checkpoints"),
              metricsFile: join(o.out, "learners", `${f.id}.jsonl`),
              // An evaluation run plays trained policies: each learner loads its checkpoint, or the firm fails.
              resume: (o.resume ?? false) || evaluating,
              mustLoad: evaluating,
            }
          : {}),
      }),
  );
  // On a signal, save each policy first (bounded in time) so `run --resume` continues training.
  const stop = () => {
    const limit = new Promise<void>((r) => setTimeout(r, 10_000).unref());
    void Promise.race([Promise.allSettled(runtimes.map((r) => r.checkpoint("signal"))), limit]).then(() => {
      for (const r of runtimes) r.abort(new Interrupted("firm stopped by signal"));
    });
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await Promise.all(runtimes.map((r) => r.start()));
    await Promise.all(runtimes.map((r) => r.done()));
  } finally {
    await Promise.all(runtimes.map((r) => r.stop()));
    await Promise.all(buses.map((b) => b.close()));
  }
}

/** The firm `--claim` takes (released when the process exits); refuses contradictory flags. */
function claimedFirm(o: FirmCommandOptions, firmIds: readonly string[]): string {
  if (o.firm !== undefined) throw new ConfigError("--firm and --claim contradict each other: name the firms, or claim one");
  if (!o.claimDir) throw new ConfigError("--claim needs --claim-dir DIR, a folder shared by every process that claims firms of this run");
  const pattern = o.claim ?? "";
  const claim = claimFirm(o.claimDir, firmIds.filter((id) => matchesClaim(pattern, id)), o.claimAs ?? hostname(), pattern);
  process.once("exit", () => claim.release());
  return claim.firmId;
}

/** Centralized-critic learners that receive the training subject in this run announce it. */
function capabilitiesOf(kind: string, ctde: boolean): string[] {
  return ctde ? [CAPABILITIES.ctde, `policy:${kind}`] : [`policy:${kind}`];
}
