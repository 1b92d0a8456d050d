/**
 * Runs the scenario's steps in order against the kit and the agent, one check per step. An agent
 * that exits before the end of the run fails the step it exited in, and the steps after it are not
 * run; so are the steps after a registration that never came.
 */
import type { AgentProcess } from "./agent.js";
import type { Kit } from "./kit.js";
import { Check, type CheckResult } from "./report.js";
import type { Step } from "./scenario.js";

export interface RunnerOptions {
  kit: Kit;
  agent: AgentProcess | undefined;
  registerWaitMs: number;
}

/** Runs `steps`; resolves with every check's verdict, in order. */
export async function runSteps(steps: readonly Step[], o: RunnerOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let stop: string | undefined;
  for (const step of steps) {
    const check = new Check(step.name);
    if (stop !== undefined) {
      check.skip(stop);
      results.push({ ...check.result(), expects: step.expects });
      continue;
    }
    o.kit.onProblem = (text) => check.fail(text);
    const run = step.run({ kit: o.kit, agent: o.agent, check, registerWaitMs: o.registerWaitMs });
    // A step left behind by an agent that exited never settles; if it fails later, that is not news.
    run.catch(() => {});
    if (o.agent && !step.endsRun) {
      const agent = o.agent;
      const gone = await Promise.race([run.then(() => false), agent.exited.then(() => true)]);
      if (gone) {
        const tail = agent.tail();
        check.fail(`the agent exited (${agent.describe()}) in this step${tail ? `; its output ends: ${tail}` : ""}`);
        stop = "not run: the agent had exited";
      }
    } else await run;
    if (check.fatal && stop === undefined) stop = `not run: ${step.name} failed`;
    results.push({ ...check.result(), expects: step.expects });
  }
  o.kit.onProblem = () => {};
  return results;
}
