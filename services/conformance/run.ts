/**
 * `stackelberg conformance`: sets up the check's run (a linear market with the agent and one
 * simulated firm per other tier), starts a local nats-server secured for it as `stackelberg run`
 * does, plays the market's role with the kit, starts the agent (or waits for one started by hand),
 * runs the scenario, then (for an agent it started) the refusal check in a second short session,
 * and returns the report.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { connectAs } from "../auth/index.js";
import { type NatsBus, isSubjectToken } from "../bus/index.js";
import { type Experiment, parseExperiment } from "../config/index.js";
import { ConfigError, Interrupted } from "../errors.js";
import { runIdFor } from "../launcher/run-id.js";
import { type SecuredServer, startSecuredServer } from "../launcher/secured-server.js";
import { agentEnv, AgentProcess, type AgentValues } from "./agent.js";
import { Kit } from "./kit.js";
import { checkRefusal, REFUSAL_CHECK } from "./refusal.js";
import { type CheckResult, type ConformanceReport, summarize } from "./report.js";
import { runSteps } from "./runner.js";
import { SCENARIO, scenarioRounds } from "./scenario.js";

export interface ConformanceOptions {
  role: "leader" | "follower";
  /** The agent's tier: 0 for a leader, 1 or later for a follower. */
  tier: number;
  /** The agent's firm id. */
  firm: string;
  /** B, market instances per round. */
  batch: number;
  /** The move deadline, in milliseconds. */
  deadlineMs: number;
  /** How long the agent has to register, in milliseconds. */
  registerWaitMs: number;
  /** The agent's command and arguments, with placeholders; none: wait for an agent started by hand. */
  agent?: readonly string[];
  /** Keep the credentials, the agent's output and report.json here (default: a temporary folder, removed). */
  out?: string;
  /** Port of the check's nats-server (default: a free one). */
  port?: number;
  /**
   * After the scenario, start the agent once more and refuse its registration: it must exit
   * non-zero (check "register.refused"; default true; only for an agent the check starts).
   */
  refusal?: boolean;
  logger: Logger;
  /** Receives the connection details when the agent is to be started by hand. */
  announce?: (text: string) => void;
}

/** The market of the check: linear demand P = 100 - Q, every firm's cost 10 q, quantities in [0, 100]. */
export const CONFORMANCE_MARKET = {
  demand: { kind: "linear", a: 100, b: 1 },
  cost: { kind: "linear", c: 10 },
  quantityMax: 100,
  maxMisses: 3,
} as const;

/** The simulated firms beside the agent: one in every earlier tier (a follower's), or a follower (a leader's). */
export function simulatedFirms(
  role: "leader" | "follower",
  tier: number,
): Array<{ id: string; role: "leader" | "follower"; tier: number }> {
  if (role === "leader") return [{ id: "sim-follower-1", role: "follower", tier: 1 }];
  return Array.from({ length: tier }, (_, t) =>
    t === 0 ? { id: "sim-leader", role: "leader", tier: 0 } : { id: `sim-follower-${t}`, role: "follower", tier: t },
  );
}

/** Checks the options, naming the bad flag (a ConfigError: bad usage). */
export function checkOptions(
  o: Pick<ConformanceOptions, "role" | "tier" | "firm" | "batch" | "deadlineMs" | "registerWaitMs" | "port">,
): void {
  if (o.role !== "leader" && o.role !== "follower") throw new ConfigError(`--role must be leader or follower, got "${o.role}"`);
  if (!Number.isInteger(o.tier) || o.tier < 0 || o.tier > 16)
    throw new ConfigError(`--tier must be an integer in [0, 16], got ${o.tier}`);
  if (o.role === "leader" && o.tier !== 0) throw new ConfigError(`--tier ${o.tier}: a leader moves in tier 0`);
  if (o.role === "follower" && o.tier < 1)
    throw new ConfigError("--tier 0 is the leaders' tier: a follower moves in tier 1 or later");
  if (!isSubjectToken(o.firm))
    throw new ConfigError(`--firm "${o.firm.slice(0, 80)}" must be 1-64 characters of A-Z a-z 0-9 _ -`);
  const sims = simulatedFirms(o.role, o.tier).map((f) => f.id);
  if (sims.includes(o.firm))
    throw new ConfigError(
      `--firm ${o.firm}: that id belongs to a simulated firm of the check (${sims.join(", ")}); choose another`,
    );
  if (!Number.isInteger(o.batch) || o.batch < 1 || o.batch > 65536)
    throw new ConfigError(`--batch must be an integer in [1, 65536], got ${o.batch}`);
  if (!Number.isInteger(o.deadlineMs) || o.deadlineMs < 100 || o.deadlineMs > 600_000)
    throw new ConfigError(`--deadline-ms must be an integer in [100, 600000], got ${o.deadlineMs}`);
  if (!(o.registerWaitMs > 0) || o.registerWaitMs > 86_400_000)
    throw new ConfigError("--wait must be a number of seconds in (0, 86400]");
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535))
    throw new ConfigError(`--port must be an integer in [1, 65535], got ${o.port}`);
}

/** The check's run as an experiment (validated by the experiment schema like any other). */
export function conformanceExperiment(
  o: Pick<ConformanceOptions, "role" | "tier" | "firm" | "batch" | "deadlineMs">,
): Experiment {
  const m = CONFORMANCE_MARKET;
  const firm = (id: string, role: string, tier: number) => ({ id, role, tier, cost: m.cost, policy: { kind: "best-response" } });
  return parseExperiment(
    {
      name: "conformance",
      seed: 1,
      market: {
        demand: m.demand,
        batch: o.batch,
        // One-round episodes without shocks: no observation columns, nothing carried between rounds.
        roundsPerEpisode: 1,
        episodes: scenarioRounds(),
        quantityMax: m.quantityMax,
        deadlineMs: o.deadlineMs,
        defaultAction: "last",
        maxMisses: m.maxMisses,
      },
      firms: [firm(o.firm, o.role, o.tier), ...simulatedFirms(o.role, o.tier).map((f) => firm(f.id, f.role, f.tier))],
    },
    "the conformance run",
  );
}

/** Runs the conformance check; the report says what the agent got wrong. */
export async function runConformance(o: ConformanceOptions): Promise<ConformanceReport> {
  checkOptions(o);
  if (o.agent !== undefined && o.agent.length === 0) throw new ConfigError("the agent command after -- is empty");
  const exp = conformanceExperiment(o);
  const runId = runIdFor("conformance", randomBytes(3).toString("hex"));
  const dir = o.out ? resolve(o.out) : mkdtempSync(join(tmpdir(), "stk-conformance-"));
  if (o.out) {
    if (existsSync(join(dir, "auth", "auth.json")))
      throw new ConfigError(`--out ${o.out} already holds a run (auth/auth.json): choose an empty folder`);
    mkdirSync(dir, { recursive: true });
  }
  const log = o.logger.child({ component: "conformance", run: runId });
  let server: SecuredServer | undefined;
  let bus: NatsBus | undefined;
  let kit: Kit | undefined;
  let agent: AgentProcess | undefined;
  let refused: AgentProcess | undefined;
  let interrupt: (e: Error) => void = () => {};
  const interrupted = new Promise<never>((_, reject) => (interrupt = reject));
  interrupted.catch(() => {});
  const onSignal = () => interrupt(new Interrupted("interrupted: conformance check stopped"));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    server = await startSecuredServer(dir, exp, runId, o.port !== undefined ? { port: o.port } : {});
    bus = await connectAs(
      { nats: server.nats.url, creds: server.auth },
      runId,
      { role: "market" },
      `stk-conformance-${runId}`,
      log,
    );
    kit = new Kit({ bus, experiment: exp, runId, agentId: o.firm });
    await kit.listen();
    const values: AgentValues = {
      nats: server.nats.url,
      run: runId,
      firm: o.firm,
      creds: join(server.auth, `firm-${o.firm}.nk`),
      tier: o.tier,
      role: o.role,
    };
    const logFile = o.out ? join(dir, "agent.log") : undefined;
    if (o.agent) agent = await AgentProcess.start(o.agent, values, logFile);
    else o.announce?.(connectionText(values, o.registerWaitMs, kit.subj.firmInbox(o.firm)));
    const checks: CheckResult[] = await Promise.race([
      runSteps(SCENARIO, { kit, agent, registerWaitMs: o.registerWaitMs }),
      interrupted,
    ]);
    await agent?.stop();
    if (o.refusal !== false) {
      const skip = (detail: string): CheckResult => ({
        name: REFUSAL_CHECK.name,
        status: "skip",
        detail,
        expects: REFUSAL_CHECK.expects,
      });
      if (!o.agent) checks.push(skip("not checked: the agent was started by hand (no agent command)"));
      else if (!kit.registrations.some((r) => r.accepted))
        checks.push(skip("not run: the agent never registered in the scenario"));
      else {
        // The scenario's market stops answering; the refusal session has the register subject to itself.
        kit.close();
        const command = o.agent;
        checks.push(
          await Promise.race([
            checkRefusal({
              bus,
              subj: kit.subj,
              command,
              values,
              registerWaitMs: o.registerWaitMs,
              ...(o.out ? { logFile: join(dir, "agent-refused.log") } : {}),
              started: (a) => (refused = a),
            }),
            interrupted,
          ]),
        );
      }
    }
    const report = summarize({
      run: runId,
      nats: server.nats.url,
      firm: o.firm,
      role: o.role,
      tier: o.tier,
      batch: o.batch,
      checks,
      ...(agent
        ? {
            agent: {
              command: agent.command,
              exit: agent.stopped ? null : agent.describe(),
              ...(logFile ? { log: logFile } : {}),
            },
          }
        : {}),
    });
    if (o.out) writeFileSync(join(dir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    await agent?.stop();
    await refused?.stop();
    kit?.close();
    await bus?.close().catch(() => {});
    await server?.nats.stop();
    if (!o.out) rmSync(dir, { recursive: true, force: true });
  }
}

/** What someone starting the agent by hand needs. */
function connectionText(v: AgentValues, waitMs: number, inbox: string): string {
  const env = Object.entries(agentEnv(v))
    .map(([k, val]) => `${k}=${val}`)
    .join(" ");
  return [
    `conformance: waiting ${waitMs / 1000} s for a ${v.role} agent to register; start it with:`,
    `  NATS server   ${v.nats}`,
    `  run id        ${v.run}`,
    `  firm id       ${v.firm} (${v.role}, tier ${v.tier})`,
    `  credentials   ${v.creds}`,
    `  inbox prefix  ${inbox}`,
    `  environment   ${env}`,
    "",
  ].join("\n");
}
