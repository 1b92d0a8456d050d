/** The policy factory: builds a firm's policy from its config entry. */
import type { Logger } from "pino";
import type { Experiment, ResolvedFirm } from "../../services/config/index.js";
import { type LearnerOptions, learnerOptions } from "../learning/options.js";
import type { Policy, RunView } from "../policy.js";
import { BestResponsePolicy } from "./best-response.js";
import { DdpgPolicy } from "./ddpg.js";
import { FixedPolicy } from "./fixed.js";
import { HedgePolicy } from "./hedge.js";
import { PpoPolicy } from "./ppo.js";
import { QLearningPolicy } from "./q-learning.js";

export interface PolicyEnv {
  logger: Logger;
  /** Run output folder (checkpoints go under it). */
  outDir?: string;
  /** Overrides of the learner options (the report evaluates saved policies with `inline: true`). */
  learner?: Partial<LearnerOptions>;
}

/** Returns the `makePolicy` callback a FirmRuntime calls once the run's parameters are known. */
export function makePolicyFactory(exp: Experiment, firm: ResolvedFirm, env: PolicyEnv): (run: RunView) => Promise<Policy> {
  return async (run: RunView) => {
    const p = firm.policy;
    const options = () => ({ ...learnerOptions(exp, firm, env.logger), ...env.learner });
    switch (p.kind) {
      case "fixed":
        return new FixedPolicy(run, p);
      case "best-response":
        return new BestResponsePolicy(run);
      case "ppo":
      case "mappo":
        return PpoPolicy.create(run, p, options());
      case "ddpg":
      case "maddpg":
        return DdpgPolicy.create(run, p, options());
      case "q-learning":
        return new QLearningPolicy(run, p, options());
      case "hedge":
        return new HedgePolicy(run, p);
      default:
        throw new Error(`firms.${firm.id}.policy.kind "${(p as { kind: string }).kind}" is not available in this build`);
    }
  };
}

export { BestResponsePolicy } from "./best-response.js";
export { FixedPolicy } from "./fixed.js";
