import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { DescribeServicesCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { startRig, type Rig } from "./helpers/emulator.js";
import { copyProject } from "./helpers/project.js";
import path from "node:path";

const A = "aaaaaaa1111";
const B = "bbbbbbb2222";
const C = "0123456789";

/** Progress lines wrapped for the console (continuations indented by 4 spaces), joined back for matching. */
const unwrap = (text: string) => text.replace(/\n {4}(?=\S)/g, " ");

async function withRig(components: Parameters<typeof startRig>[0], fn: (rig: Rig) => Promise<void>, scenario?: Parameters<typeof startRig>[2]): Promise<void> {
  const rig = await startRig(components, [A, B, C], scenario);
  try {
    await fn(rig);
  } finally {
    await rig.close();
  }
}

async function primaryTd(rig: Rig, service: string): Promise<string | undefined> {
  const out = await rig.clients.ecs.send(new DescribeServicesCommand({ cluster: rig.env.cluster, services: [service] }));
  return out.services?.[0]?.deployments?.find((d) => d.status === "PRIMARY")?.taskDefinition;
}

/** First release creates the service on revision 1 (sha A). */
async function firstRelease(rig: Rig, component: "mimir" | "loki" | "tempo" | "grafana" = "tempo"): Promise<void> {
  const r = await rig.cli(["deploy", component, "--env", "local", "--sha", A, "--create-missing"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}

describe("deploy against the emulator (real SDK clients over HTTP)", () => {
  test("success: create, then upgrade; the record tells the whole story", async () => {
    await withRig(["mimir"], async (rig) => {
      await firstRelease(rig, "mimir");
      const r = await rig.cli(["deploy", "mimir", "--env", "local", "--sha", B]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /\[mimir\] lgtm-mimir:2 rollout COMPLETED \(PRIMARY\): 3\/3 running/);
      assert.match(unwrap(r.stdout), /if this release fails, it rolls back to lgtm-mimir:1/);
      assert.match(unwrap(r.stdout), /baking for 150ms/);
      // Mimir's own timeouts, not the small components' 20m: 3 rounds held back by the grace period.
      assert.match(unwrap(r.stdout), /\[mimir\] [^\n]*timeout 1h15m \(default\), rollback timeout 1h15m \(default\); mimir's default: 3 x \(drain 35s \+ stop 2m \+ grace 20m\) \+ bake 150ms \+ margin = 1h15m/);
      assert.equal(rig.record("mimir").verdict, "succeeded");
      assert.match(unwrap(r.stdout), /has reached a steady state/);
      for (const line of r.stdout.split("\n")) assert.ok(line.length <= 120, `a console line of ${line.length} characters: ${line}`);
      assert.doesNotMatch(unwrap(r.stdout), /arn:aws:ecs/, "short names, not ARNs");
      const rec = rig.record("mimir");
      assert.equal(rec.schemaVersion, 1);
      assert.equal(rec.status, "finished");
      assert.equal(rec.inProgress, false);
      assert.match(rec.runId, /^[0-9a-f-]{36}$/);
      assert.equal(rec.command, "deploy");
      assert.equal(rec.component, "mimir");
      assert.equal(rec.environment, "local");
      assert.equal(rec.verdict, "succeeded");
      assert.equal(rec.exitCode, 0);
      assert.equal(rec.tag, rig.tag("mimir", B));
      assert.equal(rec.version, "1.1.0");
      assert.equal(rec.imageDigest, rig.digest("mimir", B));
      assert.match(rec.image, new RegExp(`lgtm-mimir@${rec.imageDigest}$`));
      assert.match(rec.taskDefinition.new, /task-definition\/lgtm-mimir:2$/);
      assert.match(rec.taskDefinition.previous, /task-definition\/lgtm-mimir:1$/);
      assert.equal(rec.taskDefinition.rolledBackTo, null);
      assert.match(rec.deployments.release, /^ecs-svc\//);
      assert.ok(Date.parse(rec.finishedAt) >= Date.parse(rec.startedAt));
      assert.deepEqual(rec.failureReasons, []);
      assert.equal(rec.apiCalls.calls["ECS:UpdateService"], 1);
      assert.equal(rec.apiCalls.calls["ECS:RegisterTaskDefinition"], 1);
      // forceNewDeployment and the pinned digest reached ECS.
      const update = rig.emu.calls().filter((c) => c.operation === "UpdateService").pop()!.input as any;
      assert.equal(update.forceNewDeployment, true);
      assert.equal(update.taskDefinition, rec.taskDefinition.new);
      const reg = rig.emu.calls().filter((c) => c.operation === "RegisterTaskDefinition").pop()!.input as any;
      assert.equal(reg.containerDefinitions[0].image, rec.image);
      assert.match(await primaryTd(rig, "lgtm-mimir") ?? "", /lgtm-mimir:2$/);
    });
  });

  test("crash loop (transient failures): rolled back at the second failed task, by lgtm-deploy or by the breaker at the same threshold, never both", async () => {
    await withRig(["loki"], async (rig) => {
      await firstRelease(rig, "loki");
      rig.emu.mergeScenario({ images: { [rig.digest("loki", B)]: { behavior: "crash", exitCode: 137, afterMs: 20, reason: "OutOfMemoryError: Container killed due to memory usage" } } });
      rig.emu.clearCalls();
      const r = await rig.cli(["deploy", "loki", "--env", "local", "--sha", B]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /task \w{12} stopped: .*\(transient failure\)/);
      assert.match(unwrap(r.stdout), /release report:/);
      assert.match(unwrap(r.stdout), /rolled back to: lgtm-loki:1 \(by (lgtm-deploy|ecs-circuit-breaker)/);
      const rec = rig.record("loki");
      assert.equal(rec.verdict, "rolled-back");
      assert.equal(rec.exitCode, 3);
      assert.match(rec.taskDefinition.rolledBackTo, /lgtm-loki:1$/);
      // The service's breaker counts like lgtm-deploy (COUNT 2): whoever sees the second failure first rolls back.
      if (rec.deployments.rollbackBy === "lgtm-deploy") assert.match(rec.failureReasons.join(), /2 task\(s\) of lgtm-loki:2 failed \(--max-failed-tasks 2\)/);
      else assert.deepEqual([rec.deployments.rollbackBy, rec.circuitBreaker.failureCount, rec.circuitBreaker.threshold], ["ecs-circuit-breaker", 2, 2]);
      assert.ok(rec.stoppedTasks.some((t: any) => t.containers.some((c: any) => c.exitCode === 137) && t.stopCode === "EssentialContainerExited" && t.failed && t.classification.kind === "transient"));
      const rollbacks = rig.emu.calls().filter((c) => c.status === 200 && (c.operation === "StopServiceDeployment" || (c.operation === "UpdateService" && /:1$/.test((c.input as any).taskDefinition ?? ""))));
      assert.ok(rollbacks.length <= 1, `at most one rollback call of ours: ${rollbacks.map((c) => c.operation)}`);
      assert.match((await primaryTd(rig, "lgtm-loki")) ?? "", /lgtm-loki:1$/);
    });
  });

  test("rollback restores the service settings the release changed, not just the task definition", async () => {
    await withRig(["loki"], async (rig) => {
      await firstRelease(rig, "loki");
      const p = copyProject();
      try {
        p.edit("environments/local.json", (e) => (e.components = { loki: { desiredCount: 3, replicationFactor: 1 } }));
        rig.emu.mergeScenario({ images: { [rig.digest("loki", B)]: { behavior: "crash", afterMs: 0 } } });
        const r = await rig.cli(["deploy", "loki", "--env", "local", "--sha", B, "--root", p.root]);
        assert.equal(r.code, 3, r.stdout + r.stderr);
        const updates = rig.emu.calls().filter((c) => c.operation === "UpdateService").map((c) => c.input as any);
        assert.equal(updates.at(-2).desiredCount, 3, "the release applied the new count");
        assert.equal(updates.at(-1).desiredCount, 2, "the rollback restored the old count");
        const svc = (await rig.clients.ecs.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["lgtm-loki"] }))).services![0]!;
        assert.equal(svc.desiredCount, 2);
      } finally {
        p.cleanup();
      }
    });
  });

  test("a service without a load balancer: released, rolled back and its settings restored without a health-check grace period (ECS rejects one, 0 included)", async () => {
    // environments/local.json routes only Mimir and Loki: Grafana has no load balancer there. DescribeServices shows
    // healthCheckGracePeriodSeconds 0 for it, and the emulator (like ECS) refuses that 0 if it is sent back.
    await withRig(["grafana"], async (rig) => {
      await firstRelease(rig, "grafana");
      const before = (await rig.clients.ecs.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["lgtm-grafana"] }))).services![0]!;
      assert.deepEqual([before.loadBalancers, before.healthCheckGracePeriodSeconds], [[], 0], "the emulator describes the default 0");
      const p = copyProject();
      try {
        // A release that changes settings (desired count, breaker threshold), then crashes: lgtm-deploy's own rollback
        // (UpdateService back to revision 1 with the old settings).
        p.edit("environments/local.json", (e) => (e.components = { grafana: { desiredCount: 2 } }));
        rig.emu.mergeScenario({ images: { [rig.digest("grafana", B)]: { behavior: "crash", exitCode: 1, afterMs: 0 } } });
        rig.emu.clearCalls();
        const r = await rig.cli(["deploy", "grafana", "--env", "local", "--sha", B, "--root", p.root, "--max-failed-tasks", "3"]);
        assert.equal(r.code, 3, r.stdout + r.stderr);
        assert.equal(rig.record("grafana").verdict, "rolled-back");
        let updates = rig.emu.calls().filter((c) => c.operation === "UpdateService");
        assert.ok(updates.length >= 2, `the release and its rollback: ${updates.length} UpdateService call(s)`);
        for (const u of updates) {
          assert.equal(u.status, 200, `UpdateService refused: ${JSON.stringify(u.input)}`);
          assert.equal("healthCheckGracePeriodSeconds" in (u.input as object), false, `UpdateService sent a grace period: ${JSON.stringify(u.input)}`);
        }
        assert.ok(updates.some((u) => (u.input as any).desiredCount === 1), "the rollback restored the old desired count");
        let svc = (await rig.clients.ecs.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["lgtm-grafana"] }))).services![0]!;
        assert.equal(svc.desiredCount, 1);
        assert.equal(svc.deploymentConfiguration?.deploymentCircuitBreaker?.enable, true);
        assert.match(await primaryTd(rig, "lgtm-grafana") ?? "", /lgtm-grafana:1$/);

        // The same release with ECS's breaker acting first: ECS restores the revision, lgtm-deploy restores the rest
        // (desired count, threshold) with a plain UpdateService.
        rig.emu.clearCalls();
        const r2 = await rig.cli(["deploy", "grafana", "--env", "local", "--sha", B, "--root", p.root, "--max-failed-tasks", "50", "--no-fail-fast"]);
        assert.equal(r2.code, 3, r2.stdout + r2.stderr);
        updates = rig.emu.calls().filter((c) => c.operation === "UpdateService");
        for (const u of updates) {
          assert.equal(u.status, 200, `UpdateService refused: ${JSON.stringify(u.input)}`);
          assert.equal("healthCheckGracePeriodSeconds" in (u.input as object), false, `UpdateService sent a grace period: ${JSON.stringify(u.input)}`);
        }
        svc = (await rig.clients.ecs.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["lgtm-grafana"] }))).services![0]!;
        assert.equal(svc.desiredCount, 1, "settings restored after ECS's rollback too");
        assert.equal(svc.deploymentConfiguration?.deploymentCircuitBreaker?.thresholdConfiguration?.value, 2);

        // A successful release, then a manual rollback of it.
        rig.emu.clearCalls();
        const ok = await rig.cli(["deploy", "grafana", "--env", "local", "--sha", C]);
        assert.equal(ok.code, 0, ok.stdout + ok.stderr);
        const back = await rig.cli(["rollback", "grafana", "--env", "local", "--to", "previous", "--reason", "no load balancer"]);
        assert.equal(back.code, 0, back.stdout + back.stderr);
        for (const u of rig.emu.calls().filter((c) => c.operation === "UpdateService")) {
          assert.equal(u.status, 200, `UpdateService refused: ${JSON.stringify(u.input)}`);
          assert.equal("healthCheckGracePeriodSeconds" in (u.input as object), false);
        }
      } finally {
        p.cleanup();
      }
    });
  });

  test("failing health check: rolled back, exit 3", async () => {
    await withRig(["grafana"], async (rig) => {
      await firstRelease(rig, "grafana");
      rig.emu.mergeScenario({ images: { [rig.digest("grafana", B)]: { behavior: "unhealthy" } } });
      const r = await rig.cli(["deploy", "grafana", "--env", "local", "--sha", B]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /health checks/i);
      assert.equal(rig.record("grafana").verdict, "rolled-back");
      assert.match(await primaryTd(rig, "lgtm-grafana") ?? "", /lgtm-grafana:1$/);
    });
  });

  test("image missing from ECR: exit 5 before any mutating call", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      rig.emu.clearCalls();
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", "fedcba9876"]);
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, /image .*lgtm-tempo:1\.1\.0_gfedcba9876 does not exist in ECR; build and push it first/);
      assert.deepEqual(rig.mutatingCalls(), []);
      assert.equal(rig.record("tempo").verdict, "not-started");
    });
  });

  test("a deterministic first failure fails at once: one failed task, not two", async () => {
    await withRig(["loki"], async (rig) => {
      await firstRelease(rig, "loki");
      // Each launch takes 300 ms (a pull, a start): time for a poll to see the first failure before the second comes.
      rig.emu.mergeScenario({ images: { [rig.digest("loki", B)]: { behavior: "crash", exitCode: 1, afterMs: 10, startDelayMs: 300 } } });
      const r = await rig.cli(["deploy", "loki", "--env", "local", "--sha", B]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /the first failure is deterministic: .*not waiting for another launch/);
      // The decision came with one failed task on the count (tasks that crash afterwards are still reported).
      assert.match(unwrap(r.stdout), /, 1 failed(, breaker \d+\/\d+)?\n[^\n]*release failed: the first failure is deterministic/);
      const rec = rig.record("loki");
      assert.equal(rec.deployments.rollbackBy, "lgtm-deploy");
      assert.equal(rec.stoppedTasks.find((t: any) => t.failed).classification.kind, "deterministic");
    });
  });

  test("ECS's breaker rolls back first: reported as failure (exit 3), adopted, no second rollback", async () => {
    await withRig(["loki"], async (rig) => {
      await firstRelease(rig, "loki");
      rig.emu.mergeScenario({ images: { [rig.digest("loki", B)]: { behavior: "crash", exitCode: 1, afterMs: 10 } } });
      // Our own limit set above the breaker's threshold (3), and no fail-fast, so that ECS acts first.
      const r = await rig.cli(["deploy", "loki", "--env", "local", "--sha", B, "--max-failed-tasks", "50", "--no-fail-fast"]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /: succeeded/);
      assert.match(unwrap(r.stdout), /(ECS is rolling the release back|ECS confirms it is rolling back) \(ecs-circuit-breaker\)/);
      const rec = rig.record("loki");
      assert.equal(rec.verdict, "rolled-back");
      assert.equal(rec.deployments.rollbackBy, "ecs-circuit-breaker");
      const updates = rig.emu.calls().filter((c) => c.operation === "UpdateService");
      const deploying = updates.filter((c) => (c.input as any).taskDefinition !== undefined);
      assert.equal(deploying.length, 1, "only our release update; the rollback was ECS's");
      assert.equal(rig.emu.calls().filter((c) => c.operation === "StopServiceDeployment").length, 0);
      // ECS's rollback restores the service revision only; the breaker threshold this release changed (--max-failed-tasks
      // 50) is put back with a plain UpdateService that starts no deployment.
      const restore = updates.filter((c) => (c.input as any).taskDefinition === undefined);
      assert.equal(restore.length, 1);
      assert.equal((restore[0]!.input as any).forceNewDeployment, undefined);
      assert.equal((restore[0]!.input as any).deploymentConfiguration.deploymentCircuitBreaker.thresholdConfiguration.value, 2);
      assert.match(await primaryTd(rig, "lgtm-loki") ?? "", /lgtm-loki:1$/);
    });
  });

  test("rollback also fails: exit 4, needs attention", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      // Both the new image and the one we would return to now crash.
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", A)]: { behavior: "crash", afterMs: 0 }, [rig.digest("tempo", B)]: { behavior: "crash", afterMs: 0 } } });
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--timeout", "20s"]);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /the rollback to lgtm-tempo:1 failed/);
      assert.match(unwrap(r.stdout), /next: lgtm-deploy status tempo/);
      assert.equal(rig.record("tempo").verdict, "failed");
      assert.match(rig.record("tempo").nextStep, /lgtm-deploy status tempo/);
    });
  });

  test("first deployment with no previous revision: exit 4 with a clear message", async () => {
    await withRig(["tempo"], async (rig) => {
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", A)]: { behavior: "crash", afterMs: 0 } } });
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", A, "--create-missing"]);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /there is no previous revision \(first deployment of this service\)/);
    });
  });

  test("missing service without --create-missing: exit 5, nothing changed", async () => {
    await withRig(["tempo"], async (rig) => {
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", A]);
      assert.equal(r.code, 5);
      assert.match(r.stderr, /service "lgtm-tempo" does not exist in cluster "lgtm"; pass --create-missing/);
      assert.deepEqual(rig.mutatingCalls(), []);
    });
  });

  test("overlapping deployment: exit 5 naming it; --wait-for-idle waits and then releases", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", A)]: { behavior: "slow", startDelayMs: 400 } } });
      await rig.clients.ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "lgtm-tempo", forceNewDeployment: true }));
      rig.emu.clearCalls();
      let r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B]);
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, /lgtm-tempo: deployment ecs-svc\/\d+ \(lgtm-tempo:1, rollout IN_PROGRESS\) is still in progress/);
      assert.deepEqual(rig.mutatingCalls(), []);
      r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--wait-for-idle"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /waiting for idle/);
    });
  });

  test("throttling storm: still correct, the SDK backs off and retries", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      rig.emu.mergeScenario({ api: { "*": { throttleRate: 0.35 }, DescribeServices: { throttleBurst: 4, throttleRate: 0.35 } } });
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const rec = rig.record("tempo");
      assert.ok(rec.apiCalls.retries > 0, `expected retries, got ${JSON.stringify(rec.apiCalls)}`);
      assert.ok(rig.emu.calls().some((c) => c.errorType === "ThrottlingException"));
      assert.match(await primaryTd(rig, "lgtm-tempo") ?? "", /lgtm-tempo:2$/);
    });
  });

  test("5xx answers and dropped connections: still correct", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      rig.emu.mergeScenario({ api: { "*": { errorRate: 0.3, dropRate: 0.15 } } });
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const calls = rig.emu.calls();
      assert.ok(calls.some((c) => c.status >= 500), "some 5xx were served");
      assert.ok(calls.some((c) => c.status === 0), "some connections were dropped");
      assert.equal(calls.filter((c) => c.operation === "UpdateService" && c.status === 200).length, 1, "one successful update");
    });
  });

  test("SIGTERM mid-watch: stops waiting and rolls back", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", B)]: { behavior: "slow", startDelayMs: 5000 } } });
      const abort = new AbortController();
      const pending = rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--abort-grace", "5s"], { signal: abort.signal });
      // Abort once the release deployment is underway.
      for (let i = 0; i < 100 && !rig.emu.calls().some((c) => c.operation === "UpdateService"); i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      abort.abort("SIGTERM");
      const r = await pending;
      assert.ok(Date.now() - t0 < 4000, "reacts within a few seconds");
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /release failed: release aborted \(SIGINT\/SIGTERM\)/);
      assert.match(unwrap(r.stdout), /rolling back to lgtm-tempo:1/);
      assert.match(rig.record("tempo").failureReasons.join(), /aborted/);
      assert.match(await primaryTd(rig, "lgtm-tempo") ?? "", /lgtm-tempo:1$/);
    });
  });

  test("aborted before the update: exit 5, no service changed", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      rig.emu.clearCalls();
      const abort = new AbortController();
      abort.abort("SIGTERM");
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B], { signal: abort.signal });
      assert.equal(r.code, 5, r.stdout + r.stderr);
      assert.match(r.stderr, /aborted \(SIGINT\/SIGTERM\) while checking the plan: nothing was changed/);
      assert.deepEqual(rig.mutatingCalls(), []);
      assert.equal(rig.record("tempo").verdict, "not-started");
    });
  });

  test("--on-abort leave: no rollback, exit 4", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", B)]: { behavior: "slow", startDelayMs: 5000 } } });
      const abort = new AbortController();
      const pending = rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--on-abort", "leave"], { signal: abort.signal });
      for (let i = 0; i < 100 && !rig.emu.calls().some((c) => c.operation === "UpdateService"); i++) await new Promise((r) => setTimeout(r, 20));
      abort.abort("SIGTERM");
      const r = await pending;
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /left in progress/);
      assert.equal(rig.emu.calls().filter((c) => c.operation === "UpdateService").length, 1);
    });
  });

  test("timeout: a rollout that never settles fails and is rolled back", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", B)]: { behavior: "slow", startDelayMs: 60_000 } } });
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--timeout", "500ms", "--poll-interval", "20ms"]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(unwrap(r.stdout), /timed out after 500ms/);
    });
  });

  test("--bake: success only after staying healthy for the bake time", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      const t0 = Date.now();
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--bake", "400ms"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(Date.now() - t0 >= 400);
      assert.match(unwrap(r.stdout), /stayed healthy for 400ms/);
    });
  });

  test("--atomic: one component fails, every component of the release is rolled back", async () => {
    await withRig(["mimir", "loki", "tempo"], async (rig) => {
      for (const c of ["mimir", "loki", "tempo"] as const) await firstRelease(rig, c);
      rig.emu.mergeScenario({ images: { [rig.digest("loki", B)]: { behavior: "crash", afterMs: 10 } } });
      const r = await rig.cli(["deploy", "mimir", "loki", "tempo", "--env", "local", "--sha", B, "--atomic"]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      for (const c of ["mimir", "loki", "tempo"]) {
        assert.equal(rig.record(c).verdict, "rolled-back", c);
        assert.match(await primaryTd(rig, `lgtm-${c}`) ?? "", new RegExp(`lgtm-${c}:1$`));
      }
      assert.match(rig.record("mimir").failureReasons.join(), /atomic release because loki failed/);
    });
  });

  test("without --atomic only the failing component is rolled back; exit code is the worst", async () => {
    await withRig(["loki", "tempo"], async (rig) => {
      for (const c of ["loki", "tempo"] as const) await firstRelease(rig, c);
      rig.emu.mergeScenario({ images: { [rig.digest("loki", B)]: { behavior: "crash", afterMs: 10 } } });
      const r = await rig.cli(["deploy", "loki", "tempo", "--env", "local", "--sha", B]);
      assert.equal(r.code, 3);
      assert.equal(rig.record("loki").verdict, "rolled-back");
      assert.equal(rig.record("tempo").verdict, "succeeded");
    });
  });

  test("six components in parallel: one DescribeServices call per poll", async () => {
    const all = ["mimir", "loki", "tempo", "pyroscope", "grafana", "alloy"] as const;
    await withRig(all, async (rig) => {
      const r = await rig.cli(["deploy", "--all", "--env", "local", "--sha", A, "--create-missing"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const describes = rig.emu.calls().filter((c) => c.operation === "DescribeServices");
      assert.equal((describes[0]!.input as any).services.length, 6, "preflight asks for all six at once");
      assert.ok(describes.every((c) => (c.input as any).services.length >= 1));
      // While all six were in flight, each poll was a single call naming all of them.
      assert.ok(describes.filter((c) => (c.input as any).services.length === 6).length >= 2);
    });
  });

  test("--json: one JSON object per event line, then a result line", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      const r = await rig.cli(["--json", "deploy", "tempo", "--env", "local", "--sha", B]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n").map((l) => JSON.parse(l));
      assert.ok(lines.length > 5);
      for (const l of lines.slice(0, -1)) {
        assert.equal(l.component, "tempo");
        assert.match(l.time, /^\d{4}-\d\d-\d\dT/);
        assert.equal(typeof l.kind, "string");
        assert.equal(typeof l.message, "string");
      }
      assert.ok(lines.some((l) => l.kind === "state" && l.data.rolloutState === "COMPLETED"));
      assert.deepEqual(lines.at(-1).components, [{ component: "tempo", verdict: "succeeded", exitCode: 0, record: path.join(rig.dir, "tempo.json") }]);
      assert.equal(lines.at(-1).kind, "result");
    });
  });

  test("--dry-run prints the task definition, the diff and the calls, and makes no mutating call", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      rig.emu.clearCalls();
      const r = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--dry-run"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(unwrap(r.stdout), /== tempo: rendered task definition/);
      assert.match(unwrap(r.stdout), /~ containerDefinitions\[tempo\]\.image: ".*@sha256:[0-9a-f]{64}" -> ".*@sha256:[0-9a-f]{64}"/);
      assert.match(unwrap(r.stdout), /ECS UpdateService cluster=lgtm service=lgtm-tempo/);
      assert.match(unwrap(r.stdout), /if this release fails, it rolls back to lgtm-tempo:1 \(ACTIVE, image still in ECR\)/);
      assert.match(unwrap(r.stdout), /watch: timeout 20m, bake 150ms, max failed tasks 2/);
      // The timeouts in force and where they come from: Tempo's own rollout math is under the 20m floor.
      assert.match(unwrap(r.stdout), /watch: timeout 20m \(default\), rollback timeout 20m \(default\); tempo's default: 1 x \(stop 2m \+ start-up 3m \+ detection 40s\) \+ bake 150ms \+ margin = 11m, raised to the 20m floor/);
      const j = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B, "--dry-run", "--json", "--timeout", "30m"]);
      assert.equal(j.code, 0, j.stderr);
      const plan = j.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).find((e) => e.kind === "dry-run");
      assert.deepEqual([plan.timeouts.timeoutMs, plan.timeouts.timeoutSource, plan.timeouts.rollbackTimeoutMs, plan.timeouts.rollbackTimeoutSource], [30 * 60_000, "flag", 20 * 60_000, "default"]);
      assert.equal(plan.rules.timeoutMs, 30 * 60_000);
      assert.deepEqual(rig.mutatingCalls(), []);
    });
  });
});

describe("manual rollback", () => {
  test("to previous (from ECS's deployment history), to a revision, to a version", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig); // rev 1 (A)
      assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B])).code, 0); // rev 2 (B)
      // A failed release (rev 3) must not become "previous".
      rig.emu.mergeScenario({ images: { [rig.digest("tempo", C)]: { behavior: "crash", afterMs: 0 } } });
      assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", C])).code, 3);
      let r = await rig.cli(["rollback", "tempo", "--env", "local", "--to", "previous", "--reason", "bad dashboards in 2"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(await primaryTd(rig, "lgtm-tempo") ?? "", /lgtm-tempo:1$/);
      const rec = rig.record("tempo");
      assert.equal(rec.command, "rollback");
      assert.equal(rec.reason, "bad dashboards in 2");
      assert.equal(rec.tag, rig.tag("tempo", A));
      r = await rig.cli(["rollback", "tempo", "--env", "local", "--to", "2"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(await primaryTd(rig, "lgtm-tempo") ?? "", /lgtm-tempo:2$/);
      r = await rig.cli(["rollback", "tempo", "--env", "local", "--to", rig.tag("tempo", A)]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(await primaryTd(rig, "lgtm-tempo") ?? "", /lgtm-tempo:1$/);
      // A version names revisions by their tags: rev 1 is running, rev 3 was rolled back (its outcome tag says so), so
      // rev 2 is the only one that can be meant. It is newer than the running revision: said out loud, not silent.
      r = await rig.cli(["rollback", "tempo", "--env", "local", "--to", "1.1.0"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stderr, /lgtm-tempo:2 \(version 1\.1\.0.*newer than the running lgtm-tempo:1: this rolls forward/);
      assert.match(await primaryTd(rig, "lgtm-tempo") ?? "", /lgtm-tempo:2$/);
    });
  });

  test("--to <version> that several eligible revisions carry: an error listing them, nothing changed", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig); // rev 1 (A)
      assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", B])).code, 0); // rev 2 (B)
      assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", C])).code, 0); // rev 3 (C), running
      rig.emu.clearCalls();
      const r = await rig.cli(["rollback", "tempo", "--env", "local", "--to", "1.1.0"]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /--to 1\.1\.0: 3 revisions carry version 1\.1\.0, 2 of them are eligible/);
      assert.match(r.stderr, /lgtm-tempo:1 {2}1\.1\.0_gaaaaaaa1111 {2}\d{4}-\d\d-\d\dT\d\d:\d\d {2}released/);
      assert.match(r.stderr, /lgtm-tempo:3 {2}1\.1\.0_g0123456789 {2}.* {2}running/);
      assert.deepEqual(rig.mutatingCalls(), []);
      // Naming the tag picks exactly one.
      const t = await rig.cli(["rollback", "tempo", "--env", "local", "--to", rig.tag("tempo", A)]);
      assert.equal(t.code, 0, t.stdout + t.stderr);
      assert.match(await primaryTd(rig, "lgtm-tempo") ?? "", /lgtm-tempo:1$/);
    });
  });

  test("previous skips a revision that ECS's breaker rolled back", async () => {
    await withRig(["loki"], async (rig) => {
      await firstRelease(rig, "loki"); // rev 1
      assert.equal((await rig.cli(["deploy", "loki", "--env", "local", "--sha", B])).code, 0); // rev 2
      rig.emu.mergeScenario({ images: { [rig.digest("loki", C)]: { behavior: "crash", afterMs: 0 } } });
      const broken = await rig.cli(["deploy", "loki", "--env", "local", "--sha", C, "--max-failed-tasks", "50", "--no-fail-fast"]); // rev 3, breaker rolls back
      assert.equal(broken.code, 3, broken.stdout);
      assert.equal(rig.record("loki").deployments.rollbackBy, "ecs-circuit-breaker");
      const r = await rig.cli(["rollback", "loki", "--env", "local", "--to", "previous"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stderr, /lgtm-loki:1 \(previous/);
      assert.match(await primaryTd(rig, "lgtm-loki") ?? "", /lgtm-loki:1$/);
    });
  });

  test("bad --to values: exit 2 with a clear message, no mutating call", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      rig.emu.clearCalls();
      for (const [to, msg] of [
        ["99", /task definition lgtm-tempo:99 does not exist/],
        ["arn:aws:ecs:us-east-1:000000000000:task-definition/lgtm-loki:1", /belongs to family lgtm-loki, not lgtm-tempo/],
        ["yesterday", /expected previous, a revision number/],
      ] as const) {
        const r = await rig.cli(["rollback", "tempo", "--env", "local", "--to", to]);
        assert.equal(r.code, 2, `${to}: ${r.stderr}`);
        assert.match(r.stderr, msg);
      }
      assert.deepEqual(rig.mutatingCalls(), []);
    });
  });
});

describe("status and diff", () => {
  test("status shows revision, version, counts and rollout state; diff shows the image change", async () => {
    await withRig(["tempo"], async (rig) => {
      await firstRelease(rig);
      let r = await rig.cli(["--json", "status", "tempo", "--env", "local"]);
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout).components[0];
      assert.equal(s.revision, 1);
      assert.equal(s.version, "1.1.0");
      assert.equal(s.imageTag, rig.tag("tempo", A));
      assert.equal(s.running, 1);
      assert.equal(s.desired, 1);
      assert.equal(s.rolloutState, "COMPLETED");
      r = await rig.cli(["diff", "tempo", "--env", "local", "--sha", B]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(unwrap(r.stdout), /~ containerDefinitions\[tempo\]\.image/);
      assert.match(unwrap(r.stdout), /~ tags\[lgtm:git-sha\]\.value: "aaaaaaa1111" -> "bbbbbbb2222"/);
      assert.equal(r.stdout.split("\n").filter((l) => /^[~+-] /.test(l)).length, 3, `only image, sha and tag change:\n${r.stdout}`);
      r = await rig.cli(["diff", "tempo", "--env", "local", "--sha", A, "--exit-code"]);
      assert.equal(r.code, 0, `no changes for the running SHA: ${r.stdout}`);
      assert.match(unwrap(r.stdout), /\(no changes\)/);
    });
  });
});
