// The emulator's own invariants under random rollouts (fast-check): whatever the images do and whatever happens
// mid-rollout (retirement, rebalancing, StopServiceDeployment), the ground truth stays a state ECS could be in —
// maximumPercent is never exceeded, service deployment statuses only move forward, stopped tasks are complete records,
// runningCount is the number of RUNNING tasks.
import assert from "node:assert/strict";
import { it } from "node:test";
import * as fc from "fast-check";
import { StopServiceDeploymentCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { startEmulator, type ImageBehavior } from "../src/emulator/index.js";
import { FAST, createService, ecsClient, registerTd, sleep, waitSteady } from "./fixtures/emulator/helpers.js";

interface Truth {
  ecs: {
    services: { serviceName: string; desiredCount: number; runningCount: number; deploymentConfiguration: { maximumPercent: number }; ground: { deployments: { id: string; status: string; rolloutState: string; failedTasks: number }[] } }[];
    tasks: { taskArn: string; serviceName: string; lastStatus: string; desiredStatus: string; createdAt: number; startedAt?: number; stoppedAt?: number; stopCode?: string; stoppedReason?: string; containers: { lastStatus: string; exitCode?: number }[] }[];
    serviceDeployments: { serviceDeploymentArn: string; status: string }[];
  };
}

/** Which service deployment statuses can follow which (the lifecycle in service-deployment.html), transitively. */
const NEXT: Record<string, string[]> = {
  PENDING: ["IN_PROGRESS", "ROLLBACK_REQUESTED", "STOP_REQUESTED"],
  IN_PROGRESS: ["SUCCESSFUL", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED"],
  ROLLBACK_REQUESTED: ["ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED"],
  STOP_REQUESTED: [],
  ROLLBACK_IN_PROGRESS: ["ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"],
};
const ONGOING = new Set(["PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED"]);
function reachable(from: string, to: string): boolean {
  if (from === to) return true;
  // An ongoing service deployment can always end STOPPED (superseded, aborted, breaker without rollback) or ROLLBACK_FAILED.
  if (ONGOING.has(from) && (to === "STOPPED" || to === "ROLLBACK_FAILED")) return true;
  return (NEXT[from] ?? []).some((n) => reachable(n, to));
}

function checkSample(s: Truth, desired: number): void {
  for (const svc of s.ecs.services) {
    const tasks = s.ecs.tasks.filter((t) => t.serviceName === svc.serviceName);
    const live = tasks.filter((t) => t.desiredStatus === "RUNNING");
    assert.ok(live.length <= Math.floor((desired * svc.deploymentConfiguration.maximumPercent) / 100), `${live.length} tasks want to run, above maximumPercent`);
    assert.equal(svc.runningCount, live.filter((t) => t.lastStatus === "RUNNING").length, "runningCount");
    const ids = svc.ground.deployments.map((d) => d.id);
    assert.equal(new Set(ids).size, ids.length, "deployment ids unique");
    assert.ok(svc.ground.deployments.filter((d) => d.status === "PRIMARY").length <= 1, "one PRIMARY");
    for (const d of svc.ground.deployments) assert.ok(d.failedTasks >= 0);
    for (const t of tasks.filter((x) => x.lastStatus === "STOPPED")) {
      assert.ok(t.stopCode && t.stoppedReason && t.stoppedAt !== undefined && t.stoppedAt >= t.createdAt, `stopped task record ${JSON.stringify(t)}`);
      assert.ok(t.containers.every((c) => c.lastStatus === "STOPPED"));
      if (t.startedAt !== undefined) assert.ok(t.containers.every((c) => Number.isInteger(c.exitCode)), "a container that ran has an exit code");
    }
  }
}

function checkHistory(samples: Truth[]): void {
  const statuses = new Map<string, string>();
  const completed = new Map<string, number>();
  for (const s of samples) {
    for (const sd of s.ecs.serviceDeployments) {
      const before = statuses.get(sd.serviceDeploymentArn);
      if (before !== undefined) assert.ok(reachable(before, sd.status), `service deployment went ${before} → ${sd.status}`);
      statuses.set(sd.serviceDeploymentArn, sd.status);
    }
    for (const d of s.ecs.services.flatMap((x) => x.ground.deployments)) {
      const was = completed.get(d.id);
      if (d.rolloutState === "COMPLETED" && was !== undefined) assert.ok(d.failedTasks <= was, "a COMPLETED deployment counts no more failures");
      if (d.rolloutState === "COMPLETED") completed.set(d.id, d.failedTasks);
      else completed.delete(d.id);
    }
  }
}

const behaviour: fc.Arbitrary<ImageBehavior> = fc.oneof(
  fc.constant<ImageBehavior>({ behavior: "healthy" }),
  fc.integer({ min: 0, max: 40 }).map((afterMs): ImageBehavior => ({ behavior: "crash", afterMs })),
  fc.integer({ min: 20, max: 200 }).map((afterMs): ImageBehavior => ({ behavior: "flaky", afterMs })),
  fc.constant<ImageBehavior>({ behavior: "unhealthy" }),
  fc.integer({ min: 20, max: 120 }).map((afterMs): ImageBehavior => ({ behavior: "degrade", afterMs })),
  fc.integer({ min: 0, max: 150 }).map((startDelayMs): ImageBehavior => ({ behavior: "slow", startDelayMs })),
);

const disturbance = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constant("retire" as const), atMs: fc.integer({ min: 0, max: 200 }) }),
  fc.record({ kind: fc.constant("rebalance" as const), atMs: fc.integer({ min: 0, max: 200 }) }),
  fc.record({ kind: fc.constant("stop" as const), atMs: fc.integer({ min: 0, max: 200 }), stopType: fc.constantFrom("ROLLBACK" as const, "ABORT" as const) }),
);

it("random rollouts keep the ground truth a state ECS could be in", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        desired: fc.integer({ min: 1, max: 3 }),
        minMax: fc.constantFrom([100, 200], [50, 150], [0, 100], [100, 150]),
        breaker: fc.record({ enable: fc.boolean(), rollback: fc.boolean() }),
        image: behaviour,
        disturbance,
        seed: fc.integer({ min: 1, max: 1000 }),
      }),
      async ({ desired, minMax, breaker, image, disturbance: d, seed }) => {
        const emu = await startEmulator({ scenario: { seed, timing: FAST, images: { "grafana/tempo:next": image } } });
        const samples: Truth[] = [];
        try {
          const ecs = ecsClient(emu);
          const healthCheck = image.behavior === "degrade" ? { healthCheck: { command: ["CMD", "true"] } } : {};
          const td1 = await registerTd(ecs, "tempo", "grafana/tempo:2.6.0", healthCheck);
          await createService(ecs, { name: "tempo", taskDefinition: td1, desiredCount: desired, deploymentConfiguration: { minimumHealthyPercent: minMax[0]!, maximumPercent: minMax[1]!, deploymentCircuitBreaker: breaker } });
          await waitSteady(ecs, "tempo");
          const td2 = await registerTd(ecs, "tempo", "grafana/tempo:next", healthCheck);
          const out = await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "tempo", taskDefinition: td2 }));
          const start = Date.now();
          let disturbed = d.kind === "none";
          while (Date.now() - start < 400) {
            if (d.kind !== "none" && !disturbed && Date.now() - start >= d.atMs) {
              disturbed = true;
              if (d.kind === "stop") await ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: out.service!.currentServiceDeployment!, stopType: d.stopType })).catch(() => undefined);
              else await fetch(`${emu.url}/_emulator/actions`, { method: "POST", body: JSON.stringify({ type: d.kind === "retire" ? "retireTask" : "rebalance", service: "tempo" }) });
            }
            samples.push((await (await fetch(`${emu.url}/_emulator/state`)).json()) as Truth);
            await sleep(15);
          }
          for (const s of samples) checkSample(s, desired);
          checkHistory(samples);
        } finally {
          await emu.close();
        }
      },
    ),
    { numRuns: 12 },
  );
});
