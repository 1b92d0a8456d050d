/**
 * The conformance scenario: what the check drives an agent through, in order, one named check per
 * step. The expected behaviour is the one docs/protocol.md describes ("A firm's side of the
 * protocol"); the kit (kit.ts) plays the market and reports, as one line, whatever the agent gets
 * wrong while a step runs (a submission the market would reject, a round left unanswered, a bad
 * Register), on top of what the step itself checks.
 */
import { ControlKind, PROTOCOL_VERSION, RejectCode, type RejectCodeName } from "../bus/index.js";
import type { AgentProcess } from "./agent.js";
import type { Kit, MoveDraft, RegistrationSeen } from "./kit.js";
import type { Check } from "./report.js";

/** What a step works with. */
export interface StepContext {
  readonly kit: Kit;
  /** The agent process, when the check started it (not for an agent run by hand). */
  readonly agent: AgentProcess | undefined;
  readonly check: Check;
  /** How long the agent has to send its first Register, and its ready one after that. */
  readonly registerWaitMs: number;
}

/** One step of the scenario: one named check. */
export interface Step {
  /** The check's name, as reported. */
  readonly name: string;
  /** What the agent must do in this step. */
  readonly expects: string;
  /** Rounds the step plays (the run's total_rounds is the sum over the scenario). */
  readonly rounds: number;
  /** The step ends the run: the agent's exit is expected, not a failure. */
  readonly endsRun?: boolean;
  run(ctx: StepContext): Promise<void>;
}

/** How long the agent gets for what the scenario asks (besides the run's move deadline). */
export const TIMINGS = {
  /** To register again after an UNKNOWN_FIRM reject or a RunControl REGISTER. */
  reRegisterMs: 5000,
  /** To exit after END_OF_RUN. */
  exitMs: 5000,
  /** For a late submission of the round the kit cleared early to arrive (it need not come). */
  lateSubmissionMs: 1000,
  /** Between the junk move request and the next round (time for a crash to show). */
  junkSettleMs: 300,
  /** Between invalid move requests and the next round (time for an answer or a crash to show). */
  invalidSettleMs: 300,
  /** From END_OF_RUN to the stray move request after it (so that END_OF_RUN is surely handled first). */
  strayAfterEndMs: 200,
  /** After END_OF_RUN, for a submission to show, when the agent was started by hand. */
  afterEndMs: 1000,
  /** To exit (non-zero) after its registration was refused, in the refusal check. */
  refusalExitMs: 5000,
} as const;

/** Rounds played in "rounds". */
const NORMAL_ROUNDS = 3;

/** A move request that decodes but is invalid: what answering it gets wrong, and how it is bent. */
interface InvalidMove {
  readonly problem: (kit: Kit) => string;
  readonly bend: (m: MoveDraft, kit: Kit) => void;
}

/** The first committed entry; a tier-0 request (which has none) gets one, of a firm not in the run. */
function firstCommitted(m: MoveDraft, B: number): MoveDraft["committed"][number] {
  if (m.committed.length === 0)
    m.committed.push({ tier: 0, firmIds: ["conformance-ghost"], quantities: new Array<number>(B).fill(40) });
  return m.committed[0]!;
}

const DROP = "a firm drops a move request that does not match the run (docs/protocol.md)";

/** Committed quantities of the wrong length: `delta` values more (or fewer) than firms x B. */
function committedOff(delta: number): InvalidMove {
  return {
    problem: (kit) =>
      `it answered a move request whose committed quantities were ${delta > 0 ? "one more" : "one fewer"} than its firms x B (${kit.batch}): ${DROP}`,
    bend: (m, kit) => {
      const c = firstCommitted(m, kit.batch);
      c.quantities = new Array<number>(c.firmIds.length * kit.batch + delta).fill(40);
    },
  };
}

/** A non-finite committed quantity. */
function committedNonFinite(v: number, at: "first" | "last"): InvalidMove {
  return {
    problem: () => `it answered a move request with ${v} among its committed quantities: ${DROP}`,
    bend: (m, kit) => {
      const q = firstCommitted(m, kit.batch).quantities;
      q[at === "first" ? 0 : q.length - 1] = v;
    },
  };
}

/** The invalid-move steps: each sends its move requests, then plays a round the agent must answer. */
const INVALID_MOVE_STEPS: ReadonlyArray<{ name: string; expects: string; moves: readonly InvalidMove[] }> = [
  {
    name: "invalid-move.batch",
    expects: "a move request with batch B + 1 (its arrays sized to match): no submission for it; it answers the next round",
    moves: [
      {
        problem: (kit) => `it answered a move request with batch ${kit.batch + 1}, the run's batch is ${kit.batch}: ${DROP}`,
        bend: (m, kit) => {
          const B = kit.batch + 1;
          m.batch = B;
          m.observation = new Array<number>(B * (kit.params.observationColumns ?? []).length).fill(0);
          for (const c of m.committed) c.quantities = new Array<number>(c.firmIds.length * B).fill(40);
        },
      },
    ],
  },
  {
    name: "invalid-move.committed",
    expects:
      "move requests whose committed quantities are one short, then one too many, of firms x B: no submission for them; it answers the next round",
    moves: [committedOff(-1), committedOff(+1)],
  },
  {
    name: "invalid-move.observation",
    expects:
      "a move request whose observation is not B x the run's observation columns (B values, NaN and Infinity among them, in a run with none): no submission for it; it answers the next round",
    moves: [
      {
        problem: (kit) =>
          `it answered a move request with ${kit.batch * ((kit.params.observationColumns ?? []).length + 1)} observation values, the run has ${(kit.params.observationColumns ?? []).length} observation columns: ${DROP}`,
        bend: (m, kit) => {
          m.observation = [...m.observation, ...new Array<number>(kit.batch).fill(1)];
          m.observation[0] = Number.NaN;
          m.observation[m.observation.length - 1] = Number.POSITIVE_INFINITY;
        },
      },
    ],
  },
  {
    name: "invalid-move.non-finite",
    expects:
      "move requests with NaN, then Infinity, among committed quantities of the right length: no submission for them; it answers the next round",
    moves: [committedNonFinite(Number.NaN, "first"), committedNonFinite(Number.POSITIVE_INFINITY, "last")],
  },
  {
    name: "invalid-move.not-named",
    expects:
      "a move request of its tier whose tier_firm_ids do not name it (as after an eviction): no submission; it answers the next round",
    moves: [
      {
        problem: () =>
          "it submitted for a round whose move request did not name it in tier_firm_ids: a firm moves only when the move request names it",
        bend: (m) => {
          m.tierFirmIds = ["other-firm"];
        },
      },
    ],
  },
];

/** Submission rejects a firm must take in its stride: it keeps playing. */
const PLAY_ON_REJECTS = [
  "OUT_OF_ORDER",
  "DUPLICATE",
  "LATE",
  "INVALID_QUANTITY",
  "WRONG_BATCH",
  "MALFORMED",
] as const satisfies readonly RejectCodeName[];

export const SCENARIO: readonly Step[] = [
  {
    name: "register.preparing",
    expects:
      "a first Register on its own register subject, request/reply with the reply in its own inbox, protocol version 1, its role and tier, capabilities within WIRE_LIMITS, preparing = true",
    rounds: 0,
    run: registerPreparing,
  },
  {
    name: "register.ready",
    expects: "a second Register, the same but preparing = false, once it is ready to move",
    rounds: 0,
    run: registerReady,
  },
  {
    name: "rounds",
    expects: `answers each of ${NORMAL_ROUNDS} move requests before the deadline with one Submission: the round's number, its firm id, B finite quantities in [0, quantity_max]`,
    rounds: NORMAL_ROUNDS,
    run: normalRounds,
  },
  {
    name: "deadline-miss",
    expects: "a round the market clears without it (deadline passed): a late submission gets LATE; it answers the next round",
    rounds: 2,
    run: deadlineMiss,
  },
  ...PLAY_ON_REJECTS.map(
    (code): Step => ({
      name: `reject.${code}`,
      expects: `after a ${code} reject it keeps playing: it answers the next round`,
      rounds: 2,
      run: (ctx) => playsOnAfter(ctx, code),
    }),
  ),
  {
    name: "reject.UNKNOWN_FIRM",
    expects: "after an UNKNOWN_FIRM reject it registers again (preparing = false) and answers the next round",
    rounds: 2,
    run: unknownFirm,
  },
  {
    name: "control.REGISTER",
    expects: "after a RunControl REGISTER (the market restarted) it registers again and answers the next round",
    rounds: 1,
    run: marketRestart,
  },
  {
    name: "phase-change",
    expects: "after a RunControl PHASE_CHANGE it answers the next round (whose move request names the new phase)",
    rounds: 1,
    run: phaseChange,
  },
  {
    name: "junk-move",
    expects: "bytes that are not a MoveRequest on its move subject: no crash, no submission for them; it answers the next round",
    rounds: 1,
    run: junkMove,
  },
  ...INVALID_MOVE_STEPS.map(
    (step): Step => ({
      name: step.name,
      expects: step.expects,
      // Every invalid move request takes a round number of its own (never played).
      rounds: step.moves.length + 1,
      run: (ctx) => invalidMoves(ctx, step.moves),
    }),
  ),
  {
    name: "end-of-run.silent",
    expects: `after RunControl END_OF_RUN it submits nothing, not even for a move request naming it sent ${TIMINGS.strayAfterEndMs} ms later`,
    // The stray move request after END_OF_RUN takes a round number.
    rounds: 1,
    endsRun: true,
    run: endOfRun,
  },
  {
    name: "end-of-run.exit",
    expects: `after END_OF_RUN it exits with code 0 within ${TIMINGS.exitMs / 1000} s (only for an agent the check started)`,
    rounds: 0,
    endsRun: true,
    run: exitsAtEnd,
  },
];

/** Rounds the scenario plays: the check's run has exactly these. */
export function scenarioRounds(steps: readonly Step[] = SCENARIO): number {
  return steps.reduce((n, s) => n + s.rounds, 0);
}

const seconds = (ms: number) => `${ms / 1000} s`;

/** The first Register after the first `from`, accepted and not preparing. */
function readyAfter(kit: Kit, from: number): () => RegistrationSeen | undefined {
  return () => kit.registrations.slice(from).find((r) => r.accepted && !r.preparing);
}

async function registerPreparing({ kit, check, registerWaitMs }: StepContext): Promise<void> {
  const first = await kit.until(() => kit.registrations[0], registerWaitMs);
  if (!first)
    return check.abort(
      `no Register on ${kit.subj.register(kit.agent.id)} within ${seconds(registerWaitMs)} (does it connect to the check's server with the firm's credentials?)`,
    );
  if (!first.preparing)
    return check.fail(
      "its first Register had preparing = false: register with preparing = true first (to get RunParams), then again with preparing = false when ready",
    );
  check.pass(
    `Register with preparing = true, protocol ${PROTOCOL_VERSION}, ${kit.agent.role} in tier ${kit.agent.tier}, reply in ${kit.subj.firmInbox(kit.agent.id)}`,
  );
}

async function registerReady({ kit, check, registerWaitMs }: StepContext): Promise<void> {
  const ready = await kit.until(readyAfter(kit, 0), registerWaitMs);
  if (!ready)
    return check.abort(`no accepted Register with preparing = false within ${seconds(registerWaitMs)} after its first one`);
  // The market lets the reply reach the firm before it starts the run.
  await new Promise((r) => setTimeout(r, 20));
  kit.start();
  check.pass("Register with preparing = false accepted; START and the first PHASE_CHANGE sent");
}

async function normalRounds({ kit, check }: StepContext): Promise<void> {
  let slowest = 0;
  let first = -1;
  let last = -1;
  for (let i = 0; i < NORMAL_ROUNDS; i++) {
    const r = await kit.playRound();
    if (first < 0) first = r.round;
    last = r.round;
    slowest = Math.max(slowest, r.ms);
  }
  check.pass(`answered rounds ${first}-${last} with ${kit.batch} valid quantities each, the slowest in ${slowest} ms`);
}

async function deadlineMiss({ kit, check }: StepContext): Promise<void> {
  const missed = await kit.playRound({ missDeadline: true });
  const late = await kit.until(() => (kit.submissionsNaming(missed.round) > 0 ? true : undefined), TIMINGS.lateSubmissionMs);
  const next = await kit.playRound({ context: `after round ${missed.round} cleared without it` });
  check.pass(
    `${late ? `its late submission for round ${missed.round} got LATE` : `it did not submit round ${missed.round} late`}; it answered round ${next.round}`,
  );
}

async function playsOnAfter({ kit, check }: StepContext, code: (typeof PLAY_ON_REJECTS)[number]): Promise<void> {
  const r = await kit.playRound({ reject: RejectCode[code] });
  const next = await kit.playRound({ context: `after a ${code} reject for round ${r.round}` });
  check.pass(`rejected with ${code} for round ${r.round}, it answered round ${next.round}`);
}

async function unknownFirm({ kit, check }: StepContext): Promise<void> {
  const from = kit.registrations.length;
  const r = await kit.playRound({ reject: RejectCode.UNKNOWN_FIRM });
  const again = await kit.until(readyAfter(kit, from), TIMINGS.reRegisterMs);
  if (!again)
    check.fail(
      `no Register with preparing = false within ${seconds(TIMINGS.reRegisterMs)} of an UNKNOWN_FIRM reject for round ${r.round}: a firm the market does not know registers again`,
    );
  const next = await kit.playRound({ context: `after an UNKNOWN_FIRM reject for round ${r.round}` });
  check.pass(`registered again after UNKNOWN_FIRM for round ${r.round} and answered round ${next.round}`);
}

async function marketRestart({ kit, check }: StepContext): Promise<void> {
  const from = kit.registrations.length;
  kit.control({ kind: ControlKind.REGISTER });
  const again = await kit.until(readyAfter(kit, from), TIMINGS.reRegisterMs);
  if (!again)
    check.fail(
      `no Register with preparing = false within ${seconds(TIMINGS.reRegisterMs)} of RunControl REGISTER (the market restarted): every firm registers again`,
    );
  const next = await kit.playRound({ context: "after RunControl REGISTER" });
  check.pass(`registered again after RunControl REGISTER and answered round ${next.round}`);
}

async function phaseChange({ kit, check }: StepContext): Promise<void> {
  // The phases of an alternating schedule (market/service/schedule.ts): the agent's tier trains.
  const firms = kit.params.firms ?? [];
  const leaders = firms.filter((f) => (f.tier ?? 0) === 0).map((f) => f.firmId ?? "");
  const followers = firms.filter((f) => (f.tier ?? 0) > 0).map((f) => f.firmId ?? "");
  const phase = kit.agent.tier === 0 ? "train-leaders" : "train-followers";
  if (kit.agent.tier === 0) kit.phaseChange(phase, leaders, []);
  else kit.phaseChange(phase, followers, leaders);
  const r = await kit.playRound({ context: `after PHASE_CHANGE to "${phase}"` });
  check.pass(`answered round ${r.round} in phase "${phase}"`);
}

async function junkMove({ kit, check }: StepContext): Promise<void> {
  kit.junkMove();
  await new Promise((r) => setTimeout(r, TIMINGS.junkSettleMs));
  const r = await kit.playRound({ context: "after a junk MoveRequest" });
  check.pass(`dropped a MoveRequest that was not protobuf and answered round ${r.round}`);
}

async function invalidMoves({ kit, check }: StepContext, moves: readonly InvalidMove[]): Promise<void> {
  const rounds = moves.map((m) => kit.invalidMove(m.problem(kit), (d) => m.bend(d, kit)));
  // A submission for them is reported by the kit whenever it comes.
  await new Promise((r) => setTimeout(r, TIMINGS.invalidSettleMs));
  const which = `${rounds.length > 1 ? "rounds" : "round"} ${rounds.join(", ")}`;
  const next = await kit.playRound({ context: `after the invalid move request${rounds.length > 1 ? "s" : ""} of ${which}` });
  check.pass(
    `sent nothing for the invalid move request${rounds.length > 1 ? "s" : ""} of ${which}; it answered round ${next.round}`,
  );
}

async function endOfRun({ kit, agent, check }: StepContext): Promise<void> {
  kit.endOfRun("conformance check complete");
  // Submissions after END_OF_RUN are reported by the kit while this waits.
  await new Promise((r) => setTimeout(r, TIMINGS.strayAfterEndMs));
  const stray = kit.strayMove();
  if (agent) {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([agent.exited, new Promise((r) => (t = setTimeout(r, TIMINGS.exitMs)))]);
    clearTimeout(t);
  } else await new Promise((r) => setTimeout(r, TIMINGS.afterEndMs));
  check.pass(
    `no submission after END_OF_RUN, nor for the move request of round ${stray} sent ${TIMINGS.strayAfterEndMs} ms after it`,
  );
}

async function exitsAtEnd({ kit, agent, check }: StepContext): Promise<void> {
  if (!agent) return check.skip("not checked: the agent was started by hand (no agent command)");
  const exit = agent.exit;
  if (!exit)
    return check.fail(`still running ${seconds(TIMINGS.exitMs)} after END_OF_RUN: a firm stops at the end of the run and exits`);
  if (exit.at < kit.endedAt)
    return check.fail(`exited (${agent.describe()}) before END_OF_RUN: a firm runs until the market ends the run`);
  if (exit.code !== 0) {
    const tail = agent.tail();
    return check.fail(
      `exited with ${agent.describe()} after END_OF_RUN; a completed run ends with code 0${tail ? ` (its output ends: ${tail})` : ""}`,
    );
  }
  check.pass(`exited with code 0 ${exit.at - kit.endedAt} ms after END_OF_RUN`);
}
