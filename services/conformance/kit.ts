/**
 * The conformance check's market: it plays the market's role for one outside agent on a real
 * nats-server, connected with the market's identity. The market's own round machine decides what
 * it accepts and rejects (so an agent is held to exactly the market's rules, with the same reject
 * codes and texts), simulated firms take the other tiers (they commit at once), and the scenario
 * (scenario.ts) can bend a round: clear it at once as if its deadline had passed, or answer the
 * agent's submission with a reject of a chosen code. It can also send move requests that decode but
 * are invalid (under round numbers of their own, never played) and, after END_OF_RUN, a stray one:
 * an agent must answer none of them. Whatever the agent gets wrong is reported to `onProblem` as
 * one line.
 */
import {
  answerable,
  type Bus,
  type BusMessage,
  type BusSubscription,
  ControlKind,
  clip,
  decode,
  detail,
  encode,
  num,
  PROTOCOL_VERSION,
  RejectCode,
  type RejectCodeName,
  Role,
  roleFromMsg,
  type RunControl,
  type RunParams,
  type RunSubjects,
  rejectName,
  roleOfTier,
  runSubjects,
  type Submission,
  type TierQuantities,
  WIRE_LIMITS,
} from "../bus/index.js";
import type { Experiment, ResolvedFirm } from "../config/index.js";
import {
  allocClearResult,
  bestReply,
  clear,
  createState,
  type MarketModel,
  type MarketState,
} from "../../market/economics/index.js";
import { type Decision, RoundMachine, runParams } from "../../market/service/index.js";

/** A reject code's wire value. */
type RejectCodeValue = (typeof RejectCode)[RejectCodeName];

export interface KitOptions {
  bus: Bus;
  /** The check's run: the agent plus one simulated firm in every other tier. */
  experiment: Experiment;
  runId: string;
  agentId: string;
}

/** A Register the kit received from the agent. */
export interface RegistrationSeen {
  readonly preparing: boolean;
  /** Answered with accepted = true. */
  readonly accepted: boolean;
  /** Unix ms. */
  readonly at: number;
}

/** How the scenario bends one round. */
export interface RoundPlan {
  /** Clear the round as soon as its move request is out, as if the deadline had passed. */
  missDeadline?: boolean;
  /** Once the agent's submission is in, send it a Reject of this code (before the outcome). */
  reject?: RejectCodeValue;
  /** Says what came before, for the line reporting an unanswered round ("after a LATE reject for round 3"). */
  context?: string;
}

/**
 * A move request for the agent as the kit would send it, before a scenario bends it out of shape
 * (see `Kit.invalidMove`): the fields an invalid move request gets wrong.
 */
export interface MoveDraft {
  batch: number;
  /** B x the run's observation columns (none in the check's run). */
  observation: number[];
  /** One entry per earlier tier (none for tier 0), firm-major, every quantity 40. */
  committed: Array<{ tier: number; firmIds: string[]; quantities: number[] }>;
  tierFirmIds: string[];
  ownLastQuantity: number[];
  ownMarginalCost: number[];
}

/** How a round went. */
export interface RoundResult {
  readonly round: number;
  /** The agent's submission was accepted before the round cleared. */
  readonly answered: boolean;
  /** Milliseconds from the move request to the accepted submission (0 when unanswered). */
  readonly ms: number;
}

interface OpenRound {
  round: number;
  plan: RoundPlan;
  openedAt: number;
  acceptedAt: number | undefined;
  resolve: (r: RoundResult) => void;
}

/** Bytes no protobuf decoder accepts: the first tag has wire type 7, which does not exist. */
export const JUNK = new TextEncoder().encode("\x0fthis is not a protobuf message");

/** Test rejects say what they are: the agent's author reads them in the agent's log. */
function testDetail(text: string): string {
  return `conformance check: a test reject (your submission was fine); the market's text would be: ${text}`;
}

export class Kit {
  readonly subj: RunSubjects;
  /** The run's public parameters (every accepted Register carries them). */
  readonly params: RunParams;
  readonly agent: ResolvedFirm;
  readonly batch: number;
  readonly deadlineMs: number;
  /** Every Register the agent sent, in arrival order. */
  readonly registrations: RegistrationSeen[] = [];
  /** Where problems go: the scenario points it at the check in progress. */
  onProblem: (text: string) => void = () => {};
  /** When END_OF_RUN went out (unix ms), 0 before. */
  endedAt = 0;

  private readonly bus: Bus;
  private readonly exp: Experiment;
  private readonly machine: RoundMachine;
  private readonly agentIndex: number;
  private readonly model: MarketModel;
  private readonly state: MarketState;
  private readonly subs: BusSubscription[] = [];
  private readonly waiters = new Set<() => void>();
  /** Ends every pending `until` (on close, so that no timer outlives the check). */
  private readonly cancels = new Set<() => void>();
  private nextRound = 0;
  private open: OpenRound | undefined;
  private timer: NodeJS.Timeout | undefined;
  private phase = "";
  private closed = false;
  /** Late submissions forgiven per round: a round the kit cleared early, a round it sent a test reject for. */
  private readonly forgiven = new Map<number, number>();
  /** Decoded submissions naming each round. */
  private readonly named = new Map<number, number>();
  /** Rounds of the invalid move requests the kit sent: what answering one gets wrong. */
  private readonly decoys = new Map<number, string>();

  constructor(o: KitOptions) {
    this.bus = o.bus;
    this.exp = o.experiment;
    this.subj = runSubjects(o.runId);
    this.params = runParams(o.experiment, this.subj.run);
    const m = o.experiment.market;
    this.batch = m.batch;
    this.deadlineMs = m.deadlineMs;
    const agent = o.experiment.firms.find((f) => f.id === o.agentId);
    if (!agent) throw new Error(`firm ${o.agentId} is not in the check's experiment`);
    this.agent = agent;
    this.agentIndex = o.experiment.firms.indexOf(agent);
    this.machine = new RoundMachine({
      firms: o.experiment.firms.map((f) => ({ id: f.id, tier: f.tier })),
      batch: m.batch,
      quantityMax: m.quantityMax,
      deadlineMs: m.deadlineMs,
      defaultAction: m.defaultAction,
      maxMisses: m.maxMisses,
    });
    // The simulated firms are in from the start; the agent registers itself.
    for (const f of o.experiment.firms) if (f !== agent) this.machine.register(f.id, f.tier, roleOfTier(f.tier));
    this.model = { demand: m.demand, costs: o.experiment.firms.map((f) => f.cost), dynamics: m.dynamics, batch: m.batch };
    this.state = createState(this.model);
  }

  /** Subscribes to registrations and submissions (before the agent starts). */
  async listen(): Promise<void> {
    this.subs.push(this.bus.subscribe(this.subj.registerAll, (m) => this.onRegister(m)));
    this.subs.push(this.bus.subscribe(this.subj.submitAll, (m) => this.onSubmit(m)));
    await this.bus.flush();
  }

  /** Resolves with `probe()`'s first defined value, re-checked after every event, or undefined after `ms`. */
  until<T>(probe: () => T | undefined, ms: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const check = () => {
        const v = probe();
        if (v !== undefined) finish(v);
      };
      const finish = (v: T | undefined) => {
        clearTimeout(t);
        this.waiters.delete(waiter);
        this.cancels.delete(cancel);
        resolve(v);
      };
      const cancel = () => finish(undefined);
      const waiter = () => check();
      const t = setTimeout(() => finish(undefined), ms);
      this.waiters.add(waiter);
      this.cancels.add(cancel);
      check();
    });
  }

  private changed(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Submissions that named `round` (valid or not). */
  submissionsNaming(round: number): number {
    return this.named.get(round) ?? 0;
  }

  /** The run starts: START and the first phase, as the market announces them. */
  start(): void {
    this.control({ kind: ControlKind.START });
    this.phaseChange(
      "simultaneous",
      this.exp.firms.map((f) => f.id),
      [],
    );
  }

  /** A training phase starts with the next round (the next move requests carry its name). */
  phaseChange(name: string, training: readonly string[], exploring: readonly string[]): void {
    this.phase = name;
    this.control({
      kind: ControlKind.PHASE_CHANGE,
      phase: name,
      trainingFirmIds: [...training],
      exploringFirmIds: [...exploring],
    });
  }

  /** Publishes a RunControl of the run (applying from the next round unless it says otherwise). */
  control(c: RunControl): void {
    this.publish(this.subj.control, encode.control({ runId: this.subj.run, round: this.nextRound, ...c }));
  }

  /** END_OF_RUN; from now on any submission is a problem. */
  endOfRun(reason: string): void {
    this.endedAt = Date.now();
    this.control({ kind: ControlKind.END_OF_RUN, reason });
  }

  /** Bytes that are not a MoveRequest, on the agent's move subject. */
  junkMove(): void {
    this.publish(this.subj.move(this.agent.tier), JUNK);
  }

  /**
   * Sends the agent a move request that decodes but is invalid as `bend` makes it, under a round
   * number of its own that is never played; returns that round. A submission for it is reported
   * as `problem` (what answering it gets wrong) and answered with OUT_OF_ORDER, as the market would.
   */
  invalidMove(problem: string, bend: (m: MoveDraft) => void): number {
    const round = this.nextRound++;
    const draft = this.draft();
    bend(draft);
    this.decoys.set(round, problem);
    this.publishDraft(round, draft);
    return round;
  }

  /** After END_OF_RUN: a well-formed move request naming the agent, which it must not answer; returns its round. */
  strayMove(): number {
    const round = this.nextRound++;
    this.publishDraft(round, this.draft());
    return round;
  }

  /** A valid move request of the agent's tier: the earlier tiers' quantities all 40. */
  private draft(): MoveDraft {
    const B = this.batch;
    const firms = this.exp.firms;
    const committed: MoveDraft["committed"] = [];
    for (let t = 0; t < this.agent.tier; t++) {
      const ids = firms.filter((f) => f.tier === t).map((f) => f.id);
      committed.push({ tier: t, firmIds: ids, quantities: new Array<number>(ids.length * B).fill(40) });
    }
    const tierIds = firms.filter((f) => f.tier === this.agent.tier).map((f) => f.id);
    return {
      batch: B,
      observation: new Array<number>(B * (this.params.observationColumns ?? []).length).fill(0),
      committed,
      tierFirmIds: tierIds,
      ownLastQuantity: [],
      ownMarginalCost: [],
    };
  }

  private publishDraft(round: number, d: MoveDraft): void {
    this.publish(
      this.subj.move(this.agent.tier),
      encode.move({
        runId: this.subj.run,
        round,
        episode: round,
        step: 0,
        episodeEnd: true,
        tier: this.agent.tier,
        deadlineUnixMs: Date.now() + this.deadlineMs,
        phase: this.phase,
        ...d,
      }),
    );
  }

  /** Plays the next round; resolves when it has cleared (the outcome is out). */
  playRound(plan: RoundPlan = {}): Promise<RoundResult> {
    // A step left behind by an agent that exited may still ask; after close() nothing happens.
    if (this.closed) return new Promise(() => {});
    if (this.open) throw new Error(`round ${this.open.round} is still open`);
    const round = this.nextRound++;
    return new Promise((resolve) => {
      this.open = { round, plan, openedAt: Date.now(), acceptedAt: undefined, resolve };
      // One-round episodes: every round starts an episode (no observation columns, nothing carried over).
      this.handle(this.machine.startRound(round, Date.now(), true));
    });
  }

  /** Stops listening and cancels the round timer; nothing is published after this. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const s of this.subs) s.unsubscribe();
    for (const c of [...this.cancels]) c();
    this.waiters.clear();
  }

  private publish(subject: string, data: Uint8Array): void {
    if (!this.closed) this.bus.publish(subject, data);
  }

  private problem(text: string): void {
    this.onProblem(text);
  }

  // -- registrations -------------------------------------------------------------------------

  private onRegister(m: BusMessage): void {
    const firmId = this.subj.firmOf(m.subject) ?? "";
    const inbox = this.subj.firmInbox(this.agent.id);
    const seen = (preparing: boolean, accepted: boolean) => {
      this.registrations.push({ preparing, accepted, at: Date.now() });
      this.changed();
    };
    // With auth on the server lets the agent publish only on its own subject; without it, say so.
    if (firmId !== this.agent.id) {
      this.problem(`a Register arrived on ${clip(m.subject, 120)}, not on the agent's own ${this.subj.register(this.agent.id)}`);
      return;
    }
    if (!answerable(m.reply, inbox)) {
      this.problem(
        `its Register asked for the reply on "${clip(m.reply ?? "(no reply subject)", 120)}", outside its own inbox ${inbox}.>: connect with inbox prefix ${inbox} (the market answers nowhere else)`,
      );
      seen(false, false);
      return;
    }
    const refuse = (code: RejectCodeValue, text: string, problem: string) => {
      this.problem(`${problem} (${rejectName(code)})`);
      m.respond(encode.registerReply({ accepted: false, reject: { code, detail: text, firmId, subject: m.subject } }));
    };
    let reg: ReturnType<typeof decode.register>;
    try {
      reg = decode.register(m.data);
    } catch (err) {
      const why = (err as Error).message;
      refuse(
        RejectCode.MALFORMED,
        detail.malformed(firmId, why, "Register"),
        `a Register was not a valid Register message (${clip(why, 120)})`,
      );
      seen(false, false);
      return;
    }
    const preparing = reg.preparing ?? false;
    if (reg.firmId !== firmId) {
      refuse(
        RejectCode.MALFORMED,
        detail.idMismatch(firmId, reg.firmId ?? ""),
        `its Register names firm "${clip(reg.firmId)}" but was sent on ${m.subject}: firm_id must be the subject's firm id`,
      );
      seen(preparing, false);
      return;
    }
    const version = reg.protocolVersion ?? 0;
    if (version !== PROTOCOL_VERSION) {
      refuse(
        RejectCode.VERSION,
        detail.version(firmId, version),
        `its Register carried protocol version ${version}; this protocol is version ${PROTOCOL_VERSION}`,
      );
      seen(preparing, false);
      return;
    }
    const role = roleFromMsg(reg.role);
    const tier = reg.tier ?? 0;
    const bad = preparing ? this.machine.checkRegistration(firmId, tier, role) : this.machine.register(firmId, tier, role);
    if (bad) {
      refuse(
        bad.code,
        bad.detail,
        `its Register claimed ${Role[reg.role ?? 0] ?? `role ${reg.role}`} in tier ${tier}; the run has ${firmId} as a ${this.agent.role} (${this.agent.role === "leader" ? "ROLE_LEADER" : "ROLE_FOLLOWER"}) in tier ${this.agent.tier}`,
      );
      seen(preparing, false);
      return;
    }
    const caps = reg.capabilities ?? [];
    if (caps.length > WIRE_LIMITS.capabilities)
      this.problem(`its Register carried ${caps.length} capabilities; the market reads at most ${WIRE_LIMITS.capabilities}`);
    for (const c of caps)
      if (c.length > WIRE_LIMITS.idChars)
        this.problem(
          `its Register carried a capability of ${c.length} characters ("${clip(c, 24)}"); the market reads at most ${WIRE_LIMITS.idChars}`,
        );
    m.respond(
      encode.registerReply({
        accepted: true,
        params: this.params,
        firmIndex: this.agentIndex,
        currentRound: this.nextRound,
      }),
    );
    seen(preparing, true);
  }

  // -- submissions ---------------------------------------------------------------------------

  private onSubmit(m: BusMessage): void {
    const firmId = this.subj.firmOf(m.subject) ?? "";
    if (firmId !== this.agent.id) {
      this.problem(`a Submission arrived on ${clip(m.subject, 120)}, not on the agent's own ${this.subj.submit(this.agent.id)}`);
      return;
    }
    let sub: Submission;
    try {
      sub = decode.submission(m.data);
    } catch (err) {
      const why = (err as Error).message;
      this.problem(`a submission was not a valid Submission message (${clip(why, 120)}) (MALFORMED)`);
      if (this.endedAt === 0)
        this.sendReject(RejectCode.MALFORMED, Math.max(0, this.machine.currentRound), detail.malformed(firmId, why));
      return;
    }
    const round = num(sub.round as number);
    this.named.set(round, (this.named.get(round) ?? 0) + 1);
    this.changed();
    if (this.endedAt > 0) {
      // The market has stopped: it answers nothing any more.
      this.problem(`it submitted for round ${round} after END_OF_RUN: a firm stops at the end of the run`);
      return;
    }
    const decoy = this.decoys.get(round);
    if (decoy !== undefined) {
      this.problem(`${decoy} (round ${round})`);
      this.sendReject(RejectCode.OUT_OF_ORDER, round, detail.wrongRound(firmId, round, this.machine.currentRound));
      return;
    }
    if (sub.runId && sub.runId !== this.subj.run)
      this.problem(`its submission for round ${round} names run "${clip(sub.runId)}"; the run is ${this.subj.run}`);
    const decisions = this.machine.submit(firmId, sub.firmId ?? "", round, sub.quantities ?? [], Date.now());
    const open = this.open;
    if (open && round === open.round && !decisions.some((d) => d.kind === "reject")) open.acceptedAt = Date.now();
    this.handle(decisions, sub);
  }

  /** What an agent's submission got wrong, from the market's reject of it. */
  private explain(d: Extract<Decision, { kind: "reject" }>, sub: Submission | undefined): string {
    const round = num(sub?.round as number);
    const q = sub?.quantities ?? [];
    const max = this.exp.market.quantityMax;
    switch (d.code) {
      case RejectCode.WRONG_BATCH:
        return `submission for round ${round} carried ${q.length} quantities, the run's batch is ${this.batch}`;
      case RejectCode.INVALID_QUANTITY: {
        const i = Array.from(q).findIndex((v) => !(v >= 0 && v <= max));
        return `submission for round ${round}: quantity[${i}] = ${q[i]} is not a finite number in [0, ${max}]`;
      }
      case RejectCode.DUPLICATE:
        return `a second submission for round ${round}: one per round`;
      case RejectCode.LATE:
        return `a submission for round ${round} after that round had cleared`;
      case RejectCode.OUT_OF_ORDER:
        return round !== d.round
          ? `a submission for round ${round} while round ${d.round} was the market's`
          : `a submission for round ${round} before its tier was asked to move`;
      case RejectCode.MALFORMED:
        return `its submission names firm "${clip(sub?.firmId)}" but was sent on ${this.subj.submit(this.agent.id)}: firm_id must be the subject's firm id`;
      case RejectCode.UNKNOWN_FIRM:
        return `a submission for round ${round} while the market did not know it (evicted, not registered again)`;
      default:
        return d.detail;
    }
  }

  private sendReject(code: RejectCodeValue, round: number, text: string): void {
    this.publish(
      this.subj.reject(this.agent.id),
      encode.reject({ code, detail: text, round, firmId: this.agent.id, subject: this.subj.submit(this.agent.id) }),
    );
  }

  // -- rounds ---------------------------------------------------------------------------------

  private handle(decisions: Decision[], sub?: Submission): void {
    for (const d of decisions) {
      if (d.kind === "reject") {
        if (d.firmId !== this.agent.id) throw new Error(`the kit's simulated firm ${d.firmId} was rejected: ${d.detail}`);
        this.sendReject(d.code, Math.max(0, d.round), d.detail);
        const round = num(sub?.round as number);
        const forgiven = this.forgiven.get(round) ?? 0;
        if (d.code === RejectCode.LATE && forgiven > 0) this.forgiven.set(round, forgiven - 1);
        else this.problem(`${this.explain(d, sub)} (${rejectName(d.code)})`);
      } else if (d.kind === "open-tier") {
        if (d.tier === this.agent.tier) this.openAgentTier(d);
        else this.simulatedTier(d);
      } else {
        this.cleared(d);
      }
    }
  }

  private openAgentTier(d: Extract<Decision, { kind: "open-tier" }>): void {
    const open = this.open;
    if (!open) return;
    const now = Date.now();
    this.publishMove(d, open.plan.missDeadline ? now : d.deadline);
    open.openedAt = now;
    if (open.plan.missDeadline) {
      // As if the deadline had passed: the tier closes before any answer can arrive.
      this.forgiven.set(d.round, 1);
      this.handle(this.machine.tick(this.machine.deadlineNow));
      return;
    }
    this.armTimer(d.deadline);
  }

  /** A simulated tier commits at once: leaders vary by round and instance, later tiers reply to what was committed. */
  private simulatedTier(d: Extract<Decision, { kind: "open-tier" }>): void {
    const B = this.batch;
    const max = this.exp.market.quantityMax;
    for (const i of d.firmIndexes) {
      const f = this.exp.firms[i]!;
      const q = new Float64Array(B);
      for (let k = 0; k < B; k++)
        q[k] =
          f.tier === 0
            ? max * (0.4 + 0.025 * ((d.round + k) % 5))
            : Math.min(max, bestReply(this.exp.market.demand, f.cost, d.committed[k] as number));
      this.handle(this.machine.submit(f.id, f.id, d.round, q, Date.now()));
    }
  }

  private armTimer(deadline: number): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        if (this.closed) return;
        const out = this.machine.tick(Date.now());
        if (out.length === 0 && this.machine.openTierNow !== null) this.armTimer(this.machine.deadlineNow);
        else this.handle(out);
      },
      Math.max(0, deadline - Date.now()) + 1,
    );
  }

  private publishMove(d: Extract<Decision, { kind: "open-tier" }>, deadline: number): void {
    const B = this.batch;
    const firms = this.exp.firms;
    const committed: TierQuantities[] = [];
    for (let t = 0; t < d.tier; t++) {
      const members = firms.flatMap((f, i) => (f.tier === t ? [i] : []));
      const q = new Float64Array(members.length * B);
      members.forEach((i, k) => q.set(this.machine.quantitiesOf(i), k * B));
      committed.push({ tier: t, firmIds: members.map((i) => firms[i]!.id), quantities: q as unknown as number[] });
    }
    this.publish(
      this.subj.move(d.tier),
      encode.move({
        runId: this.subj.run,
        round: d.round,
        episode: d.round,
        step: 0,
        episodeEnd: true,
        tier: d.tier,
        deadlineUnixMs: deadline,
        batch: B,
        // No observation columns in the check's run (one-round episodes, no shocks), no own last
        // quantities (no adjustment cost) and no marginal costs (linear costs): all empty.
        observation: [],
        committed,
        tierFirmIds: d.firmIndexes.map((i) => firms[i]!.id),
        phase: this.phase,
      }),
    );
  }

  private cleared(d: Extract<Decision, { kind: "clear" }>): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const open = this.open;
    const plan = open?.plan ?? {};
    const absent = d.absent[this.agentIndex] ?? false;
    if (plan.reject !== undefined) {
      // A test reject goes out while the round is still the market's, as a real one would; a
      // resubmission it provokes arrives after the round cleared and is forgiven once.
      this.forgiven.set(d.round, (this.forgiven.get(d.round) ?? 0) + 1);
      this.sendReject(plan.reject, d.round, testDetail(this.testRejectText(plan.reject, d.round)));
    }
    const r = clear(this.model, this.state, d.quantities, allocClearResult(this.exp.firms.length, this.batch));
    this.publish(
      this.subj.outcome,
      encode.outcome({
        runId: this.subj.run,
        round: d.round,
        episode: d.round,
        step: 0,
        episodeEnd: true,
        batch: this.batch,
        prices: r.prices as unknown as number[],
        firmIds: this.exp.firms.map((f) => f.id),
        quantities: d.quantities as unknown as number[],
        profits: r.profits as unknown as number[],
        absent: d.absent,
        evicted: d.evicted,
        clearedUnixMs: Date.now(),
      }),
    );
    if (absent && !plan.missDeadline) {
      const evicted = d.evicted[this.agentIndex]
        ? `; the market evicted it after ${this.exp.market.maxMisses} missed deadlines in a row`
        : "";
      this.problem(
        `${plan.context ? `${plan.context}, ` : ""}no valid submission for round ${d.round} before its ${this.deadlineMs} ms deadline${evicted}`,
      );
    }
    this.open = undefined;
    if (open)
      open.resolve({ round: d.round, answered: !absent, ms: !absent && open.acceptedAt ? open.acceptedAt - open.openedAt : 0 });
    this.changed();
  }

  /** The text the market would send with a reject of `code` in `round`. */
  private testRejectText(code: RejectCodeValue, round: number): string {
    const id = this.agent.id;
    switch (code) {
      case RejectCode.OUT_OF_ORDER:
        return detail.wrongRound(id, round + 1, round);
      case RejectCode.DUPLICATE:
        return detail.duplicate(id, round);
      case RejectCode.LATE:
        return detail.late(id, round, round + 1);
      case RejectCode.INVALID_QUANTITY:
        return detail.invalidQuantity(id, 0, -1, this.exp.market.quantityMax);
      case RejectCode.WRONG_BATCH:
        return detail.wrongBatch(id, this.batch + 1, this.batch);
      case RejectCode.MALFORMED:
        return detail.malformed(id, "index out of range");
      case RejectCode.UNKNOWN_FIRM:
        return detail.unknownFirm(id);
      default:
        return rejectName(code);
    }
  }
}
