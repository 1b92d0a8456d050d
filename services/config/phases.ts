/**
 * Training schedules: which firms update their policies and which explore, round by round.
 * Pure config -> phases: the market announces every phase change in a RunControl message (so
 * outside agents follow too), and learners size their exploration schedules from the same plan.
 */
import type { Experiment } from "./load.js";

export interface Phase {
  /** "simultaneous", "train-followers", "train-leaders" or "evaluate" */
  name: string;
  /** First round of the phase. */
  startRound: number;
  training: string[];
  exploring: string[];
  /**
   * Exploring firms play uniformly in a window of this share of quantityMax around their greedy
   * quantity (the schedule's exploreWidth after the first leader phase); absent: the whole range.
   */
  exploreWidth?: number;
  /**
   * The learning firms that take turns over the instances (the schedule's splitInstances; only
   * those of a kind in SPLITTING_KINDS, when there are two or more): the k-th of these n explores,
   * and learns, only in the instances i with i mod n = k (when B >= 2n, instanceShareIn).
   */
  sharing?: string[];
}

/**
 * Learner kinds that take turns over the instances when the schedule splits them: PPO, whose
 * critic sees only its own observation, so a tier-mate's exploration noise in its reward is noise
 * it cannot explain. MAPPO's critic sees its tier-mates' quantities; DDPG, MADDPG, the tabular
 * learners and fixed rules explore (or not) in every instance, and a PPO firm does not count them
 * when it takes its turn. Firms are counted by the kind the experiment declares: an outside agent
 * in a slot declared `ppo` is counted (it does not learn the split from the market; declare its
 * slot with another kind or set splitInstances: false).
 */
export const SPLITTING_KINDS: ReadonlySet<string> = new Set(["ppo"]);

/** True when n firms taking turns over B instances leave each at least two (the split is on). */
function splitFits(n: number, batch: number): boolean {
  return n >= 2 && batch >= 2 * n;
}

/** Which instances a learning firm explores and learns in: i with i mod `of` = `slot`. */
export interface InstanceShare {
  slot: number;
  of: number;
}

/**
 * The share of the B instances `firmId` explores and learns in during `phase`: its turn among the
 * phase's sharing firms when the phase splits them (and B leaves every one two instances or
 * more), else all of them ({ slot 0, of 1 }).
 */
export function instanceShareIn(phase: Phase, firmId: string, batch: number): InstanceShare {
  const k = phase.sharing?.indexOf(firmId) ?? -1;
  const n = phase.sharing?.length ?? 0;
  if (k < 0 || !splitFits(n, batch)) return { slot: 0, of: 1 };
  return { slot: k, of: n };
}

/** The instances of a share, in order (all of them when `batch` is too small for the split). */
export function instancesOf(share: InstanceShare, batch: number): number[] {
  const { slot, of } = splitFits(share.of, batch) ? share : { slot: 0, of: 1 };
  const out: number[] = [];
  for (let i = slot; i < batch; i += of) out.push(i);
  return out;
}

/** The phases of a run in order (the first starts at round 0). */
export function phasesOf(exp: Experiment): Phase[] {
  const s = exp.training.schedule;
  const all = exp.firms.map((f) => f.id);
  const total = exp.market.totalRounds;
  if (s.kind === "simultaneous") return [{ name: "simultaneous", startRound: 0, training: all, exploring: [] }];
  if (s.kind === "evaluation") return [{ name: "evaluate", startRound: 0, training: [], exploring: [] }];
  const leaders = exp.firms.filter((f) => f.tier === 0).map((f) => f.id);
  const followers = exp.firms.filter((f) => f.tier > 0).map((f) => f.id);
  const evalStart = Math.max(0, total - s.evaluateRounds);
  const phases: Phase[] = [];
  let next: "train-followers" | "train-leaders" = s.firstPhase;
  // The window narrows only once the followers have seen the whole range and the leaders have
  // learned against them (so the greedy quantity it centres on means something).
  let followersTrained = false;
  let leadersTrained = false;
  const kindOf = new Map(exp.firms.map((f) => [f.id, f.policy.kind]));
  const split = (training: string[]) => {
    const sharing = training.filter((id) => SPLITTING_KINDS.has(kindOf.get(id) ?? ""));
    return s.splitInstances && sharing.length >= 2 ? { sharing } : {};
  };
  for (let r = 0; r < evalStart; r += s.phaseRounds) {
    const local = followersTrained && leadersTrained && s.exploreWidth < 1;
    phases.push(
      next === "train-followers"
        ? { name: next, startRound: r, training: followers, exploring: leaders, ...(local ? { exploreWidth: s.exploreWidth } : {}), ...split(followers) }
        : { name: next, startRound: r, training: leaders, exploring: [], ...split(leaders) },
    );
    if (next === "train-leaders" && followersTrained) leadersTrained = true;
    if (next === "train-followers") followersTrained = true;
    next = next === "train-followers" ? "train-leaders" : "train-followers";
  }
  if (s.evaluateRounds > 0) phases.push({ name: "evaluate", startRound: evalStart, training: [], exploring: [] });
  return phases;
}

/** The phase in force at `round`. */
export function phaseAt(phases: readonly Phase[], round: number): Phase {
  let p = phases[0]!;
  for (const q of phases) if (q.startRound <= round) p = q;
  return p;
}
