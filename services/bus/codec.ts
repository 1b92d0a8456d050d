/**
 * The protobuf codec: statically generated from proto/stackelberg/v1 at build time
 * (scripts/gen-proto.mjs); no .proto parsing at run time.
 */
import { stackelberg } from "./gen/stackelberg.js";

export const pb = stackelberg.v1;
export type Register = stackelberg.v1.IRegister;
export type RegisterReply = stackelberg.v1.IRegisterReply;
export type RunParams = stackelberg.v1.IRunParams;
export type FirmInfo = stackelberg.v1.IFirmInfo;
export type MoveRequest = stackelberg.v1.IMoveRequest;
export type Submission = stackelberg.v1.ISubmission;
export type Reject = stackelberg.v1.IReject;
export type Outcome = stackelberg.v1.IOutcome;
export type TrainingInfo = stackelberg.v1.ITrainingInfo;
export type RunControl = stackelberg.v1.IRunControl;
export type RoundStats = stackelberg.v1.IRoundStats;
export type RoundStatsBatch = stackelberg.v1.IRoundStatsBatch;
export type TierQuantities = stackelberg.v1.ITierQuantities;
export type DemandMsg = stackelberg.v1.IDemand;
export type CostMsg = stackelberg.v1.ICost;
export const Role = stackelberg.v1.Role;
export const RejectCodeEnum = stackelberg.v1.RejectCode;
export const ControlKind = stackelberg.v1.ControlKind;
export const DefaultAction = stackelberg.v1.DefaultAction;
export const ProtocolVersion = stackelberg.v1.ProtocolVersion;

/** Encoders: message object -> bytes. */
export const encode = {
  register: (m: Register) => pb.Register.encode(m).finish(),
  registerReply: (m: RegisterReply) => pb.RegisterReply.encode(m).finish(),
  move: (m: MoveRequest) => pb.MoveRequest.encode(m).finish(),
  submission: (m: Submission) => pb.Submission.encode(m).finish(),
  reject: (m: Reject) => pb.Reject.encode(m).finish(),
  outcome: (m: Outcome) => pb.Outcome.encode(m).finish(),
  training: (m: TrainingInfo) => pb.TrainingInfo.encode(m).finish(),
  control: (m: RunControl) => pb.RunControl.encode(m).finish(),
  stats: (m: RoundStatsBatch) => pb.RoundStatsBatch.encode(m).finish(),
};

/** Decoders: bytes -> message; they throw on bytes that are not a valid message. */
export const decode = {
  register: (b: Uint8Array) => pb.Register.decode(b),
  registerReply: (b: Uint8Array) => pb.RegisterReply.decode(b),
  move: (b: Uint8Array) => pb.MoveRequest.decode(b),
  submission: (b: Uint8Array) => pb.Submission.decode(b),
  reject: (b: Uint8Array) => pb.Reject.decode(b),
  outcome: (b: Uint8Array) => pb.Outcome.decode(b),
  training: (b: Uint8Array) => pb.TrainingInfo.decode(b),
  control: (b: Uint8Array) => pb.RunControl.decode(b),
  stats: (b: Uint8Array) => pb.RoundStatsBatch.decode(b),
};

/** Converts a decoded uint64 (a number with --force-number) to a JS number. */
export function num(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

/** Mean of a[from..to) summed in index order (the one definition used by the market and readers). */
export function batchMean(a: ArrayLike<number>, from = 0, to = a.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i] as number;
  return to > from ? s / (to - from) : Number.NaN;
}

/** The RoundStats of an outcome: what the market publishes next to the record of that round. */
export function statsOf(o: Outcome): RoundStats {
  const B = o.batch ?? 1;
  const q = o.quantities ?? [];
  const p = o.profits ?? [];
  const ids = o.firmIds ?? [];
  const quantityMeans = new Array<number>(ids.length);
  const profitMeans = new Array<number>(ids.length);
  for (let f = 0; f < ids.length; f++) {
    quantityMeans[f] = batchMean(q, f * B, (f + 1) * B);
    profitMeans[f] = batchMean(p, f * B, (f + 1) * B);
  }
  return {
    round: num(o.round as number),
    episode: o.episode ?? 0,
    step: o.step ?? 0,
    episodeEnd: o.episodeEnd ?? false,
    firmIds: ids,
    priceMean: batchMean(o.prices ?? []),
    quantityMeans,
    profitMeans,
    absent: o.absent ?? [],
    clearedUnixMs: o.clearedUnixMs ?? 0,
  };
}

/**
 * An upper bound on the bytes of the largest message of a run (TrainingInfo, which carries two
 * observation tables and every firm's quantities, profits and marginal costs; the Outcome and move
 * requests are smaller): 8 bytes per packed double, plus firm ids and fixed fields.
 */
export function largestMessageBytes(batch: number, firms: number, observationColumns: number): number {
  return 8 * batch * (2 * observationColumns + 3 * firms + 2) + 72 * firms + 4096;
}

/** NATS's hard ceiling on max_payload (the server refuses larger settings). */
export const NATS_MAX_PAYLOAD_LIMIT = 64 * 1024 * 1024;

/**
 * The server max_payload a run needs: its largest message with a quarter to spare, at least 64 KiB,
 * rounded up to KiB. Smaller than NATS's 1 MiB default for small runs, so junk is bounded too.
 */
export function maxPayloadFor(batch: number, firms: number, observationColumns: number): number {
  const need = Math.ceil((largestMessageBytes(batch, firms, observationColumns) * 1.25) / 1024) * 1024;
  return Math.max(64 * 1024, need);
}
