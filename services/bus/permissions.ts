/**
 * Least-privilege NATS permissions of every identity of a run, derived from MESSAGE_RULES (who sends
 * and who receives each message) and the subject names, so the rule lives once:
 *
 * | who | publishes | subscribes |
 * |---|---|---|
 * | firm <id> of tier t | submit.<id>, register.<id> | move.<t>, outcome, control, reject.<id>, train (CTDE learners only), its inbox |
 * | market | move.*, outcome, control, train (runs with CTDE learners only), stats, reject.*, firms' inboxes (RegisterReply), the run's stream: create, info, direct get | submit.*, register.*, its inbox |
 * | reader | direct gets and info of the run's stream, through its own account's imports | its inbox |
 *
 * No identity may use `_INBOX.>`; no firm may use JetStream. The reader lives in an account of its
 * own (see RECORD_IMPORTS): any JetStream request carries a reply subject the server answers on,
 * and in the run's account that could be a protocol subject.
 */
import { MESSAGE_RULES, type MessageRule, type Party } from "./protocol.js";
import { type Identity, type RunSubjects, tokensMatch } from "./subjects.js";

/** What one identity may publish and subscribe to. */
export interface Permissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

/** The NATS account an identity belongs to: the run's (market and firms, the stream) or the results reader's. */
export function accountOf(who: Identity): "RUN" | "RESULTS" {
  return who.role === "reader" ? "RESULTS" : "RUN";
}

/**
 * The stream API the run's account exports to the results account, and the subject each is
 * imported as there: direct gets and stream info of the run's stream, nothing else.
 */
export function recordImports(s: RunSubjects): Array<{ subject: string; to: string }> {
  return ["DIRECT.GET", "STREAM.INFO"].map((api) => ({ subject: `$JS.API.${api}.${s.stream}`, to: `${s.recordApi}.${api}.${s.stream}` }));
}

const RULES: readonly MessageRule[] = Object.values(MESSAGE_RULES);

/** The parties an identity acts as (a CTDE learner is also a firm). */
function partiesOf(who: Identity): Party[] {
  if (who.role === "firm") return who.ctde ? ["firm", "ctde-firm"] : ["firm"];
  return who.role === "market" ? ["market"] : ["record"];
}

/** The subject of `rule` for identity `who`: its own id or tier, or every firm's / tier's for the market. */
function subjectFor(s: RunSubjects, rule: MessageRule, who: Identity): string {
  if (rule.scope === "run") return s.of(rule.kind);
  if (who.role !== "firm") return s.of(rule.kind, "*");
  return s.of(rule.kind, rule.scope === "own" ? who.firmId : who.tier);
}

/** The inbox subjects of every identity acting as `party` (a reply to one of its requests goes there). */
function inboxesOf(s: RunSubjects, party: Party): string {
  return party === "market" ? `${s.inbox({ role: "market" })}.>` : s.firmInboxes;
}

/** The permissions of `who` in the run whose subjects are `s`. */
export function permissionsOf(s: RunSubjects, who: Identity): Permissions {
  const parties = partiesOf(who);
  // A market whose run has no CTDE learner (or is an evaluation) sends nothing only they receive.
  const silent = (r: MessageRule) => who.role === "market" && who.training === false && r.receivers.every((p) => p === "ctde-firm");
  const publish = RULES.filter((r) => parties.includes(r.sender) && !silent(r)).map((r) => subjectFor(s, r, who));
  // Answers to requests it receives go to the requesters' inboxes (the market's RegisterReply).
  for (const r of RULES) if (r.reply && r.receivers.some((p) => parties.includes(p))) publish.push(inboxesOf(s, r.sender));
  // The record is JetStream: it "receives" through the stream, not a subscription.
  const subscribe =
    who.role === "reader" ? [] : RULES.filter((r) => r.receivers.some((p) => parties.includes(p))).map((r) => subjectFor(s, r, who));
  if (who.role === "market")
    publish.push("$JS.API.INFO", `$JS.API.STREAM.CREATE.${s.stream}`, `$JS.API.STREAM.INFO.${s.stream}`, `$JS.API.DIRECT.GET.${s.stream}`);
  if (who.role === "reader") publish.push(...recordImports(s).map((i) => i.to));
  subscribe.push(`${s.inbox(who)}.>`);
  return { publish: dedupe(publish), subscribe: dedupe(subscribe) };
}

function dedupe(a: string[]): string[] {
  return [...new Set(a)];
}

/** True when NATS subject `subject` matches `pattern` (`*` one token, `>` one or more trailing tokens). */
export function subjectMatches(pattern: string, subject: string): boolean {
  return tokensMatch(pattern.split("."), subject.split("."));
}

/** True when `subject` is allowed by one of `patterns`. */
export function allowed(patterns: readonly string[], subject: string): boolean {
  return patterns.some((p) => subjectMatches(p, subject));
}
