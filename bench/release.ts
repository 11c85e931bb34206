/**
 * The release benchmark of issue #14: every scenario of bench/scenarios.ts, every approach on it, side by side in the
 * same run, interleaved (rep 1: A B C, rep 2: A B C, ...) so a busy machine slows them alike; medians.
 *
 *   npm run bench                                  # all scenarios, 3 repetitions, time scale 20
 *   npm run bench -- --scenario crashloop --reps 5 # one scenario
 *   npm run bench -- --scale 1 --real-cli          # also the real `aws ecs wait services-stable` (wall time: slow)
 *
 * Every time is simulated (the emulator's clock, measured by bench/observer.ts from the emulator's own timestamps).
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { row } from "./figures.js";
import { machine, secs } from "./lib.js";
import { SCENARIOS, runScenario, type Approach, type RunResult, type Scenario } from "./scenarios.js";

/** Runs the benchmark with command-line `args` (see above); prints the tables on stdout, progress on stderr. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      scenario: { type: "string", multiple: true },
      reps: { type: "string", default: "3" },
      scale: { type: "string", default: "20" },
      "real-cli": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
    },
  });
  const reps = Number(values.reps);
  const timeScale = Number(values.scale);
  if (!(reps >= 1) || !(timeScale > 0)) throw new Error("--reps must be ≥ 1 and --scale > 0");
  const chosen = values.scenario ? SCENARIOS.filter((s) => values.scenario!.includes(s.name)) : SCENARIOS;
  if (chosen.length === 0) throw new Error(`--scenario: one of ${SCENARIOS.map((s) => s.name).join(", ")}`);

  console.log(`# lgtm-deploy release benchmark — ${machine()}`);
  console.log(`emulator timing profile "fargate" (target-group deregistration delay 20 s), time scale ${timeScale}, ${reps} repetition(s), medians\n`);

  for (const sc of chosen) {
    const approaches: Approach[] = [...sc.approaches, ...(values["real-cli"] && timeScale === 1 ? (["original plan, real AWS CLI"] as Approach[]) : [])];
    const results = new Map<Approach, RunResult[]>(approaches.map((a) => [a, []]));
    for (let rep = 0; rep < reps; rep++) {
      for (const a of approaches) {
        const r = await runScenario(sc, a, { timeScale });
        results.get(a)!.push(r);
        process.stderr.write(`${sc.name} / ${a} #${rep + 1}: ${summary(r)}\n`);
        if (values.verbose) process.stderr.write(r.output.join("\n") + "\n");
      }
    }
    console.log(table(sc, results));
  }
}

/** One run on one line (stderr), for following progress. */
function summary(r: RunResult): string {
  const t = r.timelines[0]!;
  const rel = (x: number | undefined) => (x === undefined ? "-" : ((x - r.t0) / 1000).toFixed(1));
  return `exit ${r.exitCode ?? "-"} at ${rel(r.verdictAt)}; failed ${rel(t.firstFailedAt)}, rollback ${rel(t.rollbackAt)} (${t.rollbackBy ?? "-"}), healthy again ${rel(t.healthyAgainAt)}, completed ${rel(t.releaseCompletedAt)}; wall ${(r.wallMs / 1000).toFixed(1)} s`;
}

function table(sc: Scenario, results: Map<Approach, RunResult[]>): string {
  const lines = [
    `## ${sc.name}: ${sc.title}`,
    "",
    "| approach | exit | update → verdict | COMPLETED → verdict | first failed task → rollback | first failed task → healthy again | rollback by | update → COMPLETED | polls | reads per poll | API calls |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const [a, runs] of results) {
    const r = row(a, runs);
    const n = (x: number | undefined, digits = 0) => (x === undefined ? "—" : x.toFixed(digits));
    lines.push(`| ${a} | ${r.exits} | ${secs(r.verdict)} | ${secs(r.verdictAfterCompleted)} | ${secs(r.failedToRollback)} | ${secs(r.failedToHealthy)} | ${r.rollbackBy} | ${secs(r.updateToCompleted)} | ${n(r.polls)} | ${n(r.readsPerPoll, 2)} | ${n(r.calls)} |`);
  }
  lines.push("", "Read calls while watching (medians):");
  for (const [a, runs] of results) {
    const r = row(a, runs);
    if (r.readsByOperation !== "") lines.push(`- ${a}: ${r.readsByOperation}`);
  }
  return lines.join("\n") + "\n";
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
