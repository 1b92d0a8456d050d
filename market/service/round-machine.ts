/**
 * The round state machine: the authority on move order. Pure and synchronous: events in
 * (registrations, submissions, clock ticks with the current time), decisions out (open a tier,
 * reject a message, clear the round). No I/O and no timers, so every move-order rule is
 * unit-testable without a server; market.ts is the thin NATS adapter around it.
 */
import { detail, RejectCode, type RejectCodeValue, roleOfTier } from "../../services/bus/protocol.js";
import type { roleFromMsg } from "../../services/bus/contract.js";

/** One firm the run expects (from the experiment config). */
export interface ExpectedFirm {
  id: string;
  tier: number;
}

/** The role a registration claims: tier 0 holds the leaders, every later tier followers. */
/** The role a registration claims (roleFromMsg of its wire enum). */
export type ClaimedRole = ReturnType<typeof roleFromMsg>;

/** What the machine needs to know about the run. */
export interface RoundMachineConfig {
  /** Firms sorted by id: the order of every firm-major array. */
  firms: readonly ExpectedFirm[];
  batch: number;
  quantityMax: number;
  deadlineMs: number;
  defaultAction: "last" | "zero" | "exclude";
  maxMisses: number;
}

export type Decision =
  | { kind: "open-tier"; round: number; tier: number; deadline: number; committed: Float64Array; firmIndexes: readonly number[] }
  | { kind: "reject"; firmId: string; round: number; code: RejectCodeValue; detail: string }
  | { kind: "clear"; round: number; quantities: Float64Array; absent: boolean[]; excluded: boolean[]; evicted: boolean[] };

interface FirmSlot {
  id: string;
  index: number;
  tier: number;
  registered: boolean;
  evicted: boolean;
  misses: number;
  submitted: boolean;
  absent: boolean;
}

/** Validates the machine's options, naming the bad field. */
function validate(cfg: RoundMachineConfig): void {
  if (!Number.isInteger(cfg.batch) || cfg.batch < 1) throw new TypeError("market.batch must be a positive integer");
  if (!(cfg.quantityMax > 0) || !Number.isFinite(cfg.quantityMax)) throw new TypeError("market.quantityMax must be a finite number > 0");
  if (!Number.isInteger(cfg.deadlineMs) || cfg.deadlineMs < 1) throw new TypeError("market.deadlineMs must be a positive integer");
  if (!Number.isInteger(cfg.maxMisses) || cfg.maxMisses < 1) throw new TypeError("market.maxMisses must be a positive integer");
  if (cfg.firms.length === 0) throw new TypeError("firms must not be empty");
  for (let i = 1; i < cfg.firms.length; i++) {
    if ((cfg.firms[i - 1]?.id ?? "") >= (cfg.firms[i]?.id ?? "")) throw new TypeError("firms must be sorted by id without duplicates");
  }
}

/**
 * Tracks registrations and one round at a time. Tier t opens after tier t-1 closes (all its
 * active firms submitted, or its deadline passed); after the last tier the round clears.
 */
export class RoundMachine {
  readonly tiers: number;
  private readonly slots: FirmSlot[];
  private readonly byId = new Map<string, FirmSlot>();
  private readonly tierMembers: number[][];
  /** Quantities of the round in progress (firm-major F x B). */
  private readonly quantities: Float64Array;
  /** Last quantities used in clearing, for the "last" default action. */
  private readonly lastQuantities: Float64Array;
  private round = -1;
  private clearedRound = -1;
  private openTier: number | null = null;
  /** Firms of the open tier that have neither submitted nor been given the default. */
  private pending = 0;
  private deadline = Number.POSITIVE_INFINITY;

  constructor(private readonly cfg: RoundMachineConfig) {
    validate(cfg);
    this.slots = cfg.firms.map((f, index) => ({
      id: f.id,
      index,
      tier: f.tier,
      registered: false,
      evicted: false,
      misses: 0,
      submitted: false,
      absent: false,
    }));
    for (const s of this.slots) this.byId.set(s.id, s);
    this.tiers = Math.max(...cfg.firms.map((f) => f.tier)) + 1;
    this.tierMembers = Array.from({ length: this.tiers }, (_, t) => this.slots.filter((s) => s.tier === t).map((s) => s.index));
    this.quantities = new Float64Array(cfg.firms.length * cfg.batch);
    this.lastQuantities = new Float64Array(cfg.firms.length * cfg.batch);
  }

  /** The round in progress (or the last one cleared), -1 before the first. */
  get currentRound(): number {
    return this.round;
  }

  get openTierNow(): number | null {
    return this.openTier;
  }

  get deadlineNow(): number {
    return this.deadline;
  }

  /** True when every expected firm has registered (the run may start). */
  allRegistered(): boolean {
    return this.slots.every((s) => s.registered);
  }

  /** Index of a firm in the sorted order, or undefined. */
  indexOf(firmId: string): number | undefined {
    return this.byId.get(firmId)?.index;
  }

  /** Whether `firmId` may register for `tier` with `role`: a reject decision (NOT_IN_RUN), or null. Changes nothing. */
  checkRegistration(firmId: string, tier: number, role: ClaimedRole): Extract<Decision, { kind: "reject" }> | null {
    const s = this.byId.get(firmId);
    if (s === undefined)
      return this.reject(firmId, RejectCode.NOT_IN_RUN, detail.notInRun(firmId, "is not a firm of this run's configuration"));
    if (s.tier !== tier)
      return this.reject(firmId, RejectCode.NOT_IN_RUN, detail.notInRun(firmId, `registered for tier ${tier} but the run places it in tier ${s.tier}`));
    if (role !== roleOfTier(s.tier)) return this.reject(firmId, RejectCode.NOT_IN_RUN, detail.wrongRole(firmId, role, roleOfTier(s.tier)));
    return null;
  }

  /** Registration (idempotent): returns a reject decision, or null when accepted. A re-registration lifts an eviction. */
  register(firmId: string, tier: number, role: ClaimedRole): Extract<Decision, { kind: "reject" }> | null {
    const bad = this.checkRegistration(firmId, tier, role);
    if (bad !== null) return bad;
    const s = this.byId.get(firmId)!;
    s.registered = true;
    s.evicted = false;
    s.misses = 0;
    return null;
  }

  /** The quantities firm `index` committed in the round in progress (length B). */
  quantitiesOf(index: number): Float64Array {
    const B = this.cfg.batch;
    return this.quantities.subarray(index * B, (index + 1) * B);
  }

  /** Sets the last quantities (used when resuming from a record). */
  restoreLastQuantities(q: Float64Array): void {
    this.lastQuantities.set(q);
  }

  /**
   * Starts round `round` (strictly after the previous one): opens tier 0. At an episode start the
   * "last" default action has no last quantity: it plays 0.
   */
  startRound(round: number, now: number, episodeStart = false): Decision[] {
    if (round <= this.round) throw new RangeError(`round ${round} must follow round ${this.round}`);
    if (this.openTier !== null) throw new Error(`round ${this.round} is still open`);
    this.round = round;
    if (episodeStart) this.lastQuantities.fill(0);
    for (const s of this.slots) {
      s.submitted = false;
      s.absent = false;
    }
    this.quantities.fill(0);
    return this.open(0, now);
  }

  /** Opens tier `tier`, or clears when past the last tier; skips tiers with no active firm. */
  private open(tier: number, now: number): Decision[] {
    if (tier >= this.tiers) return [this.clear()];
    const members = this.tierMembers[tier] ?? [];
    this.openTier = tier;
    this.deadline = now + this.cfg.deadlineMs;
    // Inactive firms (evicted, never registered) get the default at once: nobody waits for them.
    this.pending = 0;
    for (const i of members) {
      const s = this.slots[i]!;
      if (!s.registered || s.evicted) this.applyDefault(s);
      else this.pending++;
    }
    const out: Decision[] = [
      { kind: "open-tier", round: this.round, tier, deadline: this.deadline, committed: this.committedTotal(tier), firmIndexes: members },
    ];
    // With no active firm anywhere (all evicted or gone), rounds still wait for their deadlines:
    // clearing thousands of default-only rounds at once would leave no time to re-register.
    if (this.pending === 0 && this.anyActive()) out.push(...this.close(now));
    return out;
  }

  private anyActive(): boolean {
    return this.slots.some((s) => s.registered && !s.evicted);
  }

  private committedTotal(tier: number): Float64Array {
    const B = this.cfg.batch;
    const out = new Float64Array(B);
    for (const s of this.slots) {
      if (s.tier >= tier) continue;
      const off = s.index * B;
      for (let i = 0; i < B; i++) out[i] = (out[i] as number) + (this.quantities[off + i] as number);
    }
    return out;
  }

  private applyDefault(s: FirmSlot): void {
    s.absent = true;
    const B = this.cfg.batch;
    const off = s.index * B;
    if (this.cfg.defaultAction === "last") this.quantities.set(this.lastQuantities.subarray(off, off + B), off);
    else this.quantities.fill(0, off, off + B);
  }

  /** Closes the open tier and opens the next (or clears). */
  private close(now: number): Decision[] {
    const t = this.openTier;
    if (t === null) return [];
    this.openTier = null;
    this.deadline = Number.POSITIVE_INFINITY;
    return this.open(t + 1, now);
  }

  private clear(): Decision {
    this.openTier = null;
    this.clearedRound = this.round;
    const absent = this.slots.map((s) => s.absent);
    for (const s of this.slots) {
      if (s.absent && s.registered && !s.evicted) {
        s.misses++;
        if (s.misses >= this.cfg.maxMisses) s.evicted = true;
      } else if (s.submitted) s.misses = 0;
    }
    this.lastQuantities.set(this.quantities);
    return {
      kind: "clear",
      round: this.round,
      quantities: this.quantities.slice(),
      absent,
      excluded: this.slots.map((s) => s.absent && this.cfg.defaultAction === "exclude"),
      evicted: this.slots.map((s) => s.evicted),
    };
  }

  /**
   * Active firms of the open tier that have not answered yet (indexes), in firm-id order; empty
   * when no tier is open.
   */
  unanswered(): number[] {
    if (this.openTier === null) return [];
    return (this.tierMembers[this.openTier] ?? []).filter((i) => {
      const s = this.slots[i]!;
      return s.registered && !s.evicted && !s.submitted && !s.absent;
    });
  }

  /**
   * Gives the open tier a fresh deadline from `now` (after the market was cut off from its firms,
   * e.g. a NATS outage: they could not answer meanwhile). Returns the new deadline, or undefined
   * when no tier is open.
   */
  restartDeadline(now: number): number | undefined {
    if (this.openTier === null) return undefined;
    this.deadline = now + this.cfg.deadlineMs;
    return this.deadline;
  }

  /** Clock tick: closes the open tier when its deadline has passed (absent firms get the default). */
  tick(now: number): Decision[] {
    if (this.openTier === null || now < this.deadline) return [];
    for (const i of this.tierMembers[this.openTier] ?? []) {
      const s = this.slots[i]!;
      if (!s.submitted && !s.absent) this.applyDefault(s);
    }
    return this.close(now);
  }

  /**
   * A submission from the firm named by the subject. `payloadFirmId` is the id the payload claims;
   * `quantities` are already decoded. Returns rejects, or the decisions the acceptance caused.
   */
  submit(subjectFirmId: string, payloadFirmId: string, round: number, quantities: ArrayLike<number>, now: number): Decision[] {
    // A firm whose tier is not open yet was not asked to move: refuse it before the clock may open
    // its tier (it cannot have seen the earlier tiers' quantities).
    const early = this.byId.get(subjectFirmId);
    if (early && payloadFirmId === subjectFirmId && early.registered && !early.evicted && round === this.round && this.openTier !== null && early.tier > this.openTier)
      return [...this.tick(now), this.reject(subjectFirmId, RejectCode.OUT_OF_ORDER, detail.outOfOrder(subjectFirmId, early.tier, this.openTier, round))];
    const out = this.tick(now);
    const reject = this.check(subjectFirmId, payloadFirmId, round, quantities);
    if (reject !== null) return [...out, reject];
    const s = this.byId.get(subjectFirmId)!;
    s.submitted = true;
    this.quantities.set(quantities, s.index * this.cfg.batch);
    // check() accepts only firms of the open tier that have not moved yet: one fewer to wait for.
    // (A counter, not a scan of the tier: a scan per submission is O(F^2) a round.)
    if (--this.pending === 0) out.push(...this.close(now));
    return out;
  }

  private check(
    firmId: string,
    payloadFirmId: string,
    round: number,
    q: ArrayLike<number>,
  ): Extract<Decision, { kind: "reject" }> | null {
    if (payloadFirmId !== firmId) return this.reject(firmId, RejectCode.MALFORMED, detail.idMismatch(firmId, payloadFirmId));
    const s = this.byId.get(firmId);
    if (s === undefined || !s.registered || s.evicted) return this.reject(firmId, RejectCode.UNKNOWN_FIRM, detail.unknownFirm(firmId));
    if (round <= this.clearedRound) return this.reject(firmId, RejectCode.LATE, detail.late(firmId, round, this.round));
    if (round !== this.round) return this.reject(firmId, RejectCode.OUT_OF_ORDER, detail.wrongRound(firmId, round, this.round));
    if (s.submitted) return this.reject(firmId, RejectCode.DUPLICATE, detail.duplicate(firmId, round));
    if (this.openTier === null || s.tier > this.openTier)
      return this.reject(firmId, RejectCode.OUT_OF_ORDER, detail.outOfOrder(firmId, s.tier, this.openTier, round));
    if (s.tier < this.openTier || s.absent) return this.reject(firmId, RejectCode.LATE, detail.late(firmId, round, this.round));
    if (q.length !== this.cfg.batch) return this.reject(firmId, RejectCode.WRONG_BATCH, detail.wrongBatch(firmId, q.length, this.cfg.batch));
    const max = this.cfg.quantityMax;
    for (let i = 0; i < q.length; i++) {
      const v = q[i] as number;
      // NaN fails every comparison, so test for the valid range rather than the invalid one.
      if (!(v >= 0 && v <= max)) return this.reject(firmId, RejectCode.INVALID_QUANTITY, detail.invalidQuantity(firmId, i, v, max));
    }
    return null;
  }

  private reject(firmId: string, code: RejectCodeValue, text: string): Extract<Decision, { kind: "reject" }> {
    return { kind: "reject", firmId, round: this.round, code, detail: text };
  }
}
