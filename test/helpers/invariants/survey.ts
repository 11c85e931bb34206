/**
 * Runs many schedules with bounded concurrency (each in its own world), tallies violations per invariant, and
 * shrinks a failing schedule with fast-check (replaying it from the seed and its index as the fast-check path).
 */
import { writeFileSync } from "node:fs";
import fc from "fast-check";
import { check, formatViolations, type Invariant, type Violation } from "./oracle.js";
import { runSchedule, type Observation } from "./run.js";
import { describeSchedule, scheduleArb, type Schedule } from "./schedule.js";

export interface Outcome {
  index: number;
  schedule: Schedule;
  exitCode: number;
  ms: number;
  violations: Violation[];
  tail: string[];
  /** Ran as a real process (else in-process). */
  process: boolean;
}

export interface Survey {
  seed: number;
  runs: number;
  outcomes: Outcome[];
  wallMs: number;
  byInvariant: Map<Invariant, Outcome[]>;
}

/** A third of the schedules with a SIGTERM run the committed bundle as a real process (real signals, Jenkins' SIGKILL). */
export const asProcess = (s: Schedule, index: number): boolean => s.abort !== undefined && index % 3 === 0;

export async function observe(s: Schedule, process = false): Promise<{ o: Observation; v: Violation[] }> {
  const o = await runSchedule(s, { process });
  return { o, v: check(o) };
}

export async function survey(seed: number, runs: number, concurrency: number, only?: number): Promise<Survey> {
  const schedules = fc.sample(scheduleArb(), { seed, numRuns: runs });
  const indices = only === undefined ? schedules.map((_, i) => i) : [only];
  const outcomes: Outcome[] = [];
  const t0 = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < indices.length) {
      const index = indices[next++]!;
      const schedule = schedules[index]!;
      const t = Date.now();
      try {
        const { o, v } = await observe(schedule, asProcess(schedule, index));
        outcomes.push({ index, schedule, exitCode: o.exitCode, ms: Date.now() - t, violations: v, tail: [...o.out, ...o.err].slice(-12), process: asProcess(schedule, index) });
      } catch (error) {
        // A harness failure is reported as such, never as a pass.
        outcomes.push({ index, schedule, exitCode: -2, ms: Date.now() - t, violations: [{ invariant: "REC", message: `harness error: ${(error as Error).stack ?? String(error)}` }], tail: [], process: asProcess(schedule, index) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, indices.length) }, worker));
  outcomes.sort((a, b) => a.index - b.index);
  const byInvariant = new Map<Invariant, Outcome[]>();
  for (const o of outcomes) for (const inv of new Set(o.violations.map((v) => v.invariant))) byInvariant.set(inv, [...(byInvariant.get(inv) ?? []), o]);
  return { seed, runs, outcomes, wallMs: Date.now() - t0, byInvariant };
}

export function replayCommand(seed: number, index: number): string {
  return `LGTM_SEED=${seed} LGTM_PATH=${index} node --test --import tsx test/invariants.test.ts`;
}

export function summarize(s: Survey): string {
  const lines = [`${s.outcomes.length} schedules, seed ${s.seed}, ${(s.wallMs / 1000).toFixed(1)} s`];
  const exits = new Map<number, number>();
  for (const o of s.outcomes) exits.set(o.exitCode, (exits.get(o.exitCode) ?? 0) + 1);
  lines.push(`exit codes: ${[...exits.entries()].sort((a, b) => a[0] - b[0]).map(([k, n]) => `${k}×${n}`).join(" ")}`);
  for (const [inv, os] of [...s.byInvariant.entries()].sort()) lines.push(`${inv}: violated in ${os.length} schedule(s): #${os.slice(0, 12).map((o) => o.index).join(" #")}${os.length > 12 ? " …" : ""}`);
  return lines.join("\n");
}

export function explain(s: Survey, inv: Invariant, max = 3): string {
  const os = s.byInvariant.get(inv) ?? [];
  return os
    .slice(0, max)
    .map((o) => [`#${o.index} (exit ${o.exitCode}, ${o.ms} ms${o.process ? ", the bundle as a process" : ""}) replay: ${replayCommand(s.seed, o.index)}`, `schedule: ${describeSchedule(o.schedule)}`, formatViolations(o.violations.filter((v) => v.invariant === inv)), ...o.tail.map((l) => `    | ${l}`)].join("\n"))
    .join("\n\n");
}

export function writeReport(file: string, s: Survey): void {
  writeFileSync(file, JSON.stringify({ seed: s.seed, runs: s.runs, wallMs: s.wallMs, outcomes: s.outcomes.map((o) => ({ ...o, schedule: JSON.parse(describeSchedule(o.schedule)) })) }, null, 2));
}

/**
 * Replays schedule `index` of `seed` through fast-check and shrinks it while it still violates `inv`.
 * Returns fast-check's report (seed, path, minimal counterexample) or a note that it did not reproduce.
 */
export async function shrink(seed: number, index: number, inv: Invariant, timeLimitMs: number, process = false): Promise<string> {
  const details = await fc.check(
    fc.asyncProperty(scheduleArb(), async (s) => {
      const { v } = await observe(s, process && s.abort !== undefined);
      return !v.some((x) => x.invariant === inv);
    }),
    { seed, path: String(index), numRuns: index + 1, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false },
  );
  if (!details.failed) return `schedule #${index} did not violate ${inv} again on replay (timing-dependent); seed ${seed}`;
  const minimal = details.counterexample?.[0] as Schedule | undefined;
  const { v } = minimal ? await observe(minimal, process && minimal.abort !== undefined) : { v: [] };
  return [
    `minimal schedule violating ${inv} after ${details.numShrinks} shrink(s) (seed ${seed}, fast-check path "${details.counterexamplePath}"):`,
    minimal ? `LGTM_SCHEDULE='${describeSchedule(minimal)}'` : "(none)",
    formatViolations(v),
  ].join("\n");
}
