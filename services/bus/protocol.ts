/**
 * The protocol's contract, declared once: which role may send which message on which subject,
 * the reject codes, and the text of every reject detail (who, what and why).
 */
import { pb } from "./codec.js";

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

/** Who sends what: checked on receipt (a message on the wrong subject kind is MALFORMED). */
export const MESSAGE_RULES = {
  Register: { sender: "firm", subject: "stk.<run>.register.<firmId>", reply: "RegisterReply" },
  MoveRequest: { sender: "market", subject: "stk.<run>.move.<tier>" },
  Submission: { sender: "firm", subject: "stk.<run>.submit.<firmId>" },
  Reject: { sender: "market", subject: "stk.<run>.reject.<firmId>" },
  Outcome: { sender: "market", subject: "stk.<run>.outcome" },
  TrainingInfo: { sender: "market", subject: "stk.<run>.train" },
  RunControl: { sender: "market", subject: "stk.<run>.control" },
} as const;

/** Reject details: one function per rule, so the text lives in one place. */
export const detail = {
  malformed: (firm: string, why: string) => `firm ${firm}: message is not a valid Submission (${why})`,
  idMismatch: (subjectFirm: string, payloadFirm: string) =>
    `firm ${subjectFirm}: payload firm_id "${payloadFirm}" disagrees with its subject; identity is the subject`,
  unknownFirm: (firm: string) => `firm ${firm}: not registered (or evicted); register before submitting`,
  outOfOrder: (firm: string, tier: number, open: number | null, round: number) =>
    open === null
      ? `firm ${firm} (tier ${tier}): no tier is open for round ${round}`
      : `firm ${firm} (tier ${tier}): tier ${open} is open in round ${round}; tier ${tier} moves after it sees earlier tiers`,
  duplicate: (firm: string, round: number) => `firm ${firm}: already submitted in round ${round}; one submission per round`,
  late: (firm: string, round: number, current: number) =>
    `firm ${firm}: submission for round ${round} arrived after its deadline (market is at round ${current})`,
  wrongRound: (firm: string, round: number, current: number) =>
    `firm ${firm}: submission names round ${round} but the market is at round ${current}`,
  wrongBatch: (firm: string, got: number, want: number) => `firm ${firm}: ${got} quantities, the run's batch size is ${want}`,
  invalidQuantity: (firm: string, index: number, value: number, max: number) =>
    `firm ${firm}: quantity[${index}] = ${value} is not a finite number in [0, ${max}]`,
  version: (firm: string, got: number) => `firm ${firm}: protocol version ${got} is not supported (this market speaks ${PROTOCOL_VERSION})`,
  notInRun: (firm: string, why: string) => `firm ${firm}: ${why}`,
} as const;
