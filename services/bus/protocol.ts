/**
 * The protocol's contract, declared once: which role may send which message on which subject,
 * the reject codes, and the text of every reject detail (who, what and why).
 */
import { pb } from "./codec.js";
import type { SubjectKind } from "./subjects.js";

/** The protocol version this implementation speaks. */
export const PROTOCOL_VERSION = 1;

/** Reject codes (mirrors stackelberg.v1.RejectCode). */
export const RejectCode = {
  OUT_OF_ORDER: pb.RejectCode.OUT_OF_ORDER,
  DUPLICATE: pb.RejectCode.DUPLICATE,
  UNKNOWN_FIRM: pb.RejectCode.UNKNOWN_FIRM,
  LATE: pb.RejectCode.LATE,
  MALFORMED: pb.RejectCode.MALFORMED,
  INVALID_QUANTITY: pb.RejectCode.INVALID_QUANTITY,
  WRONG_BATCH: pb.RejectCode.WRONG_BATCH,
  VERSION: pb.RejectCode.VERSION,
  NOT_IN_RUN: pb.RejectCode.NOT_IN_RUN,
} as const;
export type RejectCodeName = keyof typeof RejectCode;
export type RejectCodeValue = (typeof RejectCode)[RejectCodeName];

/** Name of a numeric reject code, e.g. for logs and tests. */
export function rejectName(code: number): string {
  return pb.RejectCode[code] ?? `UNKNOWN_CODE_${code}`;
}

/** The role of a firm of tier `tier`: tier 0 holds the leaders, every later tier followers. */
export function roleOfTier(tier: number): "leader" | "follower" {
  return tier === 0 ? "leader" : "follower";
}

/** Who takes part in the protocol: the market, a firm, a firm whose learner has a centralized critic, the record (JetStream). */
export type Party = "market" | "firm" | "ctde-firm" | "record";

/** How a message's subject is scoped: one per firm (its id), one per tier, or one for the run. */
export type Scope = "own" | "tier" | "run";

/** One message of the protocol: the subject kind it travels on (stk.<run>.<kind>[.<key>]), who sends it, who receives it. */
export interface MessageRule {
  readonly kind: SubjectKind;
  readonly scope: Scope;
  readonly sender: Party;
  readonly receivers: readonly Party[];
  /** The message answering it (request/reply), if any. */
  readonly reply?: string;
}

/**
 * Who sends what, declared once. The NATS permissions of every identity are derived from this
 * table (services/bus/permissions.ts), so the server enforces it on receipt: a firm can publish
 * only the messages a firm sends, on its own subjects, and hears only what a firm receives.
 */
export const MESSAGE_RULES = {
  Register: { kind: "register", scope: "own", sender: "firm", receivers: ["market"], reply: "RegisterReply" },
  Submission: { kind: "submit", scope: "own", sender: "firm", receivers: ["market"] },
  MoveRequest: { kind: "move", scope: "tier", sender: "market", receivers: ["firm"] },
  Reject: { kind: "reject", scope: "own", sender: "market", receivers: ["firm"] },
  Outcome: { kind: "outcome", scope: "run", sender: "market", receivers: ["firm", "record"] },
  TrainingInfo: { kind: "train", scope: "run", sender: "market", receivers: ["ctde-firm"] },
  RunControl: { kind: "control", scope: "run", sender: "market", receivers: ["firm"] },
  RoundStatsBatch: { kind: "stats", scope: "run", sender: "market", receivers: ["record"] },
} as const satisfies Record<string, MessageRule>;

/**
 * Capabilities a firm announces in its Register that change what the market sends it.
 * `compactMove`: the firm reads a MoveRequest with an empty tier_firm_ids as naming every firm of
 * its tier (RunParams.firms of that tier, in firm-id order; its own row of own_last_quantity /
 * own_marginal_cost is its position there). The market leaves the list out of a tier's move
 * requests once every firm of the tier has announced this: otherwise each of F firms would decode
 * F ids every round (O(F^2) a round across the run).
 *
 * `ctde`: the firm learns from the market's training subject (a centralized critic); informational,
 * the server's permissions decide who may read that subject.
 */
export const CAPABILITIES = { compactMove: "compact-move", ctde: "ctde" } as const;

/**
 * Bounds on what comes off the wire, applied before anything is logged or echoed back: strings are
 * clipped, lists are cut. A hostile client cannot make a log line or a Reject large.
 */
export const WIRE_LIMITS = {
  /** Characters of a firm id, a capability or a run id taken from a payload. */
  idChars: 64,
  /** Capabilities read from one Register. */
  capabilities: 16,
  /** Characters of a reject detail or a decode error. */
  detailChars: 300,
  /**
   * Submissions the market takes from one firm per round it opens (a firm needs one, or a few
   * after rejects), up to `submitsBurst` saved up: a budget per round, not per second, so fast runs
   * never starve a firm and a flood buys nothing.
   */
  submitsPerRound: 8,
  submitsBurst: 64,
  /** Registers per second the market answers for one firm (a firm needs two, and one per restart), burst 20. */
  registersPerSecond: 10,
  /** Rejects per second the market sends one firm, burst 100: enough to tell a firm what is wrong. */
  rejectsPerSecond: 50,
} as const;

/** `s` cut to `max` characters (with a marker saying how much was cut); non-printable characters escaped. */
export function clip(s: string | null | undefined, max: number = WIRE_LIMITS.idChars): string {
  const v = s ?? "";
  const head = v.length > max ? v.slice(0, max) : v;
  // Control characters would let a payload forge log lines or terminal escapes.
  let safe = "";
  for (const ch of head) {
    const c = ch.charCodeAt(0);
    safe += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? `\\x${c.toString(16).padStart(2, "0")}` : ch;
  }
  return v.length > max ? `${safe}...(${v.length - max} more chars)` : safe;
}

/**
 * Whether the market may answer firm `firmId`'s request on `reply`: only in that firm's own inbox
 * (`firmInbox`, see RunSubjects.firmInbox). Anything else would let one firm make the market
 * publish for it: on a protocol subject (stk.<run>.outcome), or into another firm's inbox. The
 * server cannot express "the requester's own inbox", so this check lives here; with auth on, the
 * server additionally confines the market's answers to the firms' inboxes.
 */
export function answerable(reply: string | undefined, firmInbox: string): reply is string {
  return reply?.startsWith(`${firmInbox}.`) === true && !/[\s*>]/.test(reply);
}

/** Capabilities of a Register, bounded: at most WIRE_LIMITS.capabilities, each clipped. */
export function clipList(list: readonly string[] | null | undefined, maxItems: number = WIRE_LIMITS.capabilities): string[] {
  const l = list ?? [];
  const out = l.slice(0, maxItems).map((c) => clip(c));
  if (l.length > maxItems) out.push(`...(${l.length - maxItems} more)`);
  return out;
}

/** Reject details: one function per rule, so the text lives in one place. Strings from the wire are clipped here. */
export const detail = {
  malformed: (firm: string, why: string, message = "Submission") =>
    `firm ${clip(firm)}: message is not a valid ${message} (${clip(why, WIRE_LIMITS.detailChars)})`,
  idMismatch: (subjectFirm: string, payloadFirm: string) =>
    `firm ${clip(subjectFirm)}: payload firm_id "${clip(payloadFirm)}" disagrees with its subject; identity is the subject`,
  unknownFirm: (firm: string) => `firm ${clip(firm)}: not registered (or evicted); register before submitting`,
  outOfOrder: (firm: string, tier: number, open: number | null, round: number) =>
    open === null
      ? `firm ${clip(firm)} (tier ${tier}): no tier is open for round ${round}`
      : `firm ${clip(firm)} (tier ${tier}): tier ${open} is open in round ${round}; tier ${tier} moves after it sees earlier tiers`,
  duplicate: (firm: string, round: number) => `firm ${clip(firm)}: already submitted in round ${round}; one submission per round`,
  late: (firm: string, round: number, current: number) =>
    `firm ${clip(firm)}: submission for round ${round} arrived after its deadline (market is at round ${current})`,
  wrongRound: (firm: string, round: number, current: number) =>
    `firm ${clip(firm)}: submission names round ${round} but the market is at round ${current}`,
  wrongBatch: (firm: string, got: number, want: number) => `firm ${clip(firm)}: ${got} quantities, the run's batch size is ${want}`,
  invalidQuantity: (firm: string, index: number, value: number, max: number) =>
    `firm ${clip(firm)}: quantity[${index}] = ${value} is not a finite number in [0, ${max}]`,
  version: (firm: string, got: number) => `firm ${clip(firm)}: protocol version ${got} is not supported (this market speaks ${PROTOCOL_VERSION})`,
  notInRun: (firm: string, why: string) => `firm ${clip(firm)}: ${why}`,
  wrongRole: (firm: string, got: string, want: string) =>
    `firm ${clip(firm)}: registered with role ${clip(got)} but the run makes it a ${want} (tier 0 is the leaders', later tiers are followers')`,
} as const;
