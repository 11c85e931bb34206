/**
 * One regression test per bug of issue #10 that the emulator can express: the engine against the in-process emulator
 * with real SDK clients over HTTP, fast timings. (The pure transitions are in test/rollout.test.ts; the bundle as a
 * real process under Jenkins-style signals in test/release-signals.test.ts.)
 */
import { test, describe } from "node:test";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";
import { DescribeServiceDeploymentsCommand, DescribeServicesCommand, DescribeTaskDefinitionCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { startRig, type Rig } from "./helpers/emulator.js";
import { copyProject } from "./helpers/project.js";

const A = "aaaaaaa1111";
const B = "bbbbbbb2222";
const C = "0123456789";
const unwrap = (text: string) => text.replace(/\n {4}(?=\S)/g, " ");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withRig(components: Parameters<typeof startRig>[0], fn: (rig: Rig) => Promise<void>): Promise<void> {
  const rig = await startRig(components, [A, B, C]);
  try {
    await fn(rig);
  } finally {
    await rig.close();
  }
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function service(rig: Rig, name: string) {
  return (await rig.clients.ecs.send(new DescribeServicesCommand({ cluster: rig.env.cluster, services: [name] }))).services![0]!;
}
const primaryTd = async (rig: Rig, name: string) => (await service(rig, name)).deployments?.find((d) => d.status === "PRIMARY")?.taskDefinition;
const steady = async (rig: Rig, name: string) => {
  const s = await service(rig, name);
  return s.deployments?.length === 1 && s.deployments[0]!.rolloutState === "COMPLETED";
};
const phaseOf = (rig: Rig, c: string): string | undefined => {
  try {
    return rig.record(c).phase;
  } catch {
    return undefined; // not written yet
  }
};
/** Our rollback calls: StopServiceDeployment, or an UpdateService back to revision 1. */
const rollbackCalls = (rig: Rig) => rig.emu.calls().filter((c) => c.operation === "StopServiceDeployment" || (c.operation === "UpdateService" && /:1$/.test((c.input as any).taskDefinition ?? "")));
const updates = (rig: Rig, svc?: string) => rig.emu.calls().filter((c) => c.operation === "UpdateService" && (svc === undefined || (c.input as any).service === svc));

async function release(rig: Rig, component: string, sha: string, extra: string[] = []): Promise<void> {
  const r = await rig.cli(["deploy", component, "--env", "local", "--sha", sha, ...extra]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}

describe("regressions (issue #10)", () => {
  test("a rollback call that keeps failing: retried until the rollback deadline, then exit 4 with a record — never a crash", async () => {
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]);
      // The new revision never starts (so ECS's breaker stays out of it): the release times out and must roll back.
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", B)]: { behavior: "slow", startDelayMs: 60_000 } } });
      rig.emu.clearCalls();
      const run = rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--timeout", "1s", "--rollback-timeout", "4s"]);
      await until("the release's UpdateService", () => updates(rig).length === 1);
      // From now on every UpdateService (and StopServiceDeployment) fails: a 5xx outage during the rollback.
      rig.emu.mergeScenario({ api: { UpdateService: { errorRate: 1 }, StopServiceDeployment: { errorRate: 1 } } });
      const r = await run;
      assert.equal(r.code, 4, r.stdout + r.stderr);
      const out = unwrap(r.stdout);
      assert.match(out, /StopServiceDeployment failed \((ServerException|TimeoutError)\): looking at the service before rolling back with UpdateService/);
      assert.match(out, /the rollback call failed \d+ time\(s\) .*; service now: PRIMARY lgtm-tempo:2 IN_PROGRESS 0\/1/);
      assert.match(out, /next: lgtm-deploy rollback tempo --to lgtm-tempo:1/);
      assert.doesNotMatch(r.stderr, /unexpected error/);
      const rec = rig.record("tempo");
      assert.equal(rec.verdict, "failed");
      assert.equal(rec.exitCode, 4);
      assert.equal(rec.status, "finished");
      assert.match(rec.nextStep, /rollback tempo --to lgtm-tempo:1/);
      assert.ok(updates(rig).length >= 2, "the rollback fell back to UpdateService");
    });
  });

  test("StopServiceDeployment refused because ECS is already rolling back: ECS's rollback is adopted, no UpdateService over it", async () => {
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]);
      // Every task of B crashes at once: ECS's breaker (threshold 2) rolls back within a few hundred ms. The watch looks
      // once right after the update and then not for 3 s, so SIGTERM reaches it before it has seen that rollback.
      rig.emu.mergeScenario({
        images: { [rig.digest("tempo", B)]: { behavior: "crash", exitCode: 2, afterMs: 0 } },
        faults: [{ operation: "StopServiceDeployment", fault: "error", errorType: "ConflictException" }],
      });
      rig.emu.clearCalls();
      const abort = new AbortController();
      const run = rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--poll-interval", "3s", "--bake", "150ms", "--abort-grace", "5s"], { signal: abort.signal });
      await until("the release's UpdateService", () => updates(rig).length === 1);
      const arn = (await service(rig, "lgtm-tempo")).currentServiceDeployment!;
      const sdStatus = async () => (await rig.clients.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }))).serviceDeployments?.[0]?.status;
      await until("ECS's breaker rolling back", async () => (await sdStatus())?.startsWith("ROLLBACK") === true);
      abort.abort("SIGTERM");
      const r = await run;
      const out = unwrap(r.stdout);
      assert.match(out, /StopServiceDeployment failed \(ConflictException\): looking at the service/, out);
      assert.match(out, /watching that rollback instead of issuing another/);
      assert.deepEqual(updates(rig).filter((c) => /:1$/.test((c.input as any).taskDefinition ?? "")), [], "no UpdateService to lgtm-tempo:1 over ECS's rollback");
      const rec = rig.record("tempo");
      assert.equal(rec.deployments.rollbackBy, "ecs-circuit-breaker");
      assert.ok([3, 4].includes(r.code), r.stdout + r.stderr);
      await until("ECS's rollback done", () => steady(rig, "lgtm-tempo"));
      assert.match((await primaryTd(rig, "lgtm-tempo")) ?? "", /lgtm-tempo:1$/);
    });
  });

  test("a crash after ECS declared the deployment COMPLETED is caught by the bake: exit 3, rolled back", async () => {
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]);
      // Crashes 300 ms after starting: after the deployment completes (fast timings), before the bake ends.
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", B)]: { behavior: "crash", exitCode: 2, afterMs: 300 } } });
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--bake", "1500ms"]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      const out = unwrap(r.stdout);
      assert.match(out, /lgtm-tempo:2 rollout COMPLETED/);
      assert.match(out, /a task of lgtm-tempo:2 failed after the deployment COMPLETED \(during the bake\)/);
      assert.match(out, /rolling back to lgtm-tempo:1 \(UpdateService\)/, "COMPLETED: not stoppable, so UpdateService");
      assert.match((await primaryTd(rig, "lgtm-tempo")) ?? "", /lgtm-tempo:1$/);
      const tags = (await rig.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "lgtm-tempo:2", include: ["TAGS"] }))).tags ?? [];
      assert.equal(tags.find((t) => t.key === "lgtm:outcome")?.value, "rolled-back", "the rejection is kept where ECS keeps it");
    });
  });

  test("rollback --to previous skips the revision the tool rejected during its bake (ECS had marked it SUCCESSFUL)", async () => {
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]); // rev 1
      await release(rig, "tempo", B); // rev 2
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", C)]: { behavior: "crash", exitCode: 2, afterMs: 300 } } });
      assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", C, "--bake", "1500ms"])).code, 3); // rev 3, rejected
      const r = await rig.cli(["rollback", "tempo", "--env", "local", "--to", "previous"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stderr, /back from lgtm-tempo:2 to lgtm-tempo:1 \(previous: .*skipped lgtm-tempo:3/);
      assert.match((await primaryTd(rig, "lgtm-tempo")) ?? "", /lgtm-tempo:1$/);
    });
  });

  test("someone else's deployment mid-watch is not undone: exit 4, no rollback call", async () => {
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]); // rev 1
      await release(rig, "tempo", C); // rev 2: running, the rollback target
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", B)]: { behavior: "slow", startDelayMs: 3000 } } });
      rig.emu.clearCalls();
      const run = rig.cli(["deploy", "tempo", "--env", "local", "--sha", B]);
      await until("the release's UpdateService", () => updates(rig).length === 1);
      await sleep(100);
      // Another party deploys rev 1 while lgtm-deploy watches rev 3.
      await rig.clients.ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "lgtm-tempo", taskDefinition: "lgtm-tempo:1", forceNewDeployment: true }));
      const r = await run;
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /replaced this release while it was watched; lgtm-deploy does not undo a deployment it did not start/);
      assert.equal(updates(rig).length, 2, "ours and theirs; no rollback over theirs");
      assert.equal(rig.record("tempo").verdict, "failed");
    });
  });

  test("the rollback target is captured right before UpdateService: a deployment during register is what it returns to", async () => {
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]); // rev 1
      await release(rig, "tempo", C); // rev 2: what the plan sees running
      rig.emu.mergeScenario({ api: { RegisterTaskDefinition: { latencyMs: 1500 } }, images: { [rig.digest("tempo", B)]: { behavior: "crash", afterMs: 0 } } });
      rig.emu.clearCalls();
      const run = rig.cli(["deploy", "tempo", "--env", "local", "--sha", B]);
      await until("RegisterTaskDefinition", () => rig.emu.calls().some((c) => c.operation === "RegisterTaskDefinition"));
      // While lgtm-deploy registers, someone rolls the service to rev 1, and it completes.
      await rig.clients.ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "lgtm-tempo", taskDefinition: "lgtm-tempo:1", forceNewDeployment: true }));
      await until("rev 1 steady", async () => (await steady(rig, "lgtm-tempo")) && /:1$/.test((await primaryTd(rig, "lgtm-tempo")) ?? ""));
      const r = await run;
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /the running revision changed since the plan: lgtm-tempo:2 → lgtm-tempo:1/);
      assert.match(unwrap(r.stdout), /if this release fails, it rolls back to lgtm-tempo:1/);
      assert.match(rig.record("tempo").taskDefinition.previous, /lgtm-tempo:1$/);
      assert.match((await primaryTd(rig, "lgtm-tempo")) ?? "", /lgtm-tempo:1$/);
    });
  });

  test("aborting a manual rollback leaves the service on the rollback target (exit 4, no second UpdateService)", async () => {
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]); // rev 1
      await release(rig, "tempo", B); // rev 2: the revision the operator escapes
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", A)]: { behavior: "slow", startDelayMs: 2000 } } });
      rig.emu.clearCalls();
      const abort = new AbortController();
      const run = rig.cli(["rollback", "tempo", "--env", "local", "--to", "1", "--reason", "rev 2 corrupts data"], { signal: abort.signal });
      await until("the rollback's UpdateService", () => updates(rig).length === 1);
      abort.abort("SIGTERM");
      const r = await run;
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /aborted: the rollback to lgtm-tempo:1 continues .* without being watched/);
      assert.equal(updates(rig).length, 1, "the revision being escaped is not deployed again");
      assert.match((await primaryTd(rig, "lgtm-tempo")) ?? "", /lgtm-tempo:1$/);
      const rec = rig.record("tempo");
      assert.equal(rec.command, "rollback");
      assert.equal(rec.reason, "rev 2 corrupts data");
      assert.equal(rec.exitCode, 4);
      assert.match(rec.nextStep, /lgtm-deploy status tempo/);
    });
  });

  test("--atomic on abort: every component is rolled back, one already released included", async () => {
    await withRig(["loki", "tempo"], async (rig) => {
      for (const c of ["loki", "tempo"]) await release(rig, c, A, ["--create-missing"]);
      rig.emu.mergeScenario({ images: { [rig.digest("loki", B)]: { behavior: "slow", startDelayMs: 5000 } } });
      const abort = new AbortController();
      rig.emu.clearCalls();
      const run = rig.cli(["deploy", "loki", "tempo", "--env", "local", "--sha", B, "--atomic", "--abort-grace", "8s"], { signal: abort.signal });
      await until("tempo released (its record says so)", () => phaseOf(rig, "tempo") === "released", 10_000);
      abort.abort("SIGTERM");
      const r = await run;
      assert.equal(r.code, 3, r.stdout + r.stderr);
      for (const c of ["loki", "tempo"]) {
        assert.equal(rig.record(c).verdict, "rolled-back", c);
        assert.match((await primaryTd(rig, `lgtm-${c}`)) ?? "", new RegExp(`lgtm-${c}:1$`));
      }
      assert.match(rig.record("tempo").failureReasons.join(), /atomic release because loki failed/);
    });
  });

  // Loki: a desired count of 0 for Tempo is refused earlier by the rolling-safe check (it runs exactly 1 task).
  test("desired count 0: exit 5 before any change; --allow-zero-desired releases", async () => {
    await withRig(["loki"], async (rig) => {
      await release(rig, "loki", A, ["--create-missing"]);
      const p = copyProject();
      try {
        p.edit("environments/local.json", (e) => (e.components = { loki: { desiredCount: 0 } }));
        rig.emu.clearCalls();
        const r = await rig.cli(["deploy", "loki", "--env", "local", "--sha", B, "--root", p.root]);
        assert.equal(r.code, 5, r.stdout + r.stderr);
        assert.match(r.stderr, /lgtm-loki would run 0 tasks \(desired count 0 from .*local\.json\): nothing could be verified/);
        assert.deepEqual(rig.mutatingCalls(), []);
        const ok = await rig.cli(["deploy", "loki", "--env", "local", "--sha", B, "--root", p.root, "--allow-zero-desired"]);
        assert.equal(ok.code, 0, ok.stdout + ok.stderr);
        assert.equal((await service(rig, "lgtm-loki")).desiredCount, 0);
      } finally {
        p.cleanup();
      }
    });
  });

  test("a throttling storm cannot stretch --timeout, and an unverified rollback is not reported as done", async () => {
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]);
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", B)]: { behavior: "slow", startDelayMs: 60_000 } } });
      const t0 = Date.now();
      rig.emu.clearCalls();
      const run = rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--timeout", "2s", "--rollback-timeout", "3s", "--poll-interval", "100ms"]);
      await until("the release's UpdateService", () => updates(rig).length === 1);
      const tUpdate = Date.now();
      rig.emu.mergeScenario({ api: { DescribeServices: { throttleRate: 1 }, ListTasks: { throttleRate: 1 } } });
      const r = await run;
      const after = (Date.now() - tUpdate) / 1000;
      assert.equal(r.code, 4, r.stdout + r.stderr);
      // A few seconds at most beyond the deadlines: a last look at the service (1.5 s) and the outcome tag (1 s).
      assert.ok(after < 2 + 3 + 4, `the deadlines held: ${after.toFixed(1)} s after the update (timeout 2s + rollback 3s)`);
      const out = unwrap(r.stdout);
      assert.match(out, /timed out after 2s/);
      assert.match(out, /the rollback to lgtm-tempo:1 did not finish within --rollback-timeout 3s/);
      // Not "rolled back", not "nothing": the rollback call went out, its outcome is unknown.
      assert.match(out, /rolled back to: not yet — the rollback to lgtm-tempo:1 is under way \(by lgtm-deploy\)/);
      assert.equal(rig.record("tempo").verdict, "failed");
      assert.equal(rollbackCalls(rig).filter((c) => c.status === 200).length, 1, "the rollback call itself went out once");
      assert.ok(Date.now() - t0 < 15_000);
    });
  });

  test("a throttling storm that passes: the rollback is verified and reported as what it is (exit 3)", async () => {
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]);
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", B)]: { behavior: "slow", startDelayMs: 60_000 } } });
      rig.emu.clearCalls();
      const run = rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--timeout", "1500ms", "--poll-interval", "100ms"]);
      await until("the release's UpdateService", () => updates(rig).length === 1);
      rig.emu.mergeScenario({ api: { DescribeServices: { throttleRate: 1 } } });
      await until("the rollback call", () => rollbackCalls(rig).length > 0, 15_000);
      rig.emu.mergeScenario({ api: { DescribeServices: {} } });
      const r = await run;
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /rolled back to: lgtm-tempo:1 \(by lgtm-deploy/);
      assert.equal(rig.record("tempo").verdict, "rolled-back");
    });
  });

  test("a FAILED primary with 0 tasks is not a rollback target: exit 5 naming rollback --to, nothing changed", async () => {
    await withRig(["tempo"], async (rig) => {
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", A)]: { behavior: "crash", afterMs: 0 } } });
      // The first release crash-loops; ECS's breaker has nothing to return to, so the deployment FAILED and stalls.
      assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", A, "--create-missing", "--max-failed-tasks", "200", "--no-fail-fast", "--timeout", "3s"])).code, 4);
      await until("the breaker's verdict", async () => (await service(rig, "lgtm-tempo")).deployments?.[0]?.rolloutState === "FAILED");
      rig.emu.clearCalls();
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B]);
      assert.equal(r.code, 5, r.stdout + r.stderr);
      assert.match(r.stderr, /lgtm-tempo runs lgtm-tempo:1 whose deployment FAILED: that is not a revision to roll back to.*lgtm-deploy rollback tempo --to <revision>/);
      assert.deepEqual(rig.mutatingCalls(), []);
    });
  });

  test("the service's own desired count (autoscaling) is kept; the environment's is applied when it sets one", async () => {
    await withRig(["loki"], async (rig) => {
      await release(rig, "loki", A, ["--create-missing"]);
      await rig.clients.ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "lgtm-loki", desiredCount: 3 })); // the autoscaler
      await until("3 tasks", async () => (await service(rig, "lgtm-loki")).runningCount === 3 && (await steady(rig, "lgtm-loki")));
      await release(rig, "loki", B);
      assert.equal("desiredCount" in (updates(rig).at(-1)!.input as object), false, "UpdateService did not send a desired count");
      assert.equal((await service(rig, "lgtm-loki")).desiredCount, 3);
      const p = copyProject();
      try {
        p.edit("environments/local.json", (e) => (e.components = { loki: { desiredCount: 4, replicationFactor: 1 } }));
        await release(rig, "loki", C, ["--root", p.root]);
        assert.equal((updates(rig).at(-1)!.input as any).desiredCount, 4);
        assert.equal((await service(rig, "lgtm-loki")).desiredCount, 4);
      } finally {
        p.cleanup();
      }
    });
  });
});

describe("regressions that need the emulator's inconvenient ECS (stale reads, targeted faults, scheduler stops)", () => {
  test("a stale read right after UpdateService (old deployment PRIMARY, ours not visible) is not taken for a rollback", async () => {
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]);
      rig.emu.mergeScenario({ consistency: { DescribeServices: { lagMs: 1500, after: ["UpdateService"] }, DescribeServiceDeployments: { lagMs: 1500, after: ["UpdateService"] } } });
      rig.emu.clearCalls();
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const calls = rig.emu.calls();
      const t0 = Date.parse(calls.find((c) => c.operation === "UpdateService")!.time);
      const staleWindow = calls.filter((c) => c.operation === "DescribeServices" && Date.parse(c.time) - t0 > 0 && Date.parse(c.time) - t0 < 1200);
      assert.ok(staleWindow.length >= 5, `polled inside the stale window (${staleWindow.length} reads)`);
      assert.doesNotMatch(r.stdout, /rolling back|rolled the release back|put lgtm-tempo:1 back/);
      assert.match((await primaryTd(rig, "lgtm-tempo")) ?? "", /lgtm-tempo:2$/);
    });
  });

  test("the 2nd component's UpdateService is refused: the 1st is still watched and judged, and everyone gets a record", async () => {
    await withRig(["loki", "tempo"], async (rig) => {
      for (const c of ["loki", "tempo"]) await release(rig, c, A, ["--create-missing"]);
      rig.emu.mergeScenario({ faults: [{ operation: "UpdateService", service: "lgtm-tempo", fault: "error", errorType: "InvalidParameterException", message: "injected" }] });
      const r = await rig.cli(["deploy", "loki", "tempo", "--env", "local", "--sha", B]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.equal(rig.record("loki").verdict, "succeeded");
      assert.equal(rig.record("loki").exitCode, 0);
      const tempo = rig.record("tempo");
      assert.equal(tempo.verdict, "not-started");
      assert.equal(tempo.exitCode, 3, "other components were changed: not 'nothing changed'");
      assert.match(tempo.message, /ECS refused UpdateService: injected; lgtm-tempo was not changed \(other components were changed/);
      assert.match((await primaryTd(rig, "lgtm-loki")) ?? "", /lgtm-loki:2$/);
      assert.match((await primaryTd(rig, "lgtm-tempo")) ?? "", /lgtm-tempo:1$/);
    });
  });

  test("--atomic on the API-error path: the 2nd component's UpdateService is refused, the 1st is rolled back", async () => {
    await withRig(["loki", "tempo"], async (rig) => {
      for (const c of ["loki", "tempo"]) await release(rig, c, A, ["--create-missing"]);
      rig.emu.mergeScenario({ faults: [{ operation: "UpdateService", service: "lgtm-tempo", fault: "error", errorType: "InvalidParameterException", message: "injected" }] });
      const r = await rig.cli(["deploy", "loki", "tempo", "--env", "local", "--sha", B, "--atomic"]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      const loki = rig.record("loki");
      assert.equal(loki.verdict, "rolled-back");
      assert.match(loki.failureReasons.join(), /atomic release because tempo failed/);
      assert.equal(rig.record("tempo").verdict, "not-started");
      for (const c of ["loki", "tempo"]) assert.match((await primaryTd(rig, `lgtm-${c}`)) ?? "", new RegExp(`lgtm-${c}:1$`));
    });
  });

  test("scheduler stops (task retirement, AZ rebalancing; exit 143) during the bake are not failures", async () => {
    await withRig(["loki"], async (rig) => {
      await release(rig, "loki", A, ["--create-missing"]);
      // --timeout: should an assertion below fail, the release left running ends soon (it keeps the test file alive).
      const run = rig.cli(["deploy", "loki", "--env", "local", "--sha", B, "--bake", "3s", "--timeout", "30s"]);
      await until("loki baking", async () => (await steady(rig, "lgtm-loki")) && /:2$/.test((await primaryTd(rig, "lgtm-loki")) ?? ""), 10_000);
      const post = (action: unknown) => fetch(`${rig.emu.url}/_emulator/actions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(action) });
      assert.equal((await post({ type: "retireTask", service: "lgtm-loki" })).status, 200);
      // The emulator refuses a rebalance (409) while no task is free to move — on a loaded machine the retired task's
      // replacement may still be on its way: ask again for a moment.
      let moved = 0;
      for (let i = 0; i < 40 && moved !== 200; i++) {
        moved = (await post({ type: "rebalance", service: "lgtm-loki" })).status;
        if (moved !== 200) await sleep(25);
      }
      assert.equal(moved, 200);
      const r = await run;
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const stops = rig.record("loki").stoppedTasks.filter((t: any) => t.stopCode === "ServiceSchedulerInitiated");
      assert.ok(stops.length >= 1, `scheduler stops were seen: ${JSON.stringify(rig.record("loki").stoppedTasks)}`);
      for (const t of stops) assert.deepEqual([t.failed, t.classification.kind], [false, "none"]);
      assert.match(unwrap(r.stdout), /not counted as a failure/);
    });
  });

  test("one hung stopped-task listing does not stall the other components' watch", async () => {
    await withRig(["loki", "tempo", "mimir"], async (rig) => {
      for (const c of ["loki", "tempo", "mimir"]) await release(rig, c, A, ["--create-missing"]);
      rig.emu.mergeScenario({ faults: [{ operation: "ListTasks", times: 1, fault: "hang" }] });
      const t0 = Date.now();
      const released = new Map<string, number>();
      const run = rig.cli(["deploy", "loki", "tempo", "mimir", "--env", "local", "--sha", B]);
      const watcher = setInterval(() => {
        for (const c of ["loki", "tempo", "mimir"]) if (!released.has(c) && phaseOf(rig, c) === "released") released.set(c, Date.now() - t0);
      }, 10);
      const r = await run;
      clearInterval(watcher);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const total = Date.now() - t0;
      const early = [...released.values()].filter((ms) => ms < 5_000);
      assert.ok(total > 10_000, `the hung listing was waited out (${total} ms)`);
      assert.ok(early.length >= 2, `two components released early while one listing hung: ${JSON.stringify([...released])}`);
    });
  });

  test("a hung DescribeServices does not blind the watch for its 15 s call timeout: the rollback is verified in time", async () => {
    // Seed 1267943855 #135: a poll whose DescribeServices hung held the watch for 15 s — the whole abort grace —
    // and a rollback that had completed was reported as "rolled back to: nothing".
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]);
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", B)]: { behavior: "slow", startDelayMs: 60_000 } } });
      rig.emu.clearCalls();
      const run = rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--timeout", "1500ms", "--rollback-timeout", "6s", "--poll-interval", "100ms"]);
      await until("the release's UpdateService", () => updates(rig).length === 1);
      rig.emu.mergeScenario({ faults: [{ operation: "DescribeServices", times: 2, fault: "hang" }] });
      const r = await run;
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.equal(rig.record("tempo").taskDefinition.rolledBackTo, (await service(rig, "lgtm-tempo")).deployments![0]!.taskDefinition);
    });
  });

  test("one throttled poll does not slow the watch down for seconds (no client-side rate limiter on the polling client)", async () => {
    // Seed 20261130 #30: one ThrottlingException early in the watch dropped the SDK's adaptive retry mode's token
    // bucket to the rate it had measured so far (a few requests/s); every later read — DescribeServices,
    // DescribeServiceDeployments, each component's ListTasks — queued behind it, nothing was polled for 4 s and the
    // deadlines decided a healthy release and its rollback. Throttling may delay a retry, not the watch.
    const five = ["mimir", "loki", "tempo", "pyroscope", "alloy"] as const;
    await withRig([...five], async (rig) => {
      await rig.cli(["deploy", ...five, "--env", "local", "--sha", A, "--create-missing"]);
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", B)]: { behavior: "slow", startDelayMs: 3_000 } } });
      rig.emu.clearCalls();
      const run = rig.cli(["deploy", ...five, "--env", "local", "--sha", B, "--timeout", "8s", "--bake", "300ms", "--poll-interval", "40ms"]);
      await until("the release's first poll", () => rig.emu.calls().some((c) => c.operation === "DescribeServiceDeployments"));
      rig.emu.mergeScenario({ api: { DescribeServiceDeployments: { throttleBurst: 1 } } });
      const r = await run;
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const throttled = Date.parse(rig.emu.calls().find((c) => c.status === 400)!.time);
      // One retry of the throttled call may wait up to 1 s (the SDK's standard backoff); the second after that, the
      // watch polls at its interval again (40 ms: ~20 polls; an adaptive token bucket allows 1–3).
      const polls = rig.emu.calls().filter((c) => c.operation === "DescribeServices" && Date.parse(c.time) >= throttled + 1_200 && Date.parse(c.time) < throttled + 2_200);
      assert.ok(polls.length >= 6, `DescribeServices in the second after the throttled poll's retry: ${polls.length}`);
    });
  });
});

describe("the end of a run", () => {
  test("no read of the run reaches ECS after the command has returned (reads still out are aborted, their retries too)", async () => {
    // Every DescribeServiceDeployments is throttled: the SDK retries each with backoff (up to ~1 s per attempt), so a
    // poll is nearly always waiting to retry one when the release ends. Left alone, that retry reached ECS after the
    // command had returned; the run now aborts what is out and waits for it to settle before it returns.
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]);
      rig.emu.mergeScenario({ api: { DescribeServiceDeployments: { throttleRate: 1 } } });
      rig.emu.clearCalls();
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--bake", "300ms", "--poll-interval", "50ms"]);
      const returned = Date.now();
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(rig.emu.calls().some((c) => c.operation === "DescribeServiceDeployments" && c.status === 400), "the throttle was applied");
      await sleep(2_500);
      const late = rig.emu.calls().filter((c) => Date.parse(c.wallTime) > returned);
      assert.deepEqual(late.map((c) => `${c.operation} +${Date.parse(c.wallTime) - returned} ms`), []);
    });
  });
});

describe("--events-file", () => {
  test("every progress event as one JSON object per line, to the millisecond, while the console stays human", async () => {
    await withRig(["tempo"], async (rig) => {
      await release(rig, "tempo", A, ["--create-missing"]);
      const file = path.join(rig.dir, "events.jsonl");
      writeFileSync(file, "an older run's events\n");
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--bake", "200ms", "--poll-interval", "50ms", "--events-file", file]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const events = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      assert.ok(events.every((e) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(e.time) && typeof e.kind === "string" && typeof e.message === "string"), "ms ISO times, kind, message");
      assert.ok(events.some((e) => e.component === "tempo" && e.kind === "released"), "the release's own events");
      assert.ok(events.some((e) => e.phase === "plan"), "the plan's events too");
      assert.doesNotMatch(r.stdout, /^\{/m, "the console is not JSON");
      assert.ok(events.length >= r.stdout.split("\n").filter((l) => / \[tempo\] /.test(l) && !/^ /.test(l)).length - 5, "as many events as console lines (give or take the summary)");
    });
  });
});

describe("deployment alarms (the stack's, rendered into the service)", () => {
  test("an alarm fires during the release: ECS's alarm rollback is adopted and reported as such (exit 3)", async () => {
    await withRig(["tempo"], async (rig) => {
      const p = copyProject();
      try {
        p.edit("environments/local.json", (e) => (e.outputs.deploymentAlarms = { tempo: ["lgtm-local-tempo-5xx"] }));
        const root = ["--root", p.root];
        assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", A, "--create-missing", ...root])).code, 0);
        const created = await service(rig, "lgtm-tempo");
        assert.deepEqual(created.deploymentConfiguration?.alarms, { alarmNames: ["lgtm-local-tempo-5xx"], enable: true, rollback: true });
        rig.emu.mergeScenario({ images: { [rig.digest("tempo", B)]: { behavior: "slow", startDelayMs: 2000 } } });
        rig.emu.clearCalls();
        const run = rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, ...root]);
        await until("the release's UpdateService", () => updates(rig).length === 1);
        await sleep(200);
        const fired = await fetch(`${rig.emu.url}/_emulator/actions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "alarm", service: "lgtm-tempo", alarmName: "lgtm-local-tempo-5xx" }) });
        assert.equal(fired.status, 200, await fired.text());
        const r = await run;
        assert.equal(r.code, 3, r.stdout + r.stderr);
        const rec = rig.record("tempo");
        assert.equal(rec.deployments.rollbackBy, "ecs-alarm");
        assert.match(rec.failureReasons.join(), /alarm lgtm-local-tempo-5xx fired/);
        assert.deepEqual(rec.alarms.triggered, ["lgtm-local-tempo-5xx"]);
        assert.equal(rollbackCalls(rig).length, 0, "ECS's rollback, not a second one of ours");
      } finally {
        p.cleanup();
      }
    });
  });
});
