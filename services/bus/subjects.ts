/**
 * Every NATS subject of the protocol, in one place. Subjects are namespaced by run:
 * stk.<run>.<kind>[.<firmId>|.<tier>]. A firm's identity is the subject it publishes on.
 */

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** True when `s` can be one subject token (no dots, spaces or wildcards). */
export function isSubjectToken(s: string): boolean {
  return TOKEN.test(s);
}

function token(kind: string, s: string): string {
  if (!isSubjectToken(s)) throw new Error(`${kind} "${s}" must be 1-64 characters of A-Z a-z 0-9 _ -`);
  return s;
}

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
  /** JetStream stream that records every cleared round of this run */
  readonly stream: string;
  /** the last token of a per-firm subject, or undefined when `subject` is not of that kind */
  firmOf(subject: string): string | undefined;
}

/** Builds the subject names of run `runId` (validated as a subject token). */
export function runSubjects(runId: string): RunSubjects {
  const run = token("run id", runId);
  const p = `stk.${run}`;
  return {
    run,
    register: (firmId) => `${p}.register.${token("firm id", firmId)}`,
    registerAll: `${p}.register.*`,
    move: (tier) => `${p}.move.${tier}`,
    submit: (firmId) => `${p}.submit.${token("firm id", firmId)}`,
    submitAll: `${p}.submit.*`,
    reject: (firmId) => `${p}.reject.${token("firm id", firmId)}`,
    outcome: `${p}.outcome`,
    stats: `${p}.stats`,
    train: `${p}.train`,
    control: `${p}.control`,
    stream: `STK_${run.replace(/-/g, "_")}`,
    firmOf(subject: string) {
      const parts = subject.split(".");
      return parts.length === 4 && parts[0] === "stk" && parts[1] === run ? parts[3] : undefined;
    },
  };
}
