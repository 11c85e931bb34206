/**
 * Black-box regression tests, one per bug reported in issue #10, run in-process against the emulator (behind the
 * fault proxy) and judged by the same ground-truth oracle as the randomized test plus the bug's own expectation.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { knownFailure } from "./helpers/invariants/known.js";
import { UpdateServiceCommand } from "@aws-sdk/client-ecs";
import type { ComponentName } from "../src/core/catalogue.js";
import { REPO_ROOT } from "./helpers/cli.js";
import { check, formatViolations, type Invariant } from "./helpers/invariants/oracle.js";
import { copyProject } from "./helpers/project.js";
import { execute, prepare, type ExecOptions, type Observation } from "./helpers/invariants/run.js";
import type { Schedule } from "./helpers/invariants/schedule.js";
import { primaryOf, serviceOf, shortTd } from "./helpers/invariants/state.js";
import type { World } from "./helpers/invariants/world.js";


function schedule(components: ComponentName[], patch: Partial<Schedule> = {}, flags: Partial<Schedule["flags"]> = {}): Schedule {
  return {
    components,
    behaviours: {},
    api: { throttleRate: 0, errorRate: 0, dropRate: 0, latencyMs: 0, describeBurst: 0, staleMs: 0 },
    flags: { timeoutMs: 4_000, bakeMs: 300, maxFailedTasks: 2, atomic: false, abortGraceMs: 2_000, onAbort: "rollback", ...flags },
    seed: 3,
    ...patch,
  };
}

/** Drops a flag and its value from a command line. */
const without = (flag: string) => (argv: string[]): string[] => argv.filter((a, i) => a !== flag && argv[i - 1] !== flag);

/**
 * Runs the schedule in a fresh world (`setup` may prepare more state first) and returns the observation and the
 * oracle's violations of the invariants this bug is about (each test names them, so one bug fails one test).
 */
async function verify(s: Schedule, invariants: Invariant[], opts: ExecOptions & { setup?: (w: World) => Promise<void> } = {}): Promise<{ o: Observation; bad: string }> {
  const w = await prepare(s);
  try {
    await opts.setup?.(w);
    const o = await execute(s, w, opts);
    return { o, bad: formatViolations(check(o).filter((v) => invariants.includes(v.invariant))) };
  } finally {
    await w.close();
  }
}

function story(o: Observation): string {
  return `\n--- exit ${o.exitCode} after ${o.tEnd - o.t0} ms: ${o.argv.slice(4).join(" ")}\n${[...o.out.slice(-30), ...o.err.slice(-8)].join("\n")}`;
}

function assertClean(o: Observation, bad: string): void {
  assert.equal(bad, "", `the oracle found violations:\n${bad}${story(o)}`);
}

const primary = (o: Observation, c: ComponentName) => primaryOf(serviceOf(o.stateEnd, c)!)!;

/** The schedule's exact-call fault really hit the tool (otherwise the test proves nothing). */
function assertInjected(o: Observation): void {
  const hit = o.proxyCalls.filter((k) => k.outcome !== "forwarded" && k.outcome !== "stale");
  assert.ok(hit.length > 0, `the fault (${JSON.stringify(o.schedule.targeted)}) never hit a call: the test proves nothing${story(o)}`);
}

/** Tests the engine under test is known to fail: [part of the title, why] (see docs/testing.md, "Known engine failures"). */
const KNOWN: [string, string][] = [];
const bug = (title: string, fn: () => Promise<void> | void): void => void test(title, knownFailure(KNOWN, title), fn);

describe("issue #10 regressions (black-box)", { concurrency: 4 }, () => {
  for (const [name, action] of [
    ["its task definition was deregistered (ClientException)", { kind: "client", type: "ClientException", message: "TaskDefinition is inactive" }],
    ["ECS answers 5xx until past every retry", { kind: "error500" }],
    ["it is throttled past the SDK's retries", { kind: "throttle" }],
  ] as const) {
    bug(`the rollback call fails because ${name}: exit 4 with a record, never exit 1 without one`, async () => {
      // The new revision never starts: --timeout fails it, so the rollback is the tool's own (not the breaker's).
      // The rollback call is whichever the tool uses: UpdateService back to the previous revision (the 2nd
      // UpdateService), or StopServiceDeployment(ROLLBACK) — both fail.
      const s = schedule(["tempo"], {
        behaviours: { tempo: { kind: "slow", startDelayMs: 600_000 } },
        targeted: { op: "UpdateService", component: "tempo", fromNth: 2, count: Infinity, action },
      }, { timeoutMs: 1_500 });
      const { o, bad } = await verify(s, ["I3", "I4", "I5", "REC"], {
        setup: async (w) => void w.proxy.rules.push({ op: "StopServiceDeployment", service: "lgtm-tempo", fromNth: 1, count: Infinity, action }),
      });
      assertInjected(o);
      assert.equal(o.exitCode, 4, `expected exit 4 (the rollback failed: needs attention)${story(o)}`);
      const rec = o.records.get("tempo");
      assert.equal(rec?.verdict, "failed", story(o));
      // The record says the rollback failed (docs/release-record.md: failureReasons, or the outcome line `message`).
      assert.match([...rec.failureReasons, rec.message ?? ""].join(" "), /roll ?back/i, `the record says the rollback failed: ${JSON.stringify(rec).slice(0, 400)}`);
      assert.equal(rec.taskDefinition?.rolledBackTo, null, "nothing was rolled back");
      assertClean(o, bad);
    });
  }

  bug("a later component's UpdateService fails: the component already updated is still watched to a verdict", async () => {
    // The second UpdateService of the release (whichever component it is) is refused, for good.
    const s = schedule(["loki", "tempo"], { targeted: { op: "UpdateService", fromNth: 2, count: 1, action: { kind: "client", type: "ClientException", message: "TaskDefinition is inactive" } } });
    const { o, bad } = await verify(s, ["I1", "I2", "I3", "I4", "I5", "REC"]);
    assertInjected(o);
    assert.notEqual(o.exitCode, 0, story(o));
    const updated = (["loki", "tempo"] as const).filter((c) => o.emuCalls.some((k) => k.operation === "UpdateService" && k.status === 200 && (k.input as any).service === `lgtm-${c}`));
    assert.ok(updated.length >= 1, "one component was updated");
    for (const c of updated) assert.ok(["succeeded", "rolled-back", "failed"].includes(o.records.get(c)?.verdict), `${c} was updated; its record says ${o.records.get(c)?.verdict}${story(o)}`);
    assertClean(o, bad);
  });

  bug("a crash after ECS declared COMPLETED is caught by the default bake: exit 3, never exit 0", async () => {
    // stabilizeMs is 70 ms: the deployment COMPLETES, then every task crashes at 300 ms of uptime.
    const s = schedule(["tempo"], { behaviours: { tempo: { kind: "lateCrash", afterMs: 300, exitCode: 2 } } }, { timeoutMs: 120_000 });
    const { o, bad } = await verify(s, ["I1"], { argv: without("--bake") });
    assert.equal(o.exitCode, 3, `a build that crashes after COMPLETED must not be released${story(o)}`);
    assertClean(o, bad);
  });

  bug("a stale DescribeServices right after UpdateService is not taken for a breaker rollback", async () => {
    const s = schedule(["tempo", "loki"], { api: { throttleRate: 0, errorRate: 0, dropRate: 0, latencyMs: 0, describeBurst: 0, staleMs: 1_500 } });
    const { o, bad } = await verify(s, ["I1", "I2", "I7", "LIVE"]);
    assert.ok(o.proxyCalls.some((k) => k.outcome === "stale"), "stale answers were served");
    assert.equal(o.exitCode, 0, `a healthy release seen through eventually consistent reads must succeed${story(o)}`);
    assertClean(o, bad);
  });

  bug("another client's deployment mid-watch is not rolled back over: stop, say so, exit 4", async () => {
    const s = schedule(["tempo"], {
      behaviours: { tempo: { kind: "slow", startDelayMs: 2_000 } },
      thirdParty: { component: "tempo", at: { op: "DescribeServices", component: "tempo", nth: 4, when: "after" } },
    });
    const { o, bad } = await verify(s, ["I2", "I3", "I6"]);
    assert.ok(o.thirdParty?.applied, "the third party deployed");
    assert.equal(shortTd(primary(o, "tempo").taskDefinition), shortTd(o.thirdParty!.taskDefinition), `the other client's revision must be left in place${story(o)}`);
    assert.equal(o.exitCode, 4, `expected exit 4 (the service needs attention: someone else deployed)${story(o)}`);
    assertClean(o, bad);
  });

  bug("the rollback target is the revision serving when the service is updated, not the one seen at preflight", async () => {
    let c3 = "";
    const s = schedule(["tempo"], { behaviours: { tempo: { kind: "earlyCrash", afterMs: 5, exitCode: 1 } } });
    const { o, bad } = await verify(s, ["I2", "REC"], {
      setup: async (w) => {
        c3 = await w.register("tempo", "C");
        // While the tool registers, another deployment finishes: revision C is what serves when the tool updates.
        // (Before the tool's RegisterTaskDefinition is answered: the tool re-checks only after it.)
        w.proxy.hooks.push({
          op: "RegisterTaskDefinition",
          nth: 1,
          when: "before",
          run: async () => {
            await w.thirdPartyDeploy("tempo", c3);
            await w.waitSteady(["tempo"]);
            w.baseline.get("tempo")!.taskDefinition = c3; // what serves when the tool updates: the oracle's rollback target
          },
        });
      },
    });
    const rec = o.records.get("tempo");
    assert.equal(shortTd(rec?.taskDefinition?.previous), shortTd(c3), `the captured rollback target${story(o)}`);
    assert.equal(o.exitCode, 3, story(o));
    assert.equal(shortTd(primary(o, "tempo").taskDefinition), shortTd(c3), `rolled back to what was serving${story(o)}`);
    assertClean(o, bad);
  });

  bug("rollback --to previous skips a revision the tool rejected (ECS had marked it successful before it crashed)", async () => {
    const s = schedule(["tempo"], { behaviours: { tempo: { kind: "lateCrash", afterMs: 250, exitCode: 2 } } }, { bakeMs: 1_000 });
    const w = await prepare(s);
    try {
      // A (revision 1) → C (2) by another client → the tool releases B (3), which crashes during the bake.
      const c = await w.register("tempo", "C");
      await w.thirdPartyDeploy("tempo", c);
      await w.waitSteady(["tempo"]);
      w.baseline.get("tempo")!.taskDefinition = c;
      const first = await execute(s, w);
      assert.equal(first.exitCode, 3, `the release of B must fail and roll back${story(first)}`);
      const rejected = first.records.get("tempo")?.taskDefinition?.new;
      const second = await execute(s, w, { argv: (a) => rollbackArgv(a, "previous") });
      const targets = second.emuCalls.filter((k) => k.operation === "UpdateService").map((k) => (k.input as any).taskDefinition);
      assert.ok(!targets.includes(rejected), `rollback --to previous picked ${shortTd(rejected)}, the revision the tool had rejected${story(second)}`);
      assert.equal(second.exitCode, 0, story(second));
      assert.equal(shortTd(primary(second, "tempo").taskDefinition), "lgtm-tempo:1", "previous of C is A (revision 1)");
    } finally {
      await w.close();
    }
  });

  bug("rollback --to <version> with several eligible revisions is an error listing them; nothing changes", async () => {
    const s = schedule(["tempo"]);
    const w = await prepare(s);
    try {
      // A (1), C (2), B (3): three revisions of version 1.0.0, all healthy; B serves.
      for (const sha of ["C", "B"] as const) {
        await w.thirdPartyDeploy("tempo", await w.register("tempo", sha));
        await w.waitSteady(["tempo"]);
      }
      const o = await execute(s, w, { argv: (a) => rollbackArgv(a, w.project.version("tempo")) });
      const said = [...o.out, ...o.err].join("\n");
      assert.ok([2, 5].includes(o.exitCode), `expected an input/precondition error, got exit ${o.exitCode}${story(o)}`);
      assert.match(said, /lgtm-tempo:1\b/, `the error lists revision 1${story(o)}`);
      assert.match(said, /lgtm-tempo:2\b/, `the error lists revision 2${story(o)}`);
      assert.deepEqual(o.emuCalls.filter((k) => k.mutating).map((k) => k.operation), []);
    } finally {
      await w.close();
    }
  });

  bug("rollback --to <version> never picks the failed build carrying that version", async () => {
    const s = schedule(["tempo"], { behaviours: { tempo: { kind: "earlyCrash", afterMs: 5, exitCode: 1 } } });
    const w = await prepare(s);
    try {
      const first = await execute(s, w);
      assert.equal(first.exitCode, 3, story(first));
      const failed = first.records.get("tempo")?.taskDefinition?.new;
      const o = await execute(s, w, { argv: (a) => rollbackArgv(a, w.project.version("tempo")) });
      const targets = o.emuCalls.filter((k) => k.operation === "UpdateService").map((k) => (k.input as any).taskDefinition);
      assert.ok(!targets.includes(failed), `rollback --to ${w.project.version("tempo")} re-deployed the failed build ${shortTd(failed)}${story(o)}`);
      assert.notEqual(o.exitCode, 0, `nothing eligible to roll back to: not a success${story(o)}`);
    } finally {
      await w.close();
    }
  });

  bug("scale-in during the watch (scheduler stops) does not fail a good release", async () => {
    // Grafana autoscaled to 3 tasks; mid-release the autoscaler scales in to 2 (ServiceSchedulerInitiated stops).
    const s = schedule(["grafana"], { behaviours: { grafana: { kind: "slow", startDelayMs: 150 } }, autoscaled: { component: "grafana", desired: 3 } });
    const { o, bad } = await verify(s, ["I1", "LIVE"], {
      setup: async (w) => {
        w.proxy.hooks.push({ op: "DescribeServices", service: "lgtm-grafana", nth: 4, when: "after", run: () => w.setDesired("grafana", 2) });
      },
    });
    assert.ok(o.emuCalls.some((k) => k.operation === "UpdateService" && (k.input as any).desiredCount === 2 && !(k.input as any).taskDefinition), "the scale-in happened during the release");
    assert.equal(o.exitCode, 0, `scheduler-initiated stops are not failures${story(o)}`);
    assertClean(o, bad);
  });

  bug("task retirement (exit 143) and AZ rebalancing (exit 137) during the bake do not fail a good release", async () => {
    const s = schedule(["grafana", "mimir"], {}, { bakeMs: 1_500, timeoutMs: 6_000 });
    const acted: string[] = [];
    const { o, bad } = await verify(s, ["I1", "LIVE"], {
      setup: async (w) => {
        // mimir's new containers exit 137 on SIGTERM (as if killed at stopTimeout); grafana's answer 143.
        w.emu.mergeScenario({ images: { [w.digest("mimir", "B")!]: { behavior: "healthy", sigtermExitCode: 137 } } });
        // Once both new deployments are COMPLETED (the bake has begun), AWS retires a grafana task and rebalances mimir.
        void (async () => {
          for (let i = 0; i < 400 && acted.length === 0; i++) {
            const st = await w.state();
            const done = (["grafana", "mimir"] as const).every((c) => {
              const p = primaryOf(serviceOf(st, c)!);
              return p && p.taskDefinition !== w.baseline.get(c)!.taskDefinition && p.rolloutState === "COMPLETED";
            });
            if (done) {
              for (const a of [{ type: "retireTask", service: "lgtm-grafana" }, { type: "rebalance", service: "lgtm-mimir" }]) acted.push(`${a.type}:${(await w.action(a)).status}`);
            }
            await new Promise((r) => setTimeout(r, 20));
          }
        })();
      },
    });
    assert.deepEqual(acted, ["retireTask:200", "rebalance:200"], `the maintenance ran during the bake${story(o)}`);
    const stops = o.stateLater.ecs.tasks.filter((t) => t.stopCode === "ServiceSchedulerInitiated" && /maintenance|rebalancing/i.test(t.stoppedReason ?? "") && t.containers.some((c) => c.exitCode === 143 || c.exitCode === 137));
    assert.ok(stops.length >= 1, "a new-revision task was stopped by the scheduler with exit 143/137");
    assert.equal(o.exitCode, 0, `scheduler stops are not failures${story(o)}`);
    assertClean(o, bad);
  });

  bug("desired count 0 is a precondition error, not a success", async () => {
    // Loki: Tempo's desired count of 0 is refused earlier by the rolling-safe check (exit 2: it runs exactly 1 task).
    const p = copyProject();
    try {
      p.edit("environments/local.json", (e) => (e.components = { loki: { desiredCount: 0 } }));
      const s = schedule(["loki"]);
      const { o } = await verify(s, [], { argv: (a) => a.map((x) => (x === REPO_ROOT ? p.root : x)) });
      assert.equal(o.exitCode, 5, `nothing can be verified with 0 tasks: exit 5 expected${story(o)}`);
      assert.deepEqual(o.emuCalls.filter((k) => k.operation === "UpdateService" || k.operation === "CreateService").map((k) => k.operation), [], "nothing changed");
      assert.match([...o.out, ...o.err].join("\n"), /desired/i, "the message names the desired count");
    } finally {
      p.cleanup();
    }
  });

  bug("throttling storm against --timeout 15s: the deadline holds, and a completed rollback is reported as such", async () => {
    // The storm starts once the release's UpdateService is answered: the watch and the rollback run through it.
    const s = schedule(["tempo"], { behaviours: { tempo: { kind: "slow", startDelayMs: 600_000 } } }, { timeoutMs: 15_000 });
    const { o, bad } = await verify(s, ["I2", "I3", "I7"], {
      setup: async (w) => {
        w.proxy.hooks.push({ op: "UpdateService", service: "lgtm-tempo", nth: 1, when: "after", run: () => w.emu.mergeScenario({ api: { "*": { throttleRate: 0.5 } } }) });
      },
    });
    assert.ok(o.emuCalls.some((k) => k.errorType === "ThrottlingException"), "the storm happened");
    const limit = 15_000 + 15_000 + 2 * s.flags.bakeMs + 5_000;
    assert.ok(o.tEnd - o.t0 <= limit, `--timeout 15s (and the rollback's 15 s) took ${o.tEnd - o.t0} ms${story(o)}`);
    assert.ok([3, 4].includes(o.exitCode), story(o));
    if (primary(o, "tempo").taskDefinition === o.baseline.get("tempo")!.taskDefinition && primary(o, "tempo").rolloutState === "COMPLETED") {
      assert.doesNotMatch(o.out.join("\n"), /rolled back to: nothing/, "the rollback completed; the report must not say it did not");
    }
    assertClean(o, bad);
  });

  bug("an autoscaled desired count is kept by a release", async () => {
    const s = schedule(["tempo"], { autoscaled: { component: "tempo", desired: 3 } });
    const { o, bad } = await verify(s, ["I1", "DESIRED"]);
    assert.equal(o.exitCode, 0, story(o));
    assert.equal(primary(o, "tempo").desiredCount, 3, "the release must not reset the autoscaled count to the template's 1");
    assertClean(o, bad);
  });

  bug("a FAILED primary with no running task is not captured as the rollback target: exit 5 naming rollback --to", async () => {
    const s = schedule(["tempo"]);
    const { o } = await verify(s, [], {
      setup: async (w) => {
        // Another client deployed a crashing build with the breaker's rollback off: PRIMARY FAILED, 0 running.
        const c = await w.register("tempo", "C");
        w.emu.mergeScenario({ images: { [w.digest("tempo", "C")!]: { behavior: "crash", afterMs: 0 } } });
        await w.ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "lgtm-tempo", taskDefinition: c, forceNewDeployment: true, deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false }, minimumHealthyPercent: 0, maximumPercent: 100 } }));
        for (let i = 0; i < 300; i++) {
          const p = primaryOf(serviceOf(await w.state(), "tempo")!);
          if (p?.rolloutState === "FAILED") break;
          await new Promise((r) => setTimeout(r, 20));
        }
        w.emu.clearCalls();
      },
    });
    assert.equal(o.exitCode, 5, story(o));
    assert.match([...o.out, ...o.err].join("\n"), /rollback\b.*--to\b/, `the message names rollback --to${story(o)}`);
    assert.deepEqual(o.emuCalls.filter((k) => k.operation === "UpdateService").map((k) => k.operation), [], "nothing changed");
  });

  bug("--atomic on the abort path: SIGTERM after both updates rolls back every component", async () => {
    const s = schedule(["loki", "tempo"], {
      behaviours: { loki: { kind: "slow", startDelayMs: 60_000 }, tempo: { kind: "slow", startDelayMs: 60_000 } },
      abort: { at: { op: "DescribeServices", nth: 4, when: "after" } },
    }, { atomic: true });
    const { o, bad } = await verify(s, ["I2", "I5", "ABORT"]);
    assert.ok(o.tAbort !== undefined && o.emuCalls.filter((k) => k.operation === "UpdateService").length >= 2, `SIGTERM came after both updates${story(o)}`);
    for (const c of ["loki", "tempo"] as const) assert.equal(shortTd(primary(o, c).taskDefinition), shortTd(o.baseline.get(c)!.taskDefinition), `${c} rolled back${story(o)}`);
    assertClean(o, bad);
  });

  bug("--atomic on the API-error path: the second update is refused, the first component is rolled back", async () => {
    const s = schedule(["loki", "tempo"], { targeted: { op: "UpdateService", fromNth: 2, count: 1, action: { kind: "client", type: "ClientException", message: "TaskDefinition is inactive" } } }, { atomic: true });
    const { o, bad } = await verify(s, ["I2", "I5"]);
    assertInjected(o);
    assert.notEqual(o.exitCode, 0, story(o));
    for (const c of ["loki", "tempo"] as const) assert.equal(shortTd(primary(o, c).taskDefinition), shortTd(o.baseline.get(c)!.taskDefinition), `${c} is back on its previous revision${story(o)}`);
    assertClean(o, bad);
  });

  bug("one hung task listing does not stall the other components' watch", async () => {
    const s = schedule(["loki", "tempo", "grafana"], {
      behaviours: { loki: { kind: "earlyCrash", afterMs: 5, exitCode: 1 } },
      targeted: { op: "ListTasks", component: "loki", fromNth: 1, count: 1, action: { kind: "hangBefore" } },
    }, { timeoutMs: 5_000 });
    const { o, bad } = await verify(s, ["I1", "I7"]);
    assertInjected(o);
    assert.equal(o.records.get("tempo")?.verdict, "succeeded", story(o));
    assert.equal(o.records.get("grafana")?.verdict, "succeeded", story(o));
    assertClean(o, bad);
  });
});

/** The schedule's deploy command line turned into `rollback <component> --to <target>` with the same plumbing. */
function rollbackArgv(a: string[], to: string): string[] {
  const i = a.indexOf("deploy");
  const head = a.slice(0, i);
  const component = a[i + 1]!;
  const keep = ["--env", "--poll-interval", "--record", "--timeout", "--bake", "--abort-grace", "--rollback-timeout"];
  const flags: string[] = [];
  for (let j = i + 2; j < a.length; j++) if (keep.includes(a[j]!)) flags.push(a[j]!, a[j + 1]!);
  return [...head, "rollback", component, "--to", to, "--reason", "regression test", ...flags];
}
