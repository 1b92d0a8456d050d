/**
 * Every NATS subject of the protocol, in one place. Subjects are namespaced by run:
 * stk.<run>.<kind>[.<firmId>|.<tier>]. A firm's identity is the subject it publishes on.
 * Each identity's request/reply inbox has a fixed prefix here too, so that NATS permissions can
 * confine replies to their addressee (services/bus/permissions.ts).
 */
import { ConfigError } from "../errors.js";

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** NATS subject matching on tokens: `*` matches one token, `>` one or more trailing ones. */
export function tokensMatch(pattern: readonly string[], subject: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === ">") return subject.length > i;
    if (i >= subject.length) return false;
    if (p !== "*" && p !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}

/** True when `s` can be one subject token (no dots, spaces or wildcards). */
export function isSubjectToken(s: string): boolean {
  return TOKEN.test(s);
}

function token(kind: string, s: string): string {
  if (!isSubjectToken(s)) throw new ConfigError(`${kind} "${s.slice(0, 80)}" must be 1-64 characters of A-Z a-z 0-9 _ -`);
  return s;
}

/** The kinds of subject of a run: stk.<run>.<kind>[.<key>]. */
export type SubjectKind = "register" | "submit" | "move" | "reject" | "outcome" | "stats" | "train" | "control";

/** Who connects to a run's NATS server: each has its own identity, permissions and inbox prefix. */
export type Identity =
  /** `training: false`: no firm of the run reads the training subject, so the market may not publish on it (default true). */
  | { readonly role: "market"; readonly training?: boolean }
  | { readonly role: "reader" }
  | { readonly role: "firm"; readonly firmId: string; readonly tier: number; readonly ctde: boolean };

/** The subjects of one run. */
export interface RunSubjects {
  readonly run: string;
  /** firm -> market request/reply: Register -> RegisterReply */
  register(firmId: string): string;
  /** wildcard the market listens on for registrations */
  readonly registerAll: string;
  /** market -> firms of a tier: MoveRequest */
  move(tier: number): string;
  /** firm -> market: Submission */
  submit(firmId: string): string;
  readonly submitAll: string;
  /** market -> one firm: Reject */
  reject(firmId: string): string;
  /** market -> all: Outcome; the run's stream captures it as the durable record (id <run>-<round>) */
  readonly outcome: string;
  /** market -> JetStream: RoundStatsBatch (per-round batch means, published after their outcomes) */
  readonly stats: string;
  /** market -> learners: TrainingInfo (CTDE only) */
  readonly train: string;
  /** market -> all: RunControl */
  readonly control: string;
  /** JetStream stream that records every cleared round of this run: STK_<run> with "-" turned into "_" */
  readonly stream: string;
  /**
   * The results reader's JetStream API prefix: in the reader's own account, `<recordApi>.DIRECT.GET.<stream>`
   * and `<recordApi>.STREAM.INFO.<stream>` are imported from the run's account.
   */
  readonly recordApi: string;
  /** A subject of `kind`; `key` is the firm id or tier for per-firm and per-tier kinds, "*" for all of them. */
  of(kind: SubjectKind, key?: string | number): string;
  /** The request/reply inbox prefix of an identity (its replies arrive under `<prefix>.>`). */
  inbox(who: Identity): string;
  /** The inbox prefix of firm `firmId` (same as inbox() of its identity). */
  firmInbox(firmId: string): string;
  /** Every firm's inbox: `<firm inbox prefix with * for the id>.>`. */
  readonly firmInboxes: string;
  /** the last token of a per-firm subject, or undefined when `subject` is not of that kind */
  firmOf(subject: string): string | undefined;
}

/** Builds the subject names of run `runId` (validated as a subject token; a bad one is a ConfigError). */
export function runSubjects(runId: string): RunSubjects {
  const run = token("run id", runId);
  const p = `stk.${run}`;
  const firmInbox = (firmId: string) => `_INBOX.${p}.firm.${token("firm id", firmId)}`;
  const of = (kind: SubjectKind, key?: string | number) => {
    if (key === undefined) return `${p}.${kind}`;
    if (key === "*") return `${p}.${kind}.*`;
    return `${p}.${kind}.${typeof key === "number" ? String(key) : token("firm id", key)}`;
  };
  return {
    run,
    register: (firmId) => of("register", firmId),
    registerAll: of("register", "*"),
    move: (tier) => of("move", tier),
    submit: (firmId) => of("submit", firmId),
    submitAll: of("submit", "*"),
    reject: (firmId) => of("reject", firmId),
    outcome: of("outcome"),
    stats: of("stats"),
    train: of("train"),
    control: of("control"),
    stream: `STK_${run.replace(/-/g, "_")}`,
    recordApi: `${p}.record`,
    of,
    inbox: (who) => (who.role === "firm" ? firmInbox(who.firmId) : `_INBOX.${p}.${who.role}`),
    firmInbox,
    firmInboxes: `_INBOX.${p}.firm.*.>`,
    firmOf(subject: string) {
      const parts = subject.split(".");
      return parts.length === 4 && parts[0] === "stk" && parts[1] === run ? parts[3] : undefined;
    },
  };
}
