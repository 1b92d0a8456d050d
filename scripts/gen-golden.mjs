// Writes the golden encodings of the wire contract (proto/testdata/): for every message of
// proto/stackelberg/v1/stackelberg.proto, one or more cases as <Message>.<case>.bin (the exact bytes)
// and <Message>.<case>.json (the proto3 canonical JSON mapping of the same message).
// Run after `npm run build`:  node scripts/gen-golden.mjs
// Output is deterministic; the TypeScript, Python and Go codecs check themselves against it.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pb } from "../dist/services/bus/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "proto", "testdata");

/**
 * protobufjs toObject options giving the proto3 JSON mapping: lowerCamelCase names (protobufjs's
 * default), enums as names, 64-bit integers as decimal strings, bytes as base64, non-finite doubles
 * as "NaN"/"Infinity" (json), default values and empty repeated fields omitted (no defaults/arrays),
 * no virtual oneof-name properties (no oneofs). test/unit/bus/golden.test.ts uses the same options.
 */
export const JSON_OPTIONS = { longs: String, enums: String, bytes: String, json: true };

// Shared pieces (written in the JSON mapping; fromObject builds the messages from them).
const U64_MAX = "18446744073709551615"; // 2^64 - 1
const BIG_ROUND = "5000000000"; // above 2^32
const LEADER = { firmId: "leader-a", role: "ROLE_LEADER", cost: { linear: { c: 10 }, fixed: 2.5 } };
const FOLLOWER_B = {
  firmId: "follower-b",
  role: "ROLE_FOLLOWER",
  tier: 1,
  cost: { quadratic: { c: 12.25, d: 0.1 } },
};
const FOLLOWER_C = {
  firmId: "follower-c",
  role: "ROLE_FOLLOWER",
  tier: 1,
  cost: { learningByDoing: { c0: 20, cMin: 8.5, rate: 0.001 }, fixed: 1e-300 },
};
const RUN_PARAMS = {
  runId: "golden-run",
  batch: 2,
  roundsPerEpisode: 25,
  totalRounds: BIG_ROUND,
  tiers: 2,
  quantityMax: 123456.789,
  deadlineMs: 250,
  demand: { linear: { a: 100, b: 1.5 } },
  shockRho: 0.9,
  shockSigma: 0.1,
  adjustmentCost: 0.05,
  defaultAction: "DEFAULT_LAST",
  maxMisses: 3,
  firms: [FOLLOWER_B, FOLLOWER_C, LEADER],
  seed: U64_MAX,
  observationColumns: ["DEMAND_SHIFT", "LAST_PRICE", "LAST_TOTAL_QUANTITY", "STEP_FRACTION"],
};
const ROUND_STATS = {
  round: BIG_ROUND,
  episode: 200000000,
  step: 24,
  episodeEnd: true,
  firmIds: ["follower-b", "leader-a"],
  priceMean: 41.37,
  quantityMeans: [19.5, 38.25],
  profitMeans: [-3.75, 1234.5],
  absent: [true, false],
  clearedUnixMs: 1735689600123.5,
};

/** Message name -> case name -> the message in the JSON mapping. */
const CASES = {
  Demand: {
    linear: { linear: { a: 100, b: 1.5 } },
    constant_elasticity: { constantElasticity: { scale: 250.75, elasticity: 1.2 } },
    exponential: { exponential: { a: 80, b: 0.015 } },
    linear_zero: { linear: {} },
    empty: {},
  },
  LinearDemand: { typical: { a: 100, b: 1.5 }, empty: {} },
  ConstantElasticityDemand: { typical: { scale: 250.75, elasticity: 1.2 } },
  ExponentialDemand: { typical: { a: 80, b: 0.015 } },
  Cost: {
    linear: { linear: { c: 10 }, fixed: 2.5 },
    quadratic: { quadratic: { c: 12.25, d: 0.1 } },
    learning_by_doing: { learningByDoing: { c0: 20, cMin: 8.5, rate: 0.001 }, fixed: 1e-300 },
    fixed_only: { fixed: 5 },
    empty: {},
  },
  LinearCost: { typical: { c: 10 } },
  QuadraticCost: { typical: { c: 12.25, d: 0.1 } },
  LearningByDoingCost: { typical: { c0: 20, cMin: 8.5, rate: 0.001 } },
  FirmInfo: { leader: LEADER, follower: FOLLOWER_C },
  RunParams: {
    full: RUN_PARAMS,
    // A column from a newer contract (value 99): every codec keeps it as a number, byte for byte.
    future_column: { runId: "future", batch: 1, observationColumns: ["LAST_PRICE", 99] },
    constant_elasticity: {
      runId: "ce-run",
      batch: 1,
      roundsPerEpisode: 1,
      totalRounds: "1000",
      tiers: 3,
      quantityMax: 50,
      deadlineMs: 1000,
      demand: { constantElasticity: { scale: 250.75, elasticity: 1.2 } },
      defaultAction: "DEFAULT_ZERO",
      firms: [LEADER],
    },
    exponential: {
      runId: "exp-run",
      batch: 4096,
      demand: { exponential: { a: 80, b: 0.015 } },
      defaultAction: "DEFAULT_EXCLUDE",
    },
  },
  Register: {
    leader: {
      protocolVersion: "PROTOCOL_VERSION_1",
      firmId: "leader-a",
      role: "ROLE_LEADER",
      capabilities: ["ctde", "policy:ppo", "ünïcode-✓"],
    },
    follower_preparing: {
      protocolVersion: "PROTOCOL_VERSION_1",
      firmId: "follower-b",
      role: "ROLE_FOLLOWER",
      tier: 1,
      preparing: true,
    },
    empty: {},
  },
  RegisterReply: {
    accepted: { accepted: true, params: RUN_PARAMS, firmIndex: 2, currentRound: BIG_ROUND },
    rejected: {
      reject: {
        code: "VERSION",
        detail: "firm follower-b speaks protocol version 2; this market speaks 1",
        firmId: "follower-b",
        subject: "stk.golden-run.register.follower-b",
      },
    },
    empty: {},
  },
  TierQuantities: {
    typical: { firmIds: ["leader-a", "leader-z"], quantities: [0.1, 1e-300, 123456.789, 0] },
    empty: {},
  },
  MoveRequest: {
    tier0: {
      runId: "golden-run",
      round: BIG_ROUND,
      episode: 200000000,
      deadlineUnixMs: 1735689600250,
      batch: 2,
      observation: [0.25, 0, 0, 0, -0.125, 41.5, 39, 0.04],
      tierFirmIds: ["leader-a"],
      phase: "simultaneous",
    },
    tier1: {
      runId: "golden-run",
      round: "4294967296",
      episode: 7,
      step: 24,
      episodeEnd: true,
      tier: 2,
      deadlineUnixMs: 1735689600250.75,
      batch: 2,
      observation: [0.1, 1e-300],
      committed: [
        { firmIds: ["leader-a"], quantities: [30, 31.5] },
        { tier: 1, firmIds: ["follower-b", "follower-c"], quantities: [0.1, 1e-300, 123456.789, 2.2250738585072014e-308] },
      ],
      tierFirmIds: ["z-one", "z-two"],
      ownLastQuantity: [1, 2, 3, 4],
      ownMarginalCost: [19.999, 20, 8.5, 1.7976931348623157e308],
      phase: "train-followers",
    },
    empty: {},
  },
  Submission: {
    typical: { runId: "golden-run", firmId: "leader-a", round: BIG_ROUND, quantities: [0.1, 1e-300, 123456.789] },
    empty: {},
  },
  Reject: {
    out_of_order: {
      code: "OUT_OF_ORDER",
      detail: "tier 1 submitted before tier 0 closed",
      round: BIG_ROUND,
      firmId: "follower-b",
      subject: "stk.golden-run.submit.follower-b",
    },
    duplicate: { code: "DUPLICATE", detail: "second submission this round", round: "12", firmId: "leader-a" },
    unknown_firm: { code: "UNKNOWN_FIRM", firmId: "stranger", subject: "stk.golden-run.submit.stranger" },
    late: { code: "LATE", round: "4294967297", firmId: "leader-a" },
    malformed: { code: "MALFORMED", detail: "payload firm id disagrees with subject", firmId: "leader-a" },
    invalid_quantity: { code: "INVALID_QUANTITY", detail: "quantity[1] = -1 is negative", round: "1" },
    wrong_batch: { code: "WRONG_BATCH", detail: "3 quantities, batch is 2", round: U64_MAX },
    version: { code: "VERSION", detail: "protocol version 0 is not supported" },
    not_in_run: { code: "NOT_IN_RUN", detail: "role ROLE_LEADER does not match tier 1", firmId: "follower-b" },
    empty: {},
  },
  Outcome: {
    typical: {
      runId: "golden-run",
      round: BIG_ROUND,
      episode: 200000000,
      step: 24,
      episodeEnd: true,
      batch: 2,
      prices: [41.37, 0.1],
      firmIds: ["follower-b", "leader-a"],
      quantities: [19.5, 0, 38.25, 123456.789],
      profits: [-3.75, 0, 1234.5, -1e-300],
      absent: [true, false],
      evicted: [false, false],
      clearedUnixMs: 1735689600123.5,
    },
    empty: {},
  },
  TrainingInfo: {
    typical: {
      runId: "golden-run",
      round: BIG_ROUND,
      episode: 3,
      step: 1,
      batch: 2,
      firmIds: ["follower-b", "leader-a"],
      observation: [0.25, 0.04, -0.5, 0.04],
      nextObservation: [0.1, 0.08, 1e-300, 0.08],
      quantities: [19.5, 20.5, 38.25, 37],
      profits: [-3.75, 12, 1234.5, 123456.789],
      marginalCosts: [12.25, 12.25, 10, 10],
      prices: [41.37, 40.5],
    },
    episode_end: { runId: "golden-run", round: "3", episodeEnd: true, batch: 1, prices: [0] },
    empty: {},
  },
  RunControl: {
    start: { runId: "golden-run", kind: "START", phase: "simultaneous", trainingFirmIds: ["follower-b", "leader-a"] },
    phase_change: {
      runId: "golden-run",
      kind: "PHASE_CHANGE",
      round: BIG_ROUND,
      phase: "train-followers",
      trainingFirmIds: ["follower-b", "follower-c"],
      exploringFirmIds: ["leader-a"],
    },
    checkpoint: { runId: "golden-run", kind: "CHECKPOINT", round: "4294967296", checkpoint: "4294967296" },
    register: { runId: "golden-run", kind: "REGISTER", reason: "market restarted" },
    end_of_run: { runId: "golden-run", kind: "END_OF_RUN", round: U64_MAX, phase: "evaluate", reason: "completed" },
    end_of_run_failed: {
      runId: "golden-run",
      kind: "END_OF_RUN",
      round: "17",
      reason: "record broken at round 17 — naïve “quotes”",
      failed: true,
    },
    empty: {},
  },
  RoundStats: { typical: ROUND_STATS, empty: {} },
  RoundStatsBatch: {
    two_rounds: { rounds: [ROUND_STATS, { round: "5000000001", firmIds: ["follower-b", "leader-a"], priceMean: 0.1 }] },
    empty_round: { rounds: [{}] },
    empty: {},
  },
};

/** The field numbers of the top-level fields of a message, in wire order (to check they never decrease). */
function topLevelFieldNumbers(bytes) {
  const out = [];
  let i = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = bytes[i++];
      if (b === undefined) throw new Error("truncated varint");
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) return v;
    }
  };
  while (i < bytes.length) {
    const tag = varint();
    out.push(Number(tag >> 3n));
    const wire = Number(tag & 7n);
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 2) {
      const length = Number(varint()); // read before adding: `i += varint()` would add to the old i
      i += length;
    } else if (wire === 5) i += 4;
    else throw new Error(`unexpected wire type ${wire}`);
  }
  if (i !== bytes.length) throw new Error("field runs past the end");
  return out;
}

const messageTypes = Object.keys(pb).filter((k) => typeof pb[k] === "function" && typeof pb[k].encode === "function");
const missing = messageTypes.filter((name) => !CASES[name]);
const unknown = Object.keys(CASES).filter((name) => !messageTypes.includes(name));
if (missing.length || unknown.length) {
  throw new Error(`golden cases: missing for [${missing.join(", ")}], unknown messages [${unknown.join(", ")}]`);
}

mkdirSync(outDir, { recursive: true });
for (const f of readdirSync(outDir)) if (f.endsWith(".bin") || f.endsWith(".json")) rmSync(join(outDir, f));

const same = (a, b) => Buffer.from(a).equals(Buffer.from(b));
let written = 0;
for (const name of messageTypes) {
  const type = pb[name];
  for (const [caseName, input] of Object.entries(CASES[name])) {
    const bytes = type.encode(type.fromObject(input)).finish();
    const decoded = type.decode(bytes);
    const json = type.toObject(decoded, JSON_OPTIONS);
    // Self-checks: re-encoding, the JSON form and the JSON round trip all give the same bytes, the JSON
    // form is what the case says (no value lost or defaulted), and the fields come in ascending order.
    if (!same(type.encode(decoded).finish(), bytes)) throw new Error(`${name}.${caseName}: re-encoding differs`);
    const parsed = JSON.parse(JSON.stringify(json));
    if (!same(type.encode(type.fromObject(parsed)).finish(), bytes))
      throw new Error(`${name}.${caseName}: JSON round trip differs`);
    const fields = topLevelFieldNumbers(bytes);
    if (fields.some((f, i) => i > 0 && f < fields[i - 1])) throw new Error(`${name}.${caseName}: fields out of order`);
    const text = `${JSON.stringify(parsed, null, 2)}\n`;
    if (!sameJson(input, parsed)) {
      throw new Error(`${name}.${caseName}: JSON form ${JSON.stringify(parsed)} differs from the case ${JSON.stringify(input)}`);
    }
    writeFileSync(join(outDir, `${name}.${caseName}.bin`), bytes);
    writeFileSync(join(outDir, `${name}.${caseName}.json`), text);
    written++;
  }
}
// Lay the .json files out as the repository's formatter does (`npm run format` must not change them).
execFileSync(join(root, "node_modules", ".bin", "biome"), ["format", "--write", outDir], { stdio: "ignore" });
console.log(`golden: wrote ${written} cases for ${messageTypes.length} messages to ${outDir}`);

/** Structural JSON equality, ignoring key order. */
function sameJson(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return sameJson(ka, kb) && ka.every((k) => sameJson(a[k], b[k]));
  }
  return a === b;
}
