/**
 * A minimal outside agent: everything it uses is the protobuf contract (proto/stackelberg/v1) and
 * the subject protocol (docs/protocol.md); no code of the framework's firm runtime. It plays a
 * constant quantity in every instance. Any language with a NATS client and protobuf works the same.
 * Everything off the wire is checked before use (docs/protocol.md, "A firm's side of the protocol").
 *
 * With credentials (the default everywhere): the agent authenticates with its nkey seed and uses
 * its identity's inbox prefix, the only inbox it may subscribe to (docs/protocol.md).
 *
 *   node dist/services/cli/main.js auth experiments/duopoly-linear.yaml --out auth --run demo
 *   nats-server -c auth/server.conf &
 *   node dist/services/cli/main.js market --config experiments/duopoly-linear.yaml --nats nats://127.0.0.1:4222 --run demo --creds auth
 *   node dist/services/cli/main.js firm --config experiments/duopoly-linear.yaml --nats nats://127.0.0.1:4222 --run demo --firm leader --creds auth
 *   node dist/examples/outside-agent.js nats://127.0.0.1:4222 demo follower 1 22.5 auth/firm-follower.nk
 */
import { readFileSync } from "node:fs";
import { connect, nkeyAuthenticator } from "@nats-io/transport-node";
import {
  ControlKind,
  decode,
  encode,
  type MoveRequest,
  PROTOCOL_VERSION,
  RejectCode,
  Role,
  type RunParams,
} from "../services/bus/index.js";

const [url = "nats://127.0.0.1:4222", run = "demo", firmId = "follower", tierArg = "1", quantityArg = "22.5", seedFile] =
  process.argv.slice(2);
const tier = Number(tierArg);
const quantity = Number(quantityArg);
const nc = await connect({
  servers: url,
  // The firm's own inbox prefix: replies to its Register arrive there.
  inboxPrefix: `_INBOX.stk.${run}.firm.${firmId}`,
  ...(seedFile ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(seedFile, "utf8").trim())) } : {}),
});

const register = async (preparing: boolean) => {
  const req = encode.register({
    protocolVersion: PROTOCOL_VERSION,
    firmId,
    role: tier === 0 ? Role.ROLE_LEADER : Role.ROLE_FOLLOWER,
    tier,
    capabilities: ["example"],
    preparing,
  });
  // The market may not be up yet: retry for a while.
  let data: Uint8Array | undefined;
  for (let attempt = 0; data === undefined; attempt++) {
    try {
      data = (await nc.request(`stk.${run}.register.${firmId}`, req, { timeout: 2000 })).data;
    } catch (err) {
      if (attempt >= 100) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const reply = decode.registerReply(data);
  // A refusal (VERSION, NOT_IN_RUN) is final: the agent stops with an error (a non-zero exit).
  if (!reply.accepted) throw new Error(`registration refused: ${reply.reject?.detail}`);
  return reply;
};

// Logs at most one line per kind every 5 s, with the number suppressed since: junk off the wire
// must not become a flood of log lines. The table of kinds is capped.
const logged = new Map<string, { at: number; suppressed: number }>();
const warn = (kind: string, text: string) => {
  const e = logged.get(kind);
  if (e && Date.now() - e.at < 5000) {
    e.suppressed++;
    return;
  }
  console.error(e?.suppressed ? `${text} (${e.suppressed} more suppressed)` : text);
  if (e || logged.size < 64) logged.set(kind, { at: Date.now(), suppressed: 0 });
};

// Anything off the wire may be junk: a message that does not decode is dropped, never fatal.
const decoded = <T>(what: string, f: () => T): T | undefined => {
  try {
    return f();
  } catch {
    warn(what, `dropped a ${what} that is not a valid message`);
    return undefined;
  }
};

// A move request is used only if it matches the run: batch B, B x columns observation values,
// firms x B committed quantities per earlier tier, one row per tier firm in the own_* arrays (or
// none), all finite. What fails is dropped, as is one that does not name this firm.
let params: RunParams = {};
const finite = (xs: number[] | null | undefined) => (xs ?? []).every(Number.isFinite);
const moveProblem = (m: MoveRequest): string | undefined => {
  const B = params.batch ?? 0;
  const n = (m.tierFirmIds ?? []).length;
  if (m.batch !== B) return `batch ${m.batch}, the run's is ${B}`;
  const obs = m.observation ?? [];
  if (obs.length !== B * (params.observationColumns ?? []).length || !finite(obs)) return "bad observation";
  for (const t of m.committed ?? [])
    if ((t.quantities ?? []).length !== (t.firmIds ?? []).length * B || !finite(t.quantities)) return "bad committed quantities";
  for (const own of [m.ownLastQuantity ?? [], m.ownMarginalCost ?? []])
    if ((own.length !== 0 && own.length !== n * B) || !finite(own)) return "bad own_last_quantity or own_marginal_cost";
  return undefined;
};
let ready = false;
let ended = false;
// Registers again when the market forgets the firm (UNKNOWN_FIRM) or restarted (RunControl
// REGISTER); one request at a time, and a request during a registration is followed by one more.
let registering: Promise<unknown> | undefined;
let again = false;
const registerAgain = () => {
  if (!ready) return;
  if (registering) {
    again = true;
    return;
  }
  registering = register(false)
    .catch((err: Error) => console.error(`registering again failed: ${err.message}`))
    .finally(() => {
      registering = undefined;
      if (again) {
        again = false;
        registerAgain();
      }
    });
};

// Subscribe first, then register: the first move request may follow the registration at once.
nc.subscribe(`stk.${run}.move.${tier}`, {
  callback: (_err, msg) => {
    const move = decoded("MoveRequest", () => decode.move(msg.data));
    if (!move || !(move.tierFirmIds ?? []).includes(firmId) || ended) return;
    const problem = moveProblem(move);
    if (problem) return warn("invalid MoveRequest", `dropped the move request of round ${move.round}: ${problem}`);
    const quantities = new Array<number>(params.batch ?? 1).fill(quantity);
    nc.publish(`stk.${run}.submit.${firmId}`, encode.submission({ runId: run, firmId, round: move.round, quantities }));
  },
});
nc.subscribe(`stk.${run}.reject.${firmId}`, {
  callback: (_e, m) => {
    const r = decoded("Reject", () => decode.reject(m.data));
    if (!r) return;
    warn(`reject ${r.code}`, `rejected: ${(r.detail ?? "").slice(0, 300)}`);
    if (r.code === RejectCode.UNKNOWN_FIRM) registerAgain();
  },
});
nc.subscribe(`stk.${run}.outcome`, {
  callback: (_e, m) => {
    const o = decoded("Outcome", () => decode.outcome(m.data));
    if (!o) return;
    const f = (o.firmIds ?? []).indexOf(firmId);
    console.log(`round ${o.round}: price ${o.prices?.[0]}, my profit ${o.profits?.[f * (o.batch ?? 1)]}`);
  },
});
const end = new Promise<void>((resolve) =>
  nc.subscribe(`stk.${run}.control`, {
    callback: (_e, m) => {
      const c = decoded("RunControl", () => decode.control(m.data));
      if (c?.kind === ControlKind.END_OF_RUN) {
        ended = true;
        resolve();
      } else if (c?.kind === ControlKind.REGISTER) registerAgain();
    },
  }),
);

params = (await register(true)).params ?? {}; // fetch the run's parameters
console.log(`run ${params.runId}: batch ${params.batch}, ${params.totalRounds} rounds, quantities in [0, ${params.quantityMax}]`);
await register(false); // ready to move
ready = true;
await end;
await nc.drain();
