/**
 * Least-privilege NATS permissions of every identity of a run, derived from MESSAGE_RULES (who sends
 * and who receives each message) and the subject names, so the rule lives once:
 *
 * | who | publishes | subscribes |
 * |---|---|---|
 * | firm <id> of tier t | submit.<id>, register.<id> | move.<t>, outcome, control, reject.<id>, train (CTDE learners only), its inbox |
 * | market | move.*, outcome, control, train, stats, reject.*, replies to registrations, the run's stream API | submit.*, register.*, its inbox |
 * | reader | the run's stream, read-only (consumer API) | its inbox |
 *
 * No identity may use `_INBOX.>` or any JetStream API beyond its own role's.
 */
import { subjectMatches as tokensMatch } from "./memory.js";
import { MESSAGE_RULES, type MessageRule, type Party } from "./protocol.js";
import type { Identity, RunSubjects } from "./subjects.js";

/** What one identity may publish and subscribe to. */
export interface Permissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  /** May publish to the reply subject of a request it received (the market answering a Register). */
  readonly allowResponses: boolean;
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

/**
 * JetStream API subjects for reading the run's stream: stream info, ordered (ephemeral) consumers
 * and their fetches, direct gets. Nothing that changes or deletes the stream or its messages.
 */
function streamRead(stream: string): string[] {
  return [
    "$JS.API.INFO",
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.>`,
    `$JS.API.CONSUMER.DELETE.${stream}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
  ];
}

/** The permissions of `who` in the run whose subjects are `s`. */
export function permissionsOf(s: RunSubjects, who: Identity): Permissions {
  const parties = partiesOf(who);
  const publish = RULES.filter((r) => parties.includes(r.sender)).map((r) => subjectFor(s, r, who));
  // The record is JetStream: it "receives" through the stream, not a subscription.
  const subscribe =
    who.role === "reader" ? [] : RULES.filter((r) => r.receivers.some((p) => parties.includes(p))).map((r) => subjectFor(s, r, who));
  if (who.role === "market") publish.push(`$JS.API.STREAM.CREATE.${s.stream}`, ...streamRead(s.stream));
  if (who.role === "reader") publish.push(...streamRead(s.stream));
  subscribe.push(`${s.inbox(who)}.>`);
  return { publish: dedupe(publish), subscribe: dedupe(subscribe), allowResponses: who.role === "market" };
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
