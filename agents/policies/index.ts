/** The policy factory: builds a firm's policy from its config entry. */
import type { Logger } from "pino";
import type { Experiment, ResolvedFirm } from "../../services/config/index.js";
import type { Policy, RunView } from "../policy.js";
import { BestResponsePolicy } from "./best-response.js";
import { FixedPolicy } from "./fixed.js";

export interface PolicyEnv {
  logger: Logger;
  /** Run output folder (checkpoints go under it). */
  outDir?: string;
}

/** Returns the `makePolicy` callback a FirmRuntime calls once the run's parameters are known. */
export function makePolicyFactory(exp: Experiment, firm: ResolvedFirm, env: PolicyEnv): (run: RunView) => Promise<Policy> {
  void exp;
  void env;
  return async (run: RunView) => {
    const p = firm.policy;
    switch (p.kind) {
      case "fixed":
        return new FixedPolicy(run, p);
      case "best-response":
        return new BestResponsePolicy(run);
      default:
        throw new Error(`firms.${firm.id}.policy.kind "${p.kind}" is not available in this build`);
    }
  };
}

export { BestResponsePolicy } from "./best-response.js";
export { FixedPolicy } from "./fixed.js";
