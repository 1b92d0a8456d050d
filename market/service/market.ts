/**
 * The market-clearing service: the thin adapter between the bus and the round state machine.
 * It registers firms, turns machine decisions into messages (move requests, rejects, outcomes),
 * runs the deadline timer, clears through market/economics, and records every cleared round
 * in JetStream (batches of rounds, idempotent message id <run>-<first>-<last>) without blocking
 * the next round on the ack.
 */
import type { Logger } from "pino";
import {
  type Bus,
  type BusMessage,
  ControlKind,
  ObservationColumn,
  roleFromMsg,
  decode,
  detail,
  encode,
  type Outcome,
  PROTOCOL_VERSION,
  RejectCode,
  answerable,
  CAPABILITIES,
  clip,
  clipList,
  isSubjectToken,
  rejectName,
  WIRE_LIMITS,
  type RunSubjects,
  runSubjects,
  statsOf,
  type TierQuantities,
} from "../../services/bus/index.js";
import { type Experiment, receivesTrainingInfo } from "../../services/config/index.js";
import { RecordBroken } from "../../services/errors.js";
import { RateLimitedLog } from "../../services/log.js";
import {
  allocClearResult,
  type ClearResult,
  clear,
  createState,
  type MarketModel,
  type MarketState,
  marginalCost,
  advanceState,
  Rng,
} from "../economics/index.js";
import { observationColumns, runParams } from "./params.js";
import { Budget } from "./budget.js";
import { RoundRecorder, type StreamState } from "./recorder.js";
import { type Decision, RoundMachine } from "./round-machine.js";
import { type Phase, phaseAt, phasesOf } from "../../services/config/phases.js";

/** A cleared round as the service saw it (for in-process observers and tests). */
export interface ClearedRound {
  round: number;
  episode: number;
  step: number;
  outcome: Outcome;
  result: ClearResult;
}

export interface MarketServiceOptions {
  bus: Bus;
  experiment: Experiment;
  runId: string;
  logger: Logger;
  /** Clock in unix ms (tests inject one). */
  now?: () => number;
  /** The record stream's last sequence number when the market starts (0 for a new stream). */
  streamSeq?: number;
  /** Record messages awaiting their JetStream ack before the next round waits (default 16). */
  recordWindow?: number;
  /** Called after each round is cleared and published. */
  onCleared?: (r: ClearedRound) => void;
  /** Resume: the outcomes already recorded, in round order; the run continues after the last. */
  resumeFrom?: readonly Outcome[];
  /**
   * Resume: the rounds whose RoundStats are in the stream. Recorded rounds missing from it (a stop
   * between outcomes and their stats) get their stats published again.
   */
  resumeStatsRounds?: ReadonlySet<number>;
  /**
   * Name every firm in each move request even when all of a tier announced compact-move, as for a
   * client without it (the scale benchmark's baseline).
   */
  alwaysNameFirms?: boolean;
  /**
   * The record stream's state now (outcomes held, last sequence): lets the market repair the record
   * after a lost connection (RoundRecorder.resync). The market CLI reads it with JetStream.
   */
  recordState?: () => Promise<StreamState>;
  /** The id of the record stream's last message when the market starts (with recordState). */
  recordLastMsgId?: string;
}

/** Runs one market: `run()` resolves when the last round is cleared and recorded. */
export class MarketService {
  private readonly bus: Bus;
  private readonly exp: Experiment;
  private readonly subj: RunSubjects;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly machine: RoundMachine;
  private readonly model: MarketModel;
  private readonly state: MarketState;
  private readonly rng: Rng;
  private readonly result: ClearResult;
  private readonly phases: Phase[];
  /** Whether the run has CTDE learners (from the config, like their permission to hear `train`). */
  private readonly ctde: boolean;
  private readonly recorder: RoundRecorder;
  private readonly B: number;
  private readonly F: number;
  private observation: Float64Array;
  private readonly columns: ObservationColumn[];
  /** Firm indexes and ids of each tier (firm-id order). */
  private readonly tierMembers: number[][];
  private readonly tierIds: string[][];
  /** Whether move requests carry own last quantities / marginal costs (only when they matter). */
  private readonly sendLast: boolean;
  private readonly sendMc: boolean;
  private lastPrice: Float64Array;
  private lastTotal: Float64Array;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private finished = false;
  private nextRound = 0;
  private currentPhase: Phase | undefined;
  private inStartRound = false;
  private done!: () => void;
  private fail!: (e: Error) => void;
  private readonly subs: Array<{ unsubscribe(): void }> = [];
  /** Counters for logs and tests. */
  readonly stats = { rejects: 0, rounds: 0, absences: 0, dropped: 0 };
  /** Rejects are logged per firm at a bounded rate: junk cannot flood the log. */
  private readonly rejectLog: RateLimitedLog;
  private readonly registerLog: RateLimitedLog;
  /**
   * Per-firm budgets: a firm flooding its own subjects is cut off before decoding, and is not
   * answered more. Each keeps a bucket per id for the run's firms plus 1024 ids off the wire
   * (beyond that, ids share one): a run of thousands of firms must not share a bucket.
   */
  private readonly submitBudget: Budget;
  private readonly registerBudget: Budget;
  private readonly rejectBudget: Budget;
  /**
   * Per tier: the firms whose last registration did not announce CAPABILITIES.compactMove. While
   * one is left, the tier's move requests name every firm of the tier; once none is, they leave
   * tier_firm_ids out (each firm knows its tier from RunParams), so a move request's size does not
   * grow with the tier and F firms decoding it cost O(F) a round, not O(F^2).
   */
  private readonly namesNeeded: Set<string>[];
  /** The firm ids in firm-id order (every Outcome carries them). */
  private readonly firmIds: string[];
  /**
   * An accepted RegisterReply's part common to every firm (accepted, the run's public parameters),
   * encoded once: the parameters list every firm, so encoding them per registration would cost
   * O(F) each and O(F^2) for a run's registrations. Each reply appends its own fields (protobuf
   * merges concatenated encodings of one message).
   */
  private readonly acceptedReply: Uint8Array;

  constructor(private readonly opts: MarketServiceOptions) {
    this.bus = opts.bus;
    this.exp = opts.experiment;
    this.subj = runSubjects(opts.runId);
    this.log = opts.logger.child({ component: "market", run: opts.runId });
    this.ctde = opts.experiment.firms.some((f) => receivesTrainingInfo(f.policy.kind, opts.experiment.training.schedule));
    const keys = 1024 + opts.experiment.firms.length;
    this.registerLog = new RateLimitedLog(this.log, 5000, 2 * keys);
    this.rejectLog = new RateLimitedLog(this.log, 5000, keys);
    this.submitBudget = new Budget(WIRE_LIMITS.submitsPerRound, WIRE_LIMITS.submitsBurst, keys, () => this.nextRound);
    this.registerBudget = new Budget(WIRE_LIMITS.registersPerSecond, 2 * WIRE_LIMITS.registersPerSecond, keys);
    this.rejectBudget = new Budget(WIRE_LIMITS.rejectsPerSecond, 2 * WIRE_LIMITS.rejectsPerSecond, keys);
    this.acceptedReply = encode.registerReply({ accepted: true, params: runParams(opts.experiment, this.subj.run) });
    this.now = opts.now ?? Date.now;
    this.recorder = new RoundRecorder({
      bus: this.bus,
      subjects: this.subj,
      streamSeq: opts.streamSeq ?? 0,
      ...(opts.recordWindow ? { window: opts.recordWindow } : {}),
      ...(opts.recordState ? { recordState: opts.recordState, onDoubt: () => this.recordInDoubt() } : {}),
      ...(opts.recordLastMsgId ? { lastMsgId: opts.recordLastMsgId } : {}),
    });
    const m = this.exp.market;
    this.B = m.batch;
    this.F = this.exp.firms.length;
    this.machine = new RoundMachine({
      firms: this.exp.firms.map((f) => ({ id: f.id, tier: f.tier })),
      batch: m.batch,
      quantityMax: m.quantityMax,
      deadlineMs: m.deadlineMs,
      defaultAction: m.defaultAction,
      maxMisses: m.maxMisses,
    });
    this.model = { demand: m.demand, costs: this.exp.firms.map((f) => f.cost), dynamics: m.dynamics, batch: m.batch };
    this.state = createState(this.model);
    this.rng = Rng.fromName(this.exp.seed, "market-shocks");
    this.result = allocClearResult(this.F, this.B);
    this.phases = phasesOf(this.exp);
    this.columns = observationColumns(this.exp);
    this.tierMembers = Array.from({ length: this.exp.tiers }, (_, t) =>
      this.exp.firms.flatMap((f, i) => (f.tier === t ? [i] : [])),
    );
    this.tierIds = this.tierMembers.map((m) => m.map((i) => this.exp.firms[i]!.id));
    this.namesNeeded = this.tierIds.map((ids) => new Set(ids));
    this.firmIds = this.exp.firms.map((f) => f.id);
    this.observation = new Float64Array(this.B * this.columns.length);
    this.sendLast = (m.dynamics.adjustmentCost ?? 0) > 0;
    this.sendMc = this.exp.firms.some((f) => f.cost.kind === "learning-by-doing");
    this.lastPrice = new Float64Array(this.B);
    this.lastTotal = new Float64Array(this.B);
    if (opts.resumeFrom && opts.resumeFrom.length > 0) {
      this.replay(opts.resumeFrom);
      const have = opts.resumeStatsRounds ?? new Set<number>();
      this.recorder.restate(opts.resumeFrom.filter((o) => !have.has(Number(o.round ?? 0))).map(statsOf));
    }
  }

  /** Rebuilds the dynamic state by replaying recorded rounds (same seed -> same shocks). */
  private replay(outcomes: readonly Outcome[]): void {
    let expected = 0;
    const ids = this.exp.firms.map((f) => f.id).join(",");
    for (const o of outcomes) {
      const round = Number(o.round ?? 0);
      if (round !== expected)
        throw new RecordBroken(`the record of run ${this.subj.run} is not contiguous: it holds round ${round} where round ${expected} was expected`);
      // A recorded outcome must be one this run could have cleared before its state is rebuilt from it.
      const shape =
        o.runId !== this.subj.run
          ? `run id "${clip(o.runId)}"`
          : (o.firmIds ?? []).join(",") !== ids
            ? `firms "${clip((o.firmIds ?? []).join(","), 200)}"`
            : (o.quantities ?? []).length !== this.F * this.B || (o.prices ?? []).length !== this.B
              ? `${(o.quantities ?? []).length} quantities and ${(o.prices ?? []).length} prices`
              : undefined;
      if (shape)
        throw new RecordBroken(
          `the record of run ${this.subj.run} holds an outcome for round ${round} that this run cannot have cleared (${shape}; expected firms ${ids}, batch ${this.B})`,
        );
      const q = Float64Array.from(o.quantities ?? []);
      this.resetAtEpisodeStart(round);
      this.afterClear(q, Float64Array.from(o.prices ?? []));
      expected++;
    }
    this.nextRound = expected;
    const last = outcomes[outcomes.length - 1];
    if (last) this.machine.restoreLastQuantities(Float64Array.from(last.quantities ?? []));
    this.log.info({ resumeAt: this.nextRound }, "market resumed from the record");
  }

  /** Serves registrations and runs every round; resolves at the end of the run. */
  run(): Promise<void> {
    const finished = new Promise<void>((resolve, reject) => {
      this.done = resolve;
      this.fail = reject;
    });
    this.subs.push(this.bus.subscribe(this.subj.registerAll, (m) => this.onRegister(m)));
    this.subs.push(this.bus.subscribe(this.subj.submitAll, (m) => this.onSubmit(m)));
    this.bus.onConnectionChange?.((state) => (state === "disconnected" ? this.lostConnection() : this.regainedConnection()));
    this.log.info({ firms: this.F, batch: this.B, rounds: this.exp.market.totalRounds }, "market waiting for firms");
    // Firms already running (e.g. after a market restart) register again when they hear this.
    this.bus.publish(
      this.subj.control,
      encode.control({ runId: this.subj.run, kind: ControlKind.REGISTER, round: this.nextRound }),
    );
    if (this.nextRound >= this.exp.market.totalRounds) void this.finish("the record already holds every round");
    return finished;
  }

  /** Stops the run early (Ctrl-C): publishes END_OF_RUN and waits for outstanding records. */
  async stop(reason: string): Promise<void> {
    await this.finish(reason);
  }

  private onRegister(m: BusMessage): void {
    const firmId = this.subj.firmOf(m.subject) ?? "";
    if (!this.registerBudget.take(firmId)) {
      this.stats.dropped++;
      this.rejectLog.warn(firmId, { firmId: clip(firmId) }, "registrations over the firm's budget dropped");
      return;
    }
    if (!isSubjectToken(firmId) || !answerable(m.reply, this.subj.firmInbox(firmId))) {
      this.stats.rejects++;
      this.rejectLog.warn(
        firmId,
        { firmId: clip(firmId), reply: clip(m.reply, 120) },
        "registration ignored: its reply subject is not in the firm's own inbox",
      );
      return;
    }
    const rejectWith = (code: number, text: string) => {
      this.stats.rejects++;
      this.rejectLog.warn(firmId, { firmId: clip(firmId), code: rejectName(code), detail: text }, "registration rejected");
      m.respond(
        encode.registerReply({ accepted: false, reject: { code, detail: text, firmId: clip(firmId), subject: clip(m.subject, 200) } }),
      );
    };
    let reg: ReturnType<typeof decode.register>;
    try {
      reg = decode.register(m.data);
    } catch (err) {
      rejectWith(RejectCode.MALFORMED, detail.malformed(firmId, (err as Error).message, "Register"));
      return;
    }
    if (reg.firmId !== firmId) {
      rejectWith(RejectCode.MALFORMED, detail.idMismatch(firmId, reg.firmId ?? ""));
      return;
    }
    if ((reg.protocolVersion ?? 0) !== PROTOCOL_VERSION) {
      rejectWith(RejectCode.VERSION, detail.version(firmId, reg.protocolVersion ?? 0));
      return;
    }
    const role = roleFromMsg(reg.role);
    const r = reg.preparing
      ? this.machine.checkRegistration(firmId, reg.tier ?? 0, role)
      : this.machine.register(firmId, reg.tier ?? 0, role);
    if (r !== null) {
      rejectWith(r.code, r.detail);
      return;
    }
    const capabilities = clipList(reg.capabilities);
    const firmIndex = this.machine.indexOf(firmId) ?? 0;
    const needed = this.namesNeeded[this.exp.firms[firmIndex]?.tier ?? 0];
    if (capabilities.includes(CAPABILITIES.compactMove)) needed?.delete(firmId);
    else needed?.add(firmId);
    const own = encode.registerReply({ firmIndex, currentRound: Math.max(this.nextRound, this.machine.currentRound) });
    const reply = new Uint8Array(this.acceptedReply.length + own.length);
    reply.set(this.acceptedReply);
    reply.set(own, this.acceptedReply.length);
    m.respond(reply);
    // A firm may register again at any time (idempotent); a flood of valid Registers stays bounded in the log.
    this.registerLog.info(
      `${firmId}:${reg.preparing ? "preparing" : "ready"}`,
      { firmId, tier: reg.tier, capabilities, preparing: reg.preparing ?? false },
      "firm registered",
    );
    // A firm that registers again while its tier waits for it (it restarted, or its connection
    // came back) may have missed the move request: it gets it again.
    const index = this.machine.indexOf(firmId);
    // It may also have missed the announcement of the phase in force (a policy starts out training):
    // announce it again (a repeat changes nothing for the firms that have it).
    // Registrations close together (every firm after a server bounce) share one announcement.
    if (!reg.preparing && this.started && this.currentPhase && !this.phaseRepeat)
      this.phaseRepeat = setTimeout(() => {
        this.phaseRepeat = undefined;
        if (!this.finished) this.announcePhase(this.machine.currentRound);
      }, 50);
    if (!reg.preparing && this.started && !this.offline && index !== undefined && this.machine.unanswered().includes(index))
      this.resendMove([index]);
    if (!this.started && this.machine.allRegistered()) {
      this.started = true;
      // Let the reply reach the firm before the first move request.
      setTimeout(() => this.beginRun(), 20);
    }
  }

  /** A repeat of the phase announcement for firms that registered mid-run, pending. */
  private phaseRepeat: ReturnType<typeof setTimeout> | undefined;

  /** Publishes the phase in force (PHASE_CHANGE): which firms train and which explore. */
  private announcePhase(round: number): void {
    const phase = this.currentPhase;
    if (!phase) return;
    this.bus.publish(
      this.subj.control,
      encode.control({
        runId: this.subj.run,
        kind: ControlKind.PHASE_CHANGE,
        round,
        phase: phase.name,
        trainingFirmIds: phase.training,
        exploringFirmIds: phase.exploring,
      }),
    );
  }

  private beginRun(): void {
    this.log.info("all firms registered; run starts");
    this.bus.publish(this.subj.control, encode.control({ runId: this.subj.run, kind: ControlKind.START, round: this.nextRound }));
    this.startNextRound();
  }

  private onSubmit(m: BusMessage): void {
    if (this.finished) return;
    if (this.offline) {
      // Back on NATS but the record not yet repaired: a round cleared now could be recorded ahead
      // of a lost one. Held (bounded) until the repair is done.
      if (this.heldSubmits.length < WIRE_LIMITS.submitsBurst * this.F) this.heldSubmits.push(m);
      else this.stats.dropped++;
      return;
    }
    const firmId = this.subj.firmOf(m.subject) ?? "";
    if (!this.submitBudget.take(firmId)) {
      this.stats.dropped++;
      this.rejectLog.warn(firmId, { firmId: clip(firmId) }, "submissions over the firm's budget dropped");
      return;
    }
    let sub: ReturnType<typeof decode.submission>;
    try {
      sub = decode.submission(m.data);
    } catch (err) {
      this.handle([
        {
          kind: "reject",
          firmId,
          round: this.machine.currentRound,
          code: RejectCode.MALFORMED,
          detail: detail.malformed(firmId, (err as Error).message),
        },
      ]);
      return;
    }
    this.handle(this.machine.submit(firmId, sub.firmId ?? "", Number(sub.round ?? 0), sub.quantities ?? [], this.now()));
  }

  private startNextRound(): void {
    if (this.finished) return;
    if (this.offline) {
      // Nothing published now would be sure to arrive: the next round starts when NATS is back.
      this.heldStart = true;
      return;
    }
    const round = this.nextRound;
    if (round >= this.exp.market.totalRounds) {
      void this.finish("all rounds cleared");
      return;
    }
    const every = this.exp.training.checkpointEvery;
    if (every > 0 && round > 0 && round % every === 0)
      this.bus.publish(
        this.subj.control,
        encode.control({ runId: this.subj.run, kind: ControlKind.CHECKPOINT, round, checkpoint: String(round) }),
      );
    const phase = phaseAt(this.phases, round);
    if (phase !== this.currentPhase) {
      this.currentPhase = phase;
      this.announcePhase(round);
      this.log.info({ round, phase: phase.name }, "training phase");
    }
    this.buildObservation(round);
    this.inStartRound = true;
    try {
      this.handle(this.machine.startRound(round, this.now(), round % this.exp.market.roundsPerEpisode === 0));
    } finally {
      this.inStartRound = false;
    }
  }

  private buildObservation(round: number): void {
    const T = this.exp.market.roundsPerEpisode;
    const step = round % T;
    this.resetAtEpisodeStart(round);
    const C = this.columns.length;
    const o = this.observation;
    this.columns.forEach((column, j) => {
      const src =
        column === ObservationColumn.DEMAND_SHIFT
          ? this.state.shift
          : column === ObservationColumn.LAST_PRICE
            ? this.lastPrice
            : column === ObservationColumn.LAST_TOTAL_QUANTITY
              ? this.lastTotal
              : undefined; // STEP_FRACTION
      for (let i = 0; i < this.B; i++) o[i * C + j] = src ? (src[i] as number) : step / T;
    });
  }

  private handle(decisions: Decision[]): void {
    for (const d of decisions) {
      if (d.kind === "reject") {
        this.stats.rejects++;
        this.rejectLog.warn(d.firmId, { firmId: clip(d.firmId), code: rejectName(d.code), detail: d.detail }, "submission rejected");
        // The id comes from a subject token; one our subject names cannot carry gets no reply.
        // A firm gets a bounded number of rejects per second: junk does not amplify into replies.
        if (!isSubjectToken(d.firmId) || !this.rejectBudget.take(d.firmId)) this.stats.dropped++;
        else
          this.bus.publish(
            this.subj.reject(d.firmId),
            encode.reject({
              code: d.code,
              detail: d.detail,
              round: Math.max(0, d.round),
              firmId: d.firmId,
              subject: this.subj.submit(d.firmId),
            }),
          );
      } else if (d.kind === "open-tier") {
        this.publishMove(d);
        this.recorder.publishIfDue();
      } else {
        this.clearRound(d);
      }
    }
    this.armTimer();
  }

  /**
   * One lazy deadline timer: deadlines only move forward, so a timer armed for an earlier deadline
   * is left to fire, ticks the machine (a no-op when that tier already closed) and re-arms. This
   * keeps timer churn off the per-round path.
   */
  private timerAt = Number.POSITIVE_INFINITY;

  private armTimer(): void {
    const deadline = this.machine.deadlineNow;
    if (!Number.isFinite(deadline) || this.finished) return;
    if (this.timer !== undefined && this.timerAt <= deadline) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        // Cut off from NATS the firms cannot answer: no deadline runs until the connection is back.
        if (this.offline) return;
        this.handle(this.machine.tick(this.now()));
      },
      Math.max(0, deadline - this.now()) + 1,
    );
  }

  /** Disconnected from NATS (since the event), or back but the record not yet repaired. */
  private offline = false;
  private connected = true;
  /** A round that was due to start while offline. */
  private heldStart = false;
  /** Submissions that arrived while offline. */
  private readonly heldSubmits: BusMessage[] = [];
  private recovery: Promise<void> = Promise.resolve();
  /** Connection losses and record doubts survived (for logs and tests). */
  readonly outages = { lost: 0, doubts: 0, outcomesRepublished: 0 };

  /** The connection to NATS is lost: hold the round loop and its deadlines, stop counting acks. */
  private lostConnection(): void {
    this.connected = false;
    if (this.finished) return;
    this.offline = true;
    this.outages.lost++;
    this.recorder.suspend();
    this.log.warn({ round: this.machine.currentRound }, "connection to NATS lost: the round in progress waits, without deadline, for it to come back");
  }

  /**
   * The connection is back: repair the record (outcomes lost with the connection are published
   * again), give the open tier a fresh deadline, ask the firms that have not answered again (their
   * move request or their submission may be lost), and go on.
   */
  private regainedConnection(): void {
    this.connected = true;
    this.recover();
  }

  /**
   * A record publication was refused or not confirmed (e.g. a cluster electing the stream's
   * leader): hold the rounds as for a lost connection and repair the record.
   */
  private recordInDoubt(): void {
    if (this.finished) return;
    this.offline = true;
    this.outages.doubts++;
    this.log.warn({ round: this.machine.currentRound }, "the record may miss a publication: the rounds wait while it is checked");
    this.recover();
  }

  /** Repairs the record once connected, then resumes the round in progress (see regainedConnection). */
  private recover(): void {
    this.recovery = this.recovery.then(async () => {
      if (this.finished || !this.connected || !this.offline) return;
      let republished: number;
      try {
        republished = await this.recorder.resync();
      } catch (err) {
        this.abort(err as Error);
        return;
      }
      // Lost again meanwhile: the next reconnection resumes.
      if (!this.connected) return;
      this.offline = false;
      this.outages.outcomesRepublished += republished;
      this.machine.restartDeadline(this.now());
      const round = this.machine.currentRound;
      const tier = this.machine.openTierNow;
      for (const m of this.heldSubmits.splice(0)) this.onSubmit(m);
      // Still the same tier waiting: whoever has not answered is asked again.
      const waiting = round === this.machine.currentRound && tier === this.machine.openTierNow ? this.machine.unanswered() : [];
      this.resendMove(waiting);
      this.log.info({ round: this.machine.currentRound, republished, askedAgain: waiting.length }, "connection to NATS back: record checked, the round goes on");
      if (this.heldStart) {
        this.heldStart = false;
        this.startNextRound();
      }
      this.armTimer();
    });
  }

  /** Publishes the open tier's move request again, naming only `firmIndexes` (who have not answered). */
  private resendMove(firmIndexes: number[]): void {
    const tier = this.machine.openTierNow;
    if (tier === null || firmIndexes.length === 0) return;
    this.publishMove({
      kind: "open-tier",
      round: this.machine.currentRound,
      tier,
      deadline: this.machine.deadlineNow,
      committed: new Float64Array(0),
      firmIndexes,
    });
  }

  /**
   * The tier_firm_ids of a move request: empty when it asks every firm of the tier and each of them
   * reads such requests (CAPABILITIES.compactMove); otherwise the ids of the firms asked.
   */
  private namesOf(d: Extract<Decision, { kind: "open-tier" }>): string[] {
    const all = this.tierIds[d.tier] ?? [];
    if (d.firmIndexes.length === all.length && (this.namesNeeded[d.tier]?.size ?? 1) === 0 && !this.opts.alwaysNameFirms) return [];
    return d.firmIndexes.length === all.length ? all : d.firmIndexes.map((i) => this.exp.firms[i]!.id);
  }

  private publishMove(d: Extract<Decision, { kind: "open-tier" }>): void {
    const T = this.exp.market.roundsPerEpisode;
    const B = this.B;
    const committed: TierQuantities[] = [];
    for (let t = 0; t < d.tier; t++) {
      const members = this.tierMembers[t] ?? [];
      const q = new Float64Array(members.length * B);
      members.forEach((i, k) => q.set(this.machine.quantitiesOf(i), k * B));
      committed.push({ tier: t, firmIds: this.tierIds[t] ?? [], quantities: q as unknown as number[] });
    }
    const n = d.firmIndexes.length;
    const ownLast = new Float64Array(this.sendLast ? n * B : 0);
    const ownMc = new Float64Array(this.sendMc ? n * B : 0);
    d.firmIndexes.forEach((fi, k) => {
      if (this.sendLast) ownLast.set(this.state.lastQuantity.subarray(fi * B, (fi + 1) * B), k * B);
      const cost = this.exp.firms[fi]!.cost;
      if (this.sendMc)
        for (let i = 0; i < B; i++) ownMc[k * B + i] = marginalCost(cost, 0, this.state.cumulative[fi * B + i] as number);
    });
    const step = d.round % T;
    this.bus.publish(
      this.subj.move(d.tier),
      encode.move({
        runId: this.subj.run,
        round: d.round,
        episode: Math.floor(d.round / T),
        step,
        episodeEnd: step === T - 1,
        tier: d.tier,
        deadlineUnixMs: d.deadline,
        batch: B,
        observation: this.observation as unknown as number[],
        committed,
        tierFirmIds: this.namesOf(d),
        ownLastQuantity: ownLast as unknown as number[],
        ownMarginalCost: ownMc as unknown as number[],
        phase: this.currentPhase?.name ?? "",
      }),
    );
  }

  private clearRound(d: Extract<Decision, { kind: "clear" }>): void {
    const T = this.exp.market.roundsPerEpisode;
    const B = this.B;
    const r = clear(this.model, this.state, d.quantities, this.result);
    // Excluded firms (default action "exclude") are out of the market this round: no revenue, no cost.
    d.excluded.forEach((ex, f) => {
      if (ex) r.profits.fill(0, f * B, (f + 1) * B);
    });
    const step = d.round % T;
    const outcome: Outcome = {
      runId: this.subj.run,
      round: d.round,
      episode: Math.floor(d.round / T),
      step,
      episodeEnd: step === T - 1,
      batch: B,
      prices: r.prices as unknown as number[],
      firmIds: this.firmIds,
      quantities: d.quantities as unknown as number[],
      profits: r.profits as unknown as number[],
      absent: d.absent,
      evicted: d.evicted,
      clearedUnixMs: this.now(),
    };
    const bytes = encode.outcome(outcome);
    const obsBefore = this.ctde ? this.observation.slice() : undefined;
    this.stats.rounds++;
    this.stats.absences += d.absent.filter(Boolean).length;
    if (d.absent.some(Boolean))
      this.log.info(
        { round: d.round, absent: this.exp.firms.filter((_, i) => d.absent[i]).map((f) => f.id) },
        "absent firms got the default action",
      );
    let wait: Promise<void> | undefined;
    try {
      // Publishes the outcome: to the firms, and to the record stream that captures its subject.
      wait = this.recorder.add(d.round, bytes, statsOf(outcome));
    } catch (err) {
      this.abort(err as Error);
      return;
    }
    this.opts.onCleared?.({ round: d.round, episode: Math.floor(d.round / T), step, outcome, result: r });
    this.afterClear(d.quantities, r.prices);
    if (obsBefore) {
      this.buildObservation(d.round + 1);
      this.bus.publish(
        this.subj.train,
        encode.training({
          runId: this.subj.run,
          round: d.round,
          episode: Math.floor(d.round / T),
          step,
          episodeEnd: step === T - 1,
          batch: B,
          firmIds: outcome.firmIds ?? [],
          observation: obsBefore as unknown as number[],
          nextObservation: this.observation as unknown as number[],
          quantities: d.quantities as unknown as number[],
          profits: r.profits as unknown as number[],
          marginalCosts: r.marginalCosts as unknown as number[],
          prices: r.prices as unknown as number[],
        }),
      );
    }
    this.nextRound = d.round + 1;
    if (wait) {
      // The record is behind: let the server catch up before the next round.
      wait.then(
        () => setImmediate(() => this.startNextRound()),
        (err: Error) => this.abort(err),
      );
    } else if (this.inStartRound) {
      // The round cleared inside startNextRound (no firm had to answer, e.g. all evicted): continue
      // on a fresh tick so a long run of such rounds never deepens the stack.
      setImmediate(() => this.startNextRound());
    } else {
      // Cleared on a submission event: start the next round now, so its move request leaves in the
      // same socket write as this outcome.
      this.startNextRound();
    }
  }

  /** At an episode's first round the dynamic state (shock, cumulative output, last quantities) restarts. */
  private resetAtEpisodeStart(round: number): void {
    if (round % this.exp.market.roundsPerEpisode !== 0) return;
    this.state.shift.fill(0);
    this.state.cumulative.fill(0);
    this.state.lastQuantity.fill(0);
    this.state.firstRound = true;
    this.lastPrice.fill(0);
    this.lastTotal.fill(0);
  }

  /** Advances the market dynamics past a cleared round (its episode already started). */
  private afterClear(quantities: Float64Array, prices: Float64Array): void {
    const B = this.B;
    advanceState(this.model, this.state, quantities, this.rng);
    this.lastPrice.set(prices);
    this.lastTotal.fill(0);
    for (let f = 0; f < this.F; f++)
      for (let i = 0; i < B; i++) this.lastTotal[i] = (this.lastTotal[i] as number) + (quantities[f * B + i] as number);
  }

  /**
   * Stops the run on a fatal error (a broken record): firms hear END_OF_RUN with the reason, so no
   * process waits for rounds that will not come, and run() rejects with the error.
   */
  private abort(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    for (const s of this.subs) s.unsubscribe();
    this.rejectLog.flush("rejects not logged one by one");
    this.registerLog.flush("registrations not logged one by one");
    this.log.error({ error: err.message, round: this.nextRound }, "run stopped");
    this.bus.publish(
      this.subj.control,
      encode.control({
        runId: this.subj.run,
        kind: ControlKind.END_OF_RUN,
        round: this.nextRound,
        reason: `market stopped: ${clip(err.message, WIRE_LIMITS.detailChars)}`,
        failed: true,
      }),
    );
    this.bus.flush().then(
      () => this.fail(err),
      () => this.fail(err),
    );
  }

  private async finish(reason: string): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.phaseRepeat) clearTimeout(this.phaseRepeat);
    this.phaseRepeat = undefined;
    try {
      await this.recorder.flush();
      this.bus.publish(
        this.subj.control,
        encode.control({ runId: this.subj.run, kind: ControlKind.END_OF_RUN, round: this.nextRound, reason }),
      );
      await this.bus.flush();
      for (const s of this.subs) s.unsubscribe();
      this.rejectLog.flush("rejects not logged one by one");
      this.registerLog.flush("registrations not logged one by one");
      this.log.info(
        { rounds: this.stats.rounds, rejects: this.stats.rejects, absences: this.stats.absences, dropped: this.stats.dropped, reason },
        "run finished",
      );
      this.done();
    } catch (err) {
      this.fail(err as Error);
    }
  }
}
