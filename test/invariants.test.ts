/**
 * Randomized model-based test of the release engine's promises (issue #10, I1–I7), black-box: random component
 * sets, image behaviours, API faults, third-party deployments and SIGTERMs; after each run the exit code and the
 * records are checked against the emulator's ground truth. See docs/testing.md.
 *
 *   LGTM_SEED=<n>          seed (default: a fixed one, so CI is repeatable); LGTM_SEED=random picks one
 *   LGTM_RUNS=<n>          schedules (default 200)
 *   LGTM_CONCURRENCY=<n>   schedules at a time (default 4)
 *   LGTM_PATH=<i>          replay only schedule i of the seed, then shrink it
 *   LGTM_SCHEDULE='<json>' run exactly this schedule (as printed) and print everything (LGTM_PROCESS=1: as a process)
 *   LGTM_STRICT=1          known engine failures fail the suite instead of being reported as todo
 *   LGTM_SHRINK=0|1|I<n>   shrink the first failing schedule (of that invariant; default: only failures not known)
 *   LGTM_REPORT=<file>     write every outcome as JSON
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { formatViolations, type Invariant } from "./helpers/invariants/oracle.js";
import { parseSchedule } from "./helpers/invariants/schedule.js";
import { explain, observe, replayCommand, shrink, summarize, survey, writeReport, type Survey } from "./helpers/invariants/survey.js";

const DEFAULT_SEED = 20261130;
const seed = process.env.LGTM_SEED === "random" ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.LGTM_SEED ?? DEFAULT_SEED);
const runs = Number(process.env.LGTM_RUNS ?? 200);
const concurrency = Number(process.env.LGTM_CONCURRENCY ?? 4);
const only = process.env.LGTM_PATH === undefined ? undefined : Number(process.env.LGTM_PATH.split(":")[0]);
const strict = process.env.LGTM_STRICT === "1";

/**
 * Invariants the engine under test is known to break (measured; see the lead's report). They still run and print
 * their counterexamples; they are reported as todo instead of failing the suite unless LGTM_STRICT=1.
 * Empty this as the engine is fixed.
 */
// Empty: the last entry (I6, the breaker-rollback race #10 was left open on) is fixed and the oracle's clock for it is
// the tool's own (docs/testing.md, "What the survey found"). Add an entry only with the seed that shows it.
const KNOWN_BROKEN: Partial<Record<Invariant, string>> = {};

const INVARIANTS: [Invariant, string][] = [
  ["I1", "exit 0 ⇒ new revision PRIMARY, COMPLETED, running = desired > 0, no failed task through the bake"],
  ["I2", "exit 3 ⇒ the captured previous revision PRIMARY, COMPLETED and healthy through a bake"],
  ["I3", "exit 4 ⇒ the record and the last lines say the state of each service and what to do next"],
  ["I4", "once anything changed, every exit leaves this run's record at the record path"],
  ["I5", "no updated service is left unwatched or half-released because of an error elsewhere"],
  ["I6", "never undoes a deployment it did not start, never fights ECS's own rollback"],
  ["I7", "faults change only the timing of a verdict; wall-clock deadlines hold"],
  ["REC", "the record contract: verdict ↔ exit code, worst exit code, fields match what happened"],
  ["LIVE", "a healthy release under API faults succeeds; a missing image stops preflight (exit 5), nothing changed"],
  ["ABORT", "--on-abort leave sends nothing after SIGTERM"],
  ["DESIRED", "an autoscaled desired count is kept"],
];

if (process.env.LGTM_SCHEDULE) {
  test("one schedule (LGTM_SCHEDULE)", async () => {
    const s = parseSchedule(process.env.LGTM_SCHEDULE!);
    const { o, v } = await observe(s, process.env.LGTM_PROCESS === "1");
    console.log([`exit ${o.exitCode} in ${o.tEnd - o.t0} ms`, ...o.out, ...o.err].join("\n"));
    console.log(o.proxyCalls.map((c) => `+${c.time - o.t0}ms ${c.op} ${c.services.join(",")} ${c.outcome} ${c.status ?? ""}`).join("\n"));
    assert.deepEqual(v, [], formatViolations(v));
  });
} else {
  describe(`release invariants over random fault schedules (seed ${seed}${only === undefined ? `, ${runs} runs` : `, schedule #${only}`})`, () => {
    let result: Survey | undefined;
    const ready = (async () => {
      result = await survey(seed, only === undefined ? runs : only + 1, concurrency, only);
      console.log(summarize(result));
      if (process.env.LGTM_REPORT) writeReport(process.env.LGTM_REPORT, result);
      return result;
    })();
    after(async () => {
      const r = await ready;
      const failing = [...r.byInvariant.keys()].filter((inv) => strict || !KNOWN_BROKEN[inv]);
      const asked = process.env.LGTM_SHRINK;
      const named = INVARIANTS.find(([inv]) => inv === asked)?.[0];
      const want = named ? (r.byInvariant.has(named) ? named : undefined) : asked === "1" ? [...r.byInvariant.keys()][0] : asked === "0" ? undefined : failing[0];
      if (want === undefined) return;
      const first = r.byInvariant.get(want)![0]!;
      console.log(await shrink(seed, first.index, want, 120_000, first.process));
    });

    test(`at least ${only === undefined ? runs : 1} schedules ran`, async () => {
      const r = await ready;
      assert.equal(r.outcomes.length, only === undefined ? runs : 1);
      assert.ok(r.outcomes.every((o) => o.exitCode !== -2), `harness errors:\n${r.outcomes.filter((o) => o.exitCode === -2).map((o) => formatViolations(o.violations)).join("\n")}`);
    });

    for (const [inv, text] of INVARIANTS) {
      const known = !strict ? KNOWN_BROKEN[inv] : undefined;
      test(`${inv}: ${text}`, known ? { todo: `known engine failure: ${known}` } : {}, async () => {
        const r = await ready;
        const bad = r.byInvariant.get(inv) ?? [];
        assert.equal(bad.length, 0, `${inv} violated in ${bad.length} of ${r.outcomes.length} schedules (seed ${seed}); first: ${replayCommand(seed, bad[0]?.index ?? 0)}\n\n${explain(r, inv)}`);
      });
    }
  });
}
