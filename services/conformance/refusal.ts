/**
 * The refusal check: a second, short session after the scenario. The agent is started again on
 * the same run and credentials; the kit's market refuses its Register (NOT_IN_RUN, as for a firm
 * the run does not have), and the agent must stop with an error: exit non-zero within a few
 * seconds (docs/protocol.md: "registering again will not help"). The main scenario is not changed
 * by it: it runs with its own market, which accepts the agent.
 */
import {
  answerable,
  type Bus,
  type BusSubscription,
  clip,
  encode,
  RejectCode,
  rejectName,
  type RunSubjects,
} from "../bus/index.js";
import { AgentProcess, type AgentValues } from "./agent.js";
import { Check, type CheckResult } from "./report.js";
import { TIMINGS } from "./scenario.js";

/** The check's name and what the agent must do, as reported. */
export const REFUSAL_CHECK = {
  name: "register.refused",
  expects: `started again and refused at registration (NOT_IN_RUN), it stops with an error: a non-zero exit within ${TIMINGS.refusalExitMs / 1000} s of the refusal`,
} as const;

const REFUSAL_CODE = RejectCode.NOT_IN_RUN;

export interface RefusalOptions {
  bus: Bus;
  subj: RunSubjects;
  /** The agent's command (placeholders not yet filled in) and its values. */
  command: readonly string[];
  values: AgentValues;
  /** How long the agent has to send its Register. */
  registerWaitMs: number;
  /** Where the agent's output goes (e.g. agent-refused.log). */
  logFile?: string;
  /** Receives the started agent (so that the caller can stop it if interrupted). */
  started?: (agent: AgentProcess) => void;
}

/** A wait that can be cut short. */
function sleep(ms: number): { done: Promise<void>; cancel: () => void } {
  let t: NodeJS.Timeout | undefined;
  let resolve: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
    t = setTimeout(r, ms);
  });
  const cancel = () => {
    clearTimeout(t);
    resolve();
  };
  return { done, cancel };
}

/** Runs the refusal check; the scenario's kit must have stopped answering registrations first. */
export async function checkRefusal(o: RefusalOptions): Promise<CheckResult> {
  const check = new Check(REFUSAL_CHECK.name);
  const id = o.values.firm;
  const inbox = o.subj.firmInbox(id);
  let refusedAt = 0;
  let registers = 0;
  let registered: () => void = () => {};
  const firstRegister = new Promise<void>((r) => (registered = r));
  const sub: BusSubscription = o.bus.subscribe(o.subj.register(id), (m) => {
    registers++;
    if (!answerable(m.reply, inbox)) {
      check.fail(
        `its Register asked for the reply on "${clip(m.reply ?? "(no reply subject)", 120)}", outside its own inbox ${inbox}.>`,
      );
      return;
    }
    m.respond(
      encode.registerReply({
        accepted: false,
        reject: {
          code: REFUSAL_CODE,
          detail: `conformance check: a test refusal (your Register was fine); a firm refused at registration stops with an error`,
          firmId: id,
          subject: m.subject,
        },
      }),
    );
    if (refusedAt === 0) refusedAt = Date.now();
    registered();
  });
  let agent: AgentProcess | undefined;
  try {
    await o.bus.flush();
    agent = await AgentProcess.start(o.command, o.values, o.logFile);
    o.started?.(agent);
    const wait = sleep(o.registerWaitMs);
    await Promise.race([firstRegister, agent.exited, wait.done]);
    wait.cancel();
    if (refusedAt === 0) {
      const tail = agent.tail();
      check.fail(
        agent.exit
          ? `it exited (${agent.describe()}) before its Register was answered${tail ? `; its output ends: ${tail}` : ""}`
          : `no Register within ${o.registerWaitMs / 1000} s of its start`,
      );
      return { ...check.result(), expects: REFUSAL_CHECK.expects };
    }
    const exitWait = sleep(TIMINGS.refusalExitMs);
    await Promise.race([agent.exited, exitWait.done]);
    exitWait.cancel();
    const exit = agent.exit;
    const code = rejectName(REFUSAL_CODE);
    const again = registers > 1 ? ` (it registered ${registers} times: registering again will not help)` : "";
    if (!exit)
      check.fail(
        `still running ${TIMINGS.refusalExitMs / 1000} s after its Register was refused (${code})${again}: a firm refused at registration stops with an error`,
      );
    else if (exit.code === 0)
      check.fail(
        `exited with code 0 after its Register was refused (${code}): a refused registration is an error, exit non-zero`,
      );
    else check.pass(`exited with ${agent.describe()} ${exit.at - refusedAt} ms after its Register was refused (${code})${again}`);
    return { ...check.result(), expects: REFUSAL_CHECK.expects };
  } finally {
    sub.unsubscribe();
    await agent?.stop();
  }
}
