/**
 * What the conformance check reports: one named check per step of the scenario, each passed,
 * failed (with one line saying what the agent got wrong) or skipped, and a summary.
 */

export type CheckStatus = "pass" | "fail" | "skip";

/** One check's verdict. */
export interface CheckResult {
  /** The step's name, e.g. "reject.WRONG_BATCH". */
  readonly name: string;
  readonly status: CheckStatus;
  /** One line: what was wrong (fail), what was seen (pass), or why it did not run (skip). */
  readonly detail: string;
  /** What the agent must do in this step. */
  readonly expects?: string;
}

/** The whole report, as printed by `stackelberg conformance` (text, or JSON with --json). */
export interface ConformanceReport {
  /** True when no check failed. */
  readonly ok: boolean;
  readonly run: string;
  readonly nats: string;
  readonly firm: string;
  readonly role: "leader" | "follower";
  readonly tier: number;
  readonly batch: number;
  readonly checks: readonly CheckResult[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** The agent the check started (absent when it waited for one started by hand). */
  readonly agent?: {
    readonly command: readonly string[];
    /** How it ended ("code 0", "signal SIGTERM"), null when the check had to stop it. */
    readonly exit: string | null;
    /** Its output, when the check kept it (--out). */
    readonly log?: string;
  };
}

/**
 * Collects what one step saw. Problems (what the agent got wrong) can arrive from the kit at any
 * time while the step runs; the first one is the check's line, the others are counted.
 */
export class Check {
  private readonly problems: string[] = [];
  private note = "";
  private skipped: string | undefined;
  /** Set when the steps after this one cannot run (no registration). */
  fatal = false;

  constructor(readonly name: string) {}

  /** Records what the agent got wrong (one line; repeats of the same text count once). */
  fail(text: string): void {
    const line = oneLine(text);
    if (!this.problems.includes(line)) this.problems.push(line);
  }

  /** Records what the agent got wrong and stops the scenario after this step. */
  abort(text: string): void {
    this.fail(text);
    this.fatal = true;
  }

  /** What was seen, shown when nothing failed. */
  pass(note: string): void {
    this.note = oneLine(note);
  }

  /** Marks the check as not run, with the reason. */
  skip(why: string): void {
    this.skipped = oneLine(why);
  }

  get failed(): boolean {
    return this.problems.length > 0;
  }

  result(): CheckResult {
    if (this.problems.length > 0) {
      const more = this.problems.length - 1;
      return { name: this.name, status: "fail", detail: `${this.problems[0]}${more > 0 ? ` (and ${more} more)` : ""}` };
    }
    if (this.skipped !== undefined) return { name: this.name, status: "skip", detail: this.skipped };
    return { name: this.name, status: "pass", detail: this.note };
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " | ").trim();
}

const MARK: Record<CheckStatus, string> = { pass: "✓", fail: "✗", skip: "-" };

/** The report as text: a header, one line per check, a summary line. */
export function formatReport(r: ConformanceReport): string {
  const width = Math.max(...r.checks.map((c) => c.name.length));
  const lines = [`conformance: ${r.role} "${r.firm}" (tier ${r.tier}, batch ${r.batch}), run ${r.run}`];
  for (const c of r.checks) lines.push(`  ${MARK[c.status]} ${c.name.padEnd(width)}  ${c.detail}`.trimEnd());
  const skipped = r.skipped > 0 ? `, ${r.skipped} not run` : "";
  const log = r.agent?.log ? `; agent output in ${r.agent.log}` : "";
  lines.push(
    r.ok
      ? `conformance: all ${r.passed} checks passed${skipped}${log}`
      : `conformance: ${r.failed} of ${r.checks.length} checks failed, ${r.passed} passed${skipped}${log}`,
  );
  return `${lines.join("\n")}\n`;
}

/** Builds the report from the checks' results. */
export function summarize(base: Omit<ConformanceReport, "ok" | "passed" | "failed" | "skipped">): ConformanceReport {
  const count = (s: CheckStatus) => base.checks.filter((c) => c.status === s).length;
  const failed = count("fail");
  return { ...base, ok: failed === 0, passed: count("pass"), failed, skipped: count("skip") };
}
