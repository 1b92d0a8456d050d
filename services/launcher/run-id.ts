/** A run id from an experiment name and a random suffix: a valid subject token of at most 64 characters. */
export function runIdFor(experimentName: string, suffix: string): string {
  const base = experimentName.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 40) || "run";
  return `${base}-${suffix}`;
}
