/**
 * The firm runtime: one firm on the bus. Registers (retrying until the market answers), answers
 * every move request of its tier with one batched policy call, feeds outcomes to the policy, and
 * follows run-control messages. Identity is the subject it publishes on.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import type { Logger } from "pino";
import {
  type Bus,
  type BusSubscription,
  CAPABILITIES,
  clip,
  ControlKind,
  costFromMsg,
  roleMsg,
  demandFromMsg,
  decode,
  encode,
  type MoveRequest,
  PROTOCOL_VERSION,
  type RegisterReply,
  RejectCode,
  type RunSubjects,
  rejectName,
  type TrainingInfo,
  runSubjects,
  WIRE_LIMITS,
} from "../../services/bus/index.js";
import { RateLimitedLog } from "../../services/log.js";
import { marginalCost } from "../../market/economics/index.js";
import { ConfigError, ProtocolError, RuntimeFailure } from "../../services/errors.js";
import type { ActContext, Policy, RunView } from "../policy.js";

export interface FirmRuntimeOptions {
  bus: Bus;
  runId: string;
  firmId: string;
  role: "leader" | "follower";
  tier: number;
  logger: Logger;
  /** Builds the policy once the run's parameters are known. */
  makePolicy: (run: RunView) => Policy | Promise<Policy>;
  /** Capabilities announced on registration (e.g. "ctde"). */
  capabilities?: string[];
  /**
   * Subscribe to the market's training subject and hand it to the policy's observeTraining (CTDE
   * learners; the firm's identity must be allowed the subject).
   */
  trainingInfo?: boolean;
  /** How long to keep retrying registration (default 60 s). */
  registerTimeoutMs?: number;
  /** Folder for policy checkpoints (saved on CHECKPOINT and at the end of the run). */
  checkpointDir?: string;
  /** Load the policy from checkpointDir before the first move. */
  resume?: boolean;
  /** With resume: a policy that can load but finds no checkpoint fails the firm (evaluation runs). */
  mustLoad?: boolean;
  /** Append the policy's metrics (exploration scale, losses...) here, one JSON line per round. */
  metricsFile?: string;
}

const finite = (xs: ArrayLike<number>): boolean => Array.prototype.every.call(xs, Number.isFinite);

/**
 * What makes a move request (that names the firm) unusable in a run of batch `B` with `C`
 * observation columns, or undefined: a batch other than B, an observation other than B x C values,
 * a committed entry other than its firms x B values, own_last_quantity / own_marginal_cost other
 * than one row per tier firm (or empty), a non-finite value anywhere. Off the wire, so checked once
 * here before any policy indexes it.
 */
export function moveProblem(m: MoveRequest, B: number, C: number, tierSize = 0): string | undefined {
  if ((m.batch ?? 0) !== B) return `batch ${m.batch ?? 0}, the run's batch is ${B}`;
  const obs = m.observation ?? [];
  if (obs.length !== B * C) return `${obs.length} observation values, want ${B} x ${C}`;
  if (!finite(obs)) return "a non-finite observation value";
  for (const t of m.committed ?? []) {
    const q = t.quantities ?? [];
    const n = (t.firmIds ?? []).length;
    if (q.length !== n * B) return `${q.length} committed quantities of tier ${t.tier ?? 0}, want ${n} firms x ${B}`;
    if (!finite(q)) return `a non-finite committed quantity of tier ${t.tier ?? 0}`;
  }
  // An empty tier_firm_ids names every firm of the tier (CAPABILITIES.compactMove): `tierSize` of them.
  const rows = ((m.tierFirmIds ?? []).length || tierSize) * B;
  for (const [name, v] of [
    ["own_last_quantity", m.ownLastQuantity ?? []],
    ["own_marginal_cost", m.ownMarginalCost ?? []],
  ] as const) {
    if (v.length !== 0 && v.length !== rows) return `${v.length} ${name} values, want ${rows}`;
    if (!finite(v)) return `a non-finite ${name} value`;
  }
  return undefined;
}

/**
 * What makes a TrainingInfo unusable in a run of batch `B` with observation width `C` and firms
 * `firmIds` (wire order), or undefined: another firm list, arrays of other lengths, a non-finite
 * value. Off the wire, so checked once here before any policy indexes it.
 */
export function trainingProblem(t: TrainingInfo, B: number, C: number, firmIds: readonly string[]): string | undefined {
  if ((t.batch ?? 0) !== B) return `batch ${t.batch ?? 0}, the run's batch is ${B}`;
  const ids = t.firmIds ?? [];
  if (ids.length !== firmIds.length || ids.some((id, k) => id !== firmIds[k])) return "firm ids other than the run's";
  const F = firmIds.length;
  for (const [name, v, n] of [
    ["observation", t.observation ?? [], B * C],
    ["next_observation", t.nextObservation ?? [], B * C],
    ["quantities", t.quantities ?? [], F * B],
    ["profits", t.profits ?? [], F * B],
    ["marginal_costs", t.marginalCosts ?? [], F * B],
    ["prices", t.prices ?? [], B],
  ] as const) {
    if (v.length !== n) return `${v.length} ${name} values, want ${n}`;
    if (!finite(v)) return `a non-finite ${name} value`;
  }
  return undefined;
}

/** Runs one firm until the market announces the end of the run. */
export class FirmRuntime {
  private readonly subj: RunSubjects;
  private readonly log: Logger;
  private policy!: Policy;
  private view!: RunView;
  private readonly subs: BusSubscription[] = [];
  private finished!: Promise<string>;
  private resolveFinished!: (reason: string) => void;
  private rejectFinished!: (e: Error) => void;
  /** Counters for logs and tests. */
  readonly stats = { moves: 0, rejects: 0, lastReject: "" };
  private exploring = false;
  /** The last round whose outcome the policy observed. */
  private lastObserved = -1;
  /** Rejects and undecodable messages, logged at a bounded rate per kind. */
  private readonly wireLog: RateLimitedLog;

  constructor(private readonly opts: FirmRuntimeOptions) {
    this.subj = runSubjects(opts.runId);
    this.log = opts.logger.child({ component: "firm", firmId: opts.firmId });
    this.wireLog = new RateLimitedLog(this.log);
    this.finished = new Promise((res, rej) => {
      this.resolveFinished = res;
      this.rejectFinished = rej;
    });
    // done() may never be awaited (an abort during start()): keep the rejection handled.
    this.finished.catch(() => {});
  }

  get run(): RunView {
    return this.view;
  }

  get currentPolicy(): Policy {
    return this.policy;
  }

  /** Registers and subscribes; resolves when the firm is ready for move requests. */
  async start(): Promise<void> {
    const { bus, firmId } = this.opts;
    // Subscribe before registering so no move request of the first round is missed.
    this.subs.push(bus.subscribe(this.subj.move(this.opts.tier), (m) => this.onMove(m.data)));
    const outcomes = bus.subscribe(this.subj.outcome, (m) => this.onOutcome(m.data));
    this.subs.push(outcomes);
    this.subs.push(bus.subscribe(this.subj.control, (m) => this.onControl(m.data)));
    // Back after a lost connection: the market may have asked this firm to move meanwhile, or lost
    // its answer; registering again makes it ask again (and lifts an eviction).
    bus.onConnectionChange?.((state) => {
      if (state === "reconnected") this.reRegister("connection to NATS back");
    });
    this.subs.push(
      bus.subscribe(this.subj.reject(firmId), (m) => {
        const r = this.decoded("Reject", () => decode.reject(m.data));
        if (!r) return;
        this.stats.rejects++;
        this.stats.lastReject = rejectName(r.code ?? 0);
        this.wireLog.warn(
          this.stats.lastReject,
          { code: this.stats.lastReject, detail: clip(r.detail, WIRE_LIMITS.detailChars), round: Number(r.round ?? 0) },
          "market rejected a submission",
        );
        // Evicted, or the market restarted and lost its registry: register again.
        if (r.code === RejectCode.UNKNOWN_FIRM) this.reRegister("market does not know this firm");
      }),
    );
    // Fetch the run's parameters first, build the policy (and load its checkpoint), and only then
    // register for real: the market starts the run once every firm is ready to move.
    const reply = await this.register(true);
    const p = reply.params!;
    this.view = {
      runId: p.runId ?? this.opts.runId,
      firmId,
      firmIndex: reply.firmIndex ?? 0,
      tier: this.opts.tier,
      batch: p.batch ?? 1,
      roundsPerEpisode: p.roundsPerEpisode ?? 1,
      totalRounds: Number(p.totalRounds ?? 0),
      quantityMax: p.quantityMax ?? 0,
      demand: demandFromMsg(p.demand ?? {}),
      shockRho: p.shockRho ?? 0,
      shockSigma: p.shockSigma ?? 0,
      adjustmentCost: p.adjustmentCost ?? 0,
      seed: Number(p.seed ?? 0),
      firms: (p.firms ?? []).map((f) => ({ id: f.firmId ?? "", tier: f.tier ?? 0, cost: costFromMsg(f.cost ?? {}) })),
      observationColumns: p.observationColumns ?? [],
    };
    this.lastQuantity = new Float64Array(this.view.batch);
    const me = this.view.firms.find((f) => f.id === firmId);
    const tierIds = this.view.firms.filter((f) => f.tier === this.opts.tier).map((f) => f.id);
    this.tierSize = tierIds.length;
    this.tierIndex = tierIds.indexOf(firmId);
    this.mc0 = me ? marginalCost(me.cost, 0, 0) : 0;
    this.policy = await this.opts.makePolicy(this.view);
    // A policy that never observes outcomes (fixed, oracle) does not need the largest message of
    // the round delivered to it.
    if (!this.policy.observe) outcomes.unsubscribe();
    if (this.opts.trainingInfo && this.policy.observeTraining)
      this.subs.push(bus.subscribe(this.subj.train, (m) => this.onTraining(m.data)));
    if (this.opts.resume && this.opts.checkpointDir && this.policy.load) {
      const loaded = await this.policy.load(this.opts.checkpointDir);
      this.log.info({ loaded, dir: this.opts.checkpointDir }, loaded ? "policy resumed from checkpoint" : "no checkpoint to resume from");
      if (!loaded && this.opts.mustLoad)
        throw new ConfigError(`no trained policy of ${firmId} (${this.policy.kind}) in ${this.opts.checkpointDir}: an evaluation run plays trained policies`);
    }
    if (this.opts.metricsFile && this.policy.metrics) this.metricsOut = createWriteStream(this.opts.metricsFile, { flags: "a" });
    await this.register(false);
    this.ready = true;
    this.log.info({ policy: this.policy.kind, tier: this.opts.tier, batch: this.view.batch }, "firm registered");
    // Messages that arrived while the policy was being built are handled now, in order.
    for (const fn of this.early.splice(0)) fn();
  }

  private ready = false;
  /** The last round answered and the submission sent, re-sent if the market asks again. */
  private answered: { round: number; data: Uint8Array } | undefined;
  /** The round the policy is acting on now. */
  private acting = -1;
  /** This firm's last submitted quantities (length B), for move requests that leave them out. */
  private lastQuantity = new Float64Array(0);
  /** Marginal cost at zero output from the firm's cost function, for move requests that leave it out. */
  private mc0 = 0;
  /** The firms of this firm's tier and its place among them (firm-id order), for move requests that leave the names out. */
  private tierSize = 0;
  private tierIndex = -1;
  private metricsOut: WriteStream | undefined;
  private readonly early: Array<() => void> = [];

  private async register(preparing = false): Promise<RegisterReply> {
    const { bus, firmId } = this.opts;
    const req = encode.register({
      protocolVersion: PROTOCOL_VERSION,
      firmId,
      role: roleMsg(this.opts.role),
      tier: this.opts.tier,
      // This runtime reads move requests without tier_firm_ids (see CAPABILITIES.compactMove).
      capabilities: [...new Set([...(this.opts.capabilities ?? []), CAPABILITIES.compactMove])],
      preparing,
    });
    const until = Date.now() + (this.opts.registerTimeoutMs ?? 60_000);
    for (;;) {
      try {
        const reply = decode.registerReply(await bus.request(this.subj.register(firmId), req, 2000));
        if (!reply.accepted) {
          const r = reply.reject;
          throw new RegistrationRefused(`market refused registration of ${firmId}: ${rejectName(r?.code ?? 0)}: ${r?.detail ?? ""}`);
        }
        return reply;
      } catch (err) {
        if (err instanceof RegistrationRefused || Date.now() > until) throw err;
        // The market may not be up yet: retry.
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private reRegistering = false;
  /** A request to register again that came while a registration was in flight. */
  private reRegisterPending: string | undefined;

  /**
   * Registers again (idempotent on the market's side); the policy and its state are kept. A request
   * that arrives while a registration is in flight (e.g. the market restarted meanwhile) is not
   * dropped: one more registration follows the running one.
   */
  private reRegister(why: string): void {
    if (!this.ready) return;
    if (this.reRegistering) {
      this.reRegisterPending = why;
      return;
    }
    this.reRegistering = true;
    this.log.info({ why }, "registering again");
    this.register()
      .then(
        () => this.log.info("registered again"),
        (err: Error) => this.abort(err),
      )
      .finally(() => {
        this.reRegistering = false;
        const again = this.reRegisterPending;
        this.reRegisterPending = undefined;
        if (again !== undefined) this.reRegister(again);
      });
  }

  /** Resolves with the reason when the market announces the end of the run. */
  done(): Promise<string> {
    return this.finished;
  }

  private onMove(data: Uint8Array): void {
    if (!this.ready) {
      this.early.push(() => this.onMove(data));
      return;
    }
    const m: MoveRequest | undefined = this.decoded("MoveRequest", () => decode.move(data));
    if (!m) return;
    const ids = m.tierFirmIds ?? [];
    // No names: every firm of the tier moves (the market knows this firm reads such requests).
    const k = ids.length === 0 ? this.tierIndex : ids.indexOf(this.opts.firmId);
    if (k < 0) return; // evicted or not expected this round
    const B = this.view.batch;
    const problem = moveProblem(m, B, this.view.observationColumns.length, this.tierSize);
    if (problem) {
      this.wireLog.warn("MoveRequest", { round: Number(m.round ?? 0), problem }, "move request does not match the run; ignored");
      return;
    }
    const committed = new Map<string, Float64Array>();
    const committedTotal = new Float64Array(B);
    for (const t of m.committed ?? []) {
      const q = t.quantities ?? [];
      (t.firmIds ?? []).forEach((id, j) => {
        const own = Float64Array.from(q.slice(j * B, (j + 1) * B));
        committed.set(id, own);
        for (let i = 0; i < B; i++) committedTotal[i] = (committedTotal[i] as number) + (own[i] as number);
      });
    }
    const lastQ = m.ownLastQuantity ?? [];
    const mcs = m.ownMarginalCost ?? [];
    // Fields the market leaves out when they carry nothing new: fill them from what the firm knows.
    if ((m.step ?? 0) === 0) this.lastQuantity.fill(0);
    const ctx: ActContext = {
      round: Number(m.round ?? 0),
      episode: m.episode ?? 0,
      step: m.step ?? 0,
      episodeEnd: m.episodeEnd ?? false,
      phase: m.phase ?? "",
      observation: Float64Array.from(m.observation ?? []),
      committedTotal,
      committed,
      ownLastQuantity: lastQ.length > 0 ? Float64Array.from(lastQ.slice(k * B, (k + 1) * B)) : this.lastQuantity.slice(),
      ownMarginalCost:
        mcs.length > 0 ? Float64Array.from(mcs.slice(k * B, (k + 1) * B)) : new Float64Array(B).fill(this.mc0),
    };
    // Asked again for a round already answered (the market restarted, or its connection was lost):
    // the same answer again, not a second act (which would draw the exploration noise twice).
    if (this.answered?.round === ctx.round) {
      this.opts.bus.publish(this.subj.submit(this.opts.firmId), this.answered.data);
      return;
    }
    // A round older than one already answered (a market that lost rounds it had cleared): acting
    // for it again would decide it a second time; the market gives it the default action instead.
    if (this.answered !== undefined && ctx.round < this.answered.round) {
      this.wireLog.warn("stale-move", { round: ctx.round, answered: this.answered.round }, "move request for a round before one already answered; ignored");
      return;
    }
    if (this.acting === ctx.round) return; // the answer is on its way
    this.acting = ctx.round;
    const submit = (q: Float64Array) => {
      this.stats.moves++;
      this.lastQuantity.set(q.subarray(0, B));
      const data = encode.submission({ runId: this.view.runId, firmId: this.opts.firmId, round: ctx.round, quantities: q as unknown as number[] });
      this.answered = { round: ctx.round, data };
      this.opts.bus.publish(this.subj.submit(this.opts.firmId), data);
    };
    try {
      const q = this.policy.act(ctx);
      if (q instanceof Float64Array) submit(q);
      else
        q.then(submit, (err) => {
          this.acting = -1; // asked again, it tries again
          this.log.error({ err }, "policy failed to act");
        });
    } catch (err) {
      this.acting = -1;
      this.log.error({ err }, "policy failed to act");
    }
  }

  private onOutcome(data: Uint8Array): void {
    if (!this.ready) {
      this.early.push(() => this.onOutcome(data));
      return;
    }
    if (!this.policy.observe) return;
    const o = this.decoded("Outcome", () => decode.outcome(data));
    if (!o) return;
    const B = this.view.batch;
    const f = (o.firmIds ?? []).indexOf(this.opts.firmId);
    if (f < 0) return;
    const F = (o.firmIds ?? []).length;
    const round = Number(o.round ?? 0);
    // A round is observed once: an outcome delivered again (or replayed from the record) is ignored.
    if (round <= this.lastObserved) return;
    if (
      (o.quantities ?? []).length !== F * B ||
      (o.profits ?? []).length !== F * B ||
      (o.prices ?? []).length !== B ||
      !finite(o.quantities ?? []) ||
      !finite(o.profits ?? []) ||
      !finite(o.prices ?? [])
    ) {
      this.wireLog.warn("Outcome", { round }, "outcome does not match the run; ignored");
      return;
    }
    this.lastObserved = round;
    const all = Float64Array.from(o.quantities ?? []);
    const r = this.policy.observe({
      round: Number(o.round ?? 0),
      episode: o.episode ?? 0,
      step: o.step ?? 0,
      episodeEnd: o.episodeEnd ?? false,
      prices: Float64Array.from(o.prices ?? []),
      quantity: all.slice(f * B, (f + 1) * B),
      profit: Float64Array.from((o.profits ?? []).slice(f * B, (f + 1) * B)),
      absent: (o.absent ?? [])[f] ?? false,
      allQuantities: all,
    });
    if (r instanceof Promise) r.catch((err) => this.log.error({ err }, "policy failed to observe"));
    if (this.metricsOut && this.policy.metrics) this.metricsOut.write(`${JSON.stringify({ round: Number(o.round ?? 0), ...this.policy.metrics() })}\n`);
  }

  /** The last round whose training information the policy observed. */
  private lastTrained = -1;

  private onTraining(data: Uint8Array): void {
    if (!this.ready) {
      this.early.push(() => this.onTraining(data));
      return;
    }
    const observeTraining = this.policy.observeTraining?.bind(this.policy);
    if (!observeTraining) return;
    const t = this.decoded("TrainingInfo", () => decode.training(data));
    if (!t) return;
    const round = Number(t.round ?? 0);
    // The market publishes a round's training information right after its outcome, on the same
    // connection: only the round just observed is taken (a repeat, an out-of-order or a forged
    // far-future round is dropped without moving anything).
    if (round !== this.lastObserved || round <= this.lastTrained) return;
    const ids = this.view.firms.map((f) => f.id);
    const problem = trainingProblem(t, this.view.batch, this.view.observationColumns.length, ids);
    if (problem) {
      this.wireLog.warn("TrainingInfo", { round, problem }, "training information does not match the run; ignored");
      return;
    }
    this.lastTrained = round;
    const r = observeTraining({
      round,
      episode: t.episode ?? 0,
      step: t.step ?? 0,
      episodeEnd: t.episodeEnd ?? false,
      firmIds: ids,
      // Checked above; handed over as decoded, without copies (a critic reads a few columns).
      observation: t.observation ?? [],
      nextObservation: t.nextObservation ?? [],
      quantities: t.quantities ?? [],
      profits: t.profits ?? [],
      marginalCosts: t.marginalCosts ?? [],
      prices: t.prices ?? [],
    });
    if (r instanceof Promise) r.catch((err) => this.log.error({ err }, "policy failed to observe training information"));
  }

  /** Saves the policy under checkpointDir (when both exist). */
  checkpoint(label: string): Promise<void> {
    const dir = this.opts.checkpointDir;
    const policy = this.policy;
    if (!dir || !policy?.save) return Promise.resolve();
    // One save at a time: overlapping saves could mix files of two checkpoints.
    const next = this.saving.then(async () => {
      const t0 = Date.now();
      await policy.save?.(dir);
      this.log.info({ label, ms: Date.now() - t0 }, "checkpoint saved");
    });
    this.saving = next.catch(() => {});
    return next;
  }

  private saving: Promise<void> = Promise.resolve();

  private onControl(data: Uint8Array): void {
    const c = this.decoded("RunControl", () => decode.control(data));
    if (!c) return;
    if (c.kind === ControlKind.REGISTER) {
      if (this.ready) this.reRegister("market asked every firm to register");
    } else if (c.kind === ControlKind.END_OF_RUN) {
      this.log.info({ reason: clip(c.reason, WIRE_LIMITS.detailChars), failed: c.failed ?? false }, "end of run");
      const reason = c.reason ?? "";
      // The outcome of the last round may still be in flight to observe(); the market publishes
      // END_OF_RUN after it, and NATS keeps order per connection, so it has been delivered.
      (this.ready ? this.checkpoint(`end:${Number(c.round ?? 0)}`) : Promise.resolve()).then(
        () => (c.failed ? this.rejectFinished(new RuntimeFailure(`the run failed: ${clip(reason, WIRE_LIMITS.detailChars)}`)) : this.resolveFinished(reason)),
        (err: Error) => this.rejectFinished(err),
      );
    } else if (c.kind === ControlKind.CHECKPOINT) {
      if (this.ready) this.checkpoint(c.checkpoint ?? "").catch((err) => this.log.error({ err }, "checkpoint failed"));
    } else if (c.kind === ControlKind.PHASE_CHANGE && !this.ready) {
      this.early.push(() => this.onControl(data));
    } else if (c.kind === ControlKind.PHASE_CHANGE) {
      this.exploring = (c.exploringFirmIds ?? []).includes(this.opts.firmId);
      this.policy.onPhase?.({
        name: c.phase ?? "",
        round: Number(c.round ?? 0),
        training: (c.trainingFirmIds ?? []).includes(this.opts.firmId),
        exploring: this.exploring,
      });
    }
  }

  /** Decodes a message off the wire; bytes that are not one are logged (bounded, no stack) and dropped. */
  private decoded<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.wireLog.warn(what, { error: clip((err as Error).message, WIRE_LIMITS.detailChars) }, `undecodable ${what} dropped`);
      return undefined;
    }
  }

  /** Unsubscribes and closes the policy. */
  async stop(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    this.wireLog.flush("rejects and dropped messages not logged one by one");
    if (this.metricsOut) await new Promise<void>((r) => this.metricsOut?.end(r));
    await this.policy?.close?.();
  }

  /** Fails done() (e.g. on a fatal policy error). */
  abort(err: Error): void {
    this.rejectFinished(err);
  }
}

/** The market answered the registration with a refusal; retrying will not help. */
export class RegistrationRefused extends ProtocolError {
  constructor(message: string) {
    super(message);
    this.name = "RegistrationRefused";
  }
}
