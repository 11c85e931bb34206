// The benchmark harness measures what bench/README.md says it measures (not a timed test: every figure asserted here is
// a simulated timestamp the emulator recorded, or arithmetic on fixed inputs):
// - the emulated `aws ecs wait services-stable` is botocore's waiter (definition, delay, attempts, acceptors);
// - the simulated clock lgtm-deploy runs on is the emulator's;
// - the observer's first failure, rollback and "healthy again" are the ground truth's own moments;
// - the tables' medians pick the right events over several services.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import type { DescribeServicesCommandOutput, ECSClient } from "@aws-sdk/client-ecs";
import { UpdateServiceCommand } from "@aws-sdk/client-ecs";
import type { Clock } from "../src/adapters/clock.js";
import { row } from "../bench/figures.js";
import { env, groundTruth, serviceOf, startBench, updateService, type Bench } from "../bench/lib.js";
import { Observer, type Timeline } from "../bench/observer.js";
import type { RunResult } from "../bench/scenarios.js";
import { SERVICES_STABLE, evaluate, waitServicesStable } from "../bench/waiter.js";

const FIXTURE = new URL("./fixtures/botocore/ecs-waiters-2.json", import.meta.url);
const INSTALLED = "/usr/lib/python3/dist-packages/awscli/botocore/data/ecs/2014-11-13/waiters-2.json";

/** A fake clock: now advances only by what is slept. */
function fakeClock(): Clock & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return { slept, now: () => t, sleep: async (ms) => void (slept.push(ms), (t += ms)) };
}

/** A fake ECS client answering DescribeServices from a list (the last answer repeats). */
function fakeEcs(answers: Array<DescribeServicesCommandOutput | Error>): { ecs: ECSClient; calls: () => number } {
  let n = 0;
  const send = async () => {
    const a = answers[Math.min(n++, answers.length - 1)]!;
    if (a instanceof Error) throw a;
    return a;
  };
  return { ecs: { send } as unknown as ECSClient, calls: () => n };
}

const svc = (deployments: number, running: number, desired = 3, status = "ACTIVE") =>
  ({ $metadata: {}, services: [{ status, desiredCount: desired, runningCount: running, deployments: Array.from({ length: deployments }, () => ({})) }], failures: [] }) as DescribeServicesCommandOutput;

describe("bench harness: the services-stable waiter model", () => {
  test("its definition is botocore's ServicesStable (the fixture, and the installed awscli's when present)", () => {
    const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")).waiters.ServicesStable;
    assert.deepEqual(SERVICES_STABLE, { delay: fixture.delay, maxAttempts: fixture.maxAttempts, operation: fixture.operation, acceptors: fixture.acceptors.map((a: any) => ({ matcher: a.matcher, argument: a.argument, state: a.state, expected: a.expected })) });
    if (existsSync(INSTALLED)) assert.deepEqual(JSON.parse(readFileSync(INSTALLED, "utf8")), JSON.parse(readFileSync(FIXTURE, "utf8")));
  });

  test("acceptors: two deployments or running < desired retry; one deployment at full count succeeds; MISSING/DRAINING/INACTIVE fail", () => {
    assert.equal(evaluate(SERVICES_STABLE, svc(2, 3)), undefined);
    assert.equal(evaluate(SERVICES_STABLE, svc(1, 2)), undefined);
    assert.equal(evaluate(SERVICES_STABLE, svc(1, 3)), "success");
    assert.equal(evaluate(SERVICES_STABLE, { $metadata: {}, services: [], failures: [{ reason: "MISSING" }] }), "failure");
    assert.equal(evaluate(SERVICES_STABLE, svc(1, 3, 3, "DRAINING")), "failure");
    assert.equal(evaluate(SERVICES_STABLE, svc(1, 0, 0, "INACTIVE")), "failure");
    assert.throws(() => evaluate({ ...SERVICES_STABLE, acceptors: [{ matcher: "path", argument: "services[0].x", state: "success", expected: true }] }, svc(1, 3)), /not supported/);
  });

  test("timing: a call at once, then one every 15 s (simulated); success on the 3rd call returns after 30 s", async () => {
    const clock = fakeClock();
    const { ecs, calls } = fakeEcs([svc(2, 3), svc(2, 3), svc(1, 3)]);
    const r = await waitServicesStable(ecs, "c", ["s"], clock);
    assert.deepEqual(r, { exitCode: 0, why: "success", attempts: 3 });
    assert.equal(calls(), 3);
    assert.deepEqual(clock.slept, [15_000, 15_000]);
  });

  test("timing: gives up after 40 calls and 39 delays (9 min 45 s), exit 255", async () => {
    const clock = fakeClock();
    const { ecs, calls } = fakeEcs([svc(2, 3)]);
    const r = await waitServicesStable(ecs, "c", ["s"], clock);
    assert.deepEqual(r, { exitCode: 255, why: "max attempts", attempts: 40 });
    assert.equal(calls(), 40);
    assert.equal(clock.now(), 39 * 15_000);
  });

  test("an API error ends the wait at once with exit 255", async () => {
    const clock = fakeClock();
    const r = await waitServicesStable(fakeEcs([svc(2, 3), new Error("ThrottlingException")]).ecs, "c", ["s"], clock);
    assert.deepEqual(r, { exitCode: 255, why: "error", attempts: 2 });
  });
});

describe("bench harness: the tables' figures", () => {
  const tl = (t: Partial<Timeline>): Timeline => ({ service: "s", failedTasks: 0, ...t });
  const run = (timelines: Timeline[], extra: Partial<RunResult> = {}): RunResult => ({ scenario: "x", approach: "lgtm-deploy", t0: 0, timelines, calls: 10, wallMs: 0, output: [], ...extra });

  test("intervals from the first failure over all services to the last recovery; medians over runs", () => {
    const runs = [
      run([tl({ updateAt: 1_000, firstFailedAt: 30_000, rollbackAt: 31_000, healthyAgainAt: 90_000 }), tl({ updateAt: 1_500, firstFailedAt: 40_000, rollbackAt: 41_000, healthyAgainAt: 100_000 })], { exitCode: 3, verdictAt: 150_000, calls: 80 }),
      run([tl({ updateAt: 1_000, firstFailedAt: 20_000, rollbackAt: 25_000, healthyAgainAt: 80_000 }), tl({ updateAt: 2_000, firstFailedAt: 50_000, rollbackAt: 52_000, healthyAgainAt: 81_000 })], { exitCode: 3, verdictAt: 131_000, calls: 90 }),
      run([tl({ updateAt: 1_000, firstFailedAt: 10_000, rollbackAt: 12_000, healthyAgainAt: 60_000 }), tl({ updateAt: 1_000 })], { exitCode: 4, verdictAt: 100_000, calls: 100 }),
    ];
    const r = row("lgtm-deploy", runs);
    assert.equal(r.exits, "3/4");
    assert.equal(r.failedToRollback, 2_000, "median of 1 s, 5 s, 2 s");
    // Runs 1 and 2: 100-30 = 70 s and 81-20 = 61 s; run 3 has a service never healthy again: no figure, not a small one.
    assert.equal(r.failedToHealthy, (70_000 + 61_000) / 2);
    assert.equal(r.verdict, 130_000, "median of 149, 130, 99 s after the first update");
    assert.equal(r.calls, 90);
  });

  test("reads per poll: reads / DescribeServices calls; none for an approach that does not poll", () => {
    const reads = (polls: number, n: number, listings = 0) => ({ polls, reads: n, byOperation: { DescribeServices: polls, ...(listings > 0 ? { ListTasks: listings } : {}) } });
    const r = row("lgtm-deploy", [run([tl({})], { reads: reads(10, 20, 3) }), run([tl({})], { reads: reads(10, 30) }), run([tl({})], { reads: reads(20, 40, 5) })]);
    assert.equal(r.readsPerPoll, 2);
    assert.equal(r.polls, 10);
    assert.equal(r.readsByOperation, "DescribeServices 10, ListTasks 3", "a run without listings counts 0");
    assert.equal(row("breaker alone", [run([tl({})])]).readsPerPoll, undefined);
  });
});

describe("bench harness: clock and observer against the emulator (fast timings)", () => {
  const FAST = { provisioningMs: 1_000, pendingMs: 1_000, healthCheckMs: 1_000, drainMs: 500, stopMs: 1_000 };
  const open: Bench[] = [];
  after(async () => Promise.all(open.map((b) => b.close())));

  async function until(b: Bench, observer: Observer, done: () => boolean, maxSimMs = 300_000): Promise<void> {
    const limit = b.clock.now() + maxSimMs;
    while (!done()) {
      if (b.clock.now() > limit) throw new Error("timed out (simulated)");
      await b.clock.sleep(500);
      await observer.refresh();
    }
  }

  test("the simulated clock is the emulator's: its now() brackets the ground truth's", async () => {
    const b = await startBench([], { timeScale: 20, timing: FAST });
    open.push(b);
    for (let i = 0; i < 5; i++) {
      const before = b.clock.now();
      const truth = (await groundTruth(b.emu.url)).timeEpochMs;
      const afterNow = b.clock.now();
      // 2 ms of slack: the anchor is read from an ISO wall time (ms precision) times the scale.
      assert.ok(truth >= before - 2 * b.scale && truth <= afterNow + 2 * b.scale, `${before} ≤ ${truth} ≤ ${afterNow}`);
      await b.clock.sleep(1_000);
    }
  });

  test("crash loop under the breaker: first failure, rollback and healthy again are the ground truth's moments", async () => {
    const b = await startBench(["tempo"], { timeScale: 20, timing: FAST, next: { tempo: { behavior: "crash", exitCode: 1, afterMs: 500 } } });
    open.push(b);
    const observer = new Observer(b.emu.url, () => b.emu.calls(), 50);
    await observer.start();
    const t0 = b.clock.now();
    const newTd = await updateService(b, "tempo");
    const tl = () => observer.timeline(serviceOf("tempo"), b.goodTd.tempo!, t0);
    await until(b, observer, () => tl().healthyAgainAt !== undefined);
    await observer.stop();
    const t = tl();
    const truth = await groundTruth(b.emu.url);
    const update = b.emu.calls().find((c) => c.operation === "UpdateService" && Date.parse(c.time) >= t0)!;
    assert.equal(t.updateAt, Date.parse(update.time));
    assert.equal(t.newTd, newTd);
    const failed = truth.ecs.tasks.filter((x: any) => x.taskDefinitionArn === newTd && x.failed === true && x.stoppedAt !== undefined);
    assert.ok(failed.length >= 1);
    assert.equal(t.failedTasks, failed.length);
    assert.equal(t.firstFailedAt, Math.round(Math.min(...failed.map((x: any) => x.stoppedAt)) * 1000));
    assert.equal(t.rollbackBy, "circuit breaker");
    const sd = truth.ecs.serviceDeployments.find((d: any) => d.rollback !== undefined);
    assert.equal(t.rollbackAt, Math.round(sd.rollback.startedAt * 1000));
    assert.ok(t.firstFailedAt! <= t.rollbackAt! && t.rollbackAt! < t.healthyAgainAt!);
    // Healthy again = the moment ECS said a deployment of the previous revision completed, and it is what serves now.
    const svc = truth.ecs.services.find((s: any) => s.serviceName === serviceOf("tempo"));
    const serving = svc.ground.deployments;
    assert.equal(serving.length, 1);
    assert.equal(serving[0].taskDefinition, b.goodTd.tempo);
    // (A breaker rollback may re-activate the old deployment under its old id: its first completion is before t0.)
    const completedEvent = truth.ecs.events.find((e: any) => e.createdAt * 1000 >= t.rollbackAt! && e.message.includes(`(deployment ${serving[0].id}) deployment completed`));
    assert.equal(t.healthyAgainAt, Math.round(completedEvent.createdAt * 1000));
    assert.equal(t.releaseCompletedAt, undefined, "the crashing release never completed");
  });

  test("a healthy release then an UpdateService back: completed, rolled back by UpdateService, healthy again", async () => {
    const b = await startBench(["tempo"], { timeScale: 20, timing: FAST });
    open.push(b);
    const observer = new Observer(b.emu.url, () => b.emu.calls(), 50);
    await observer.start();
    const t0 = b.clock.now();
    await updateService(b, "tempo");
    const tl = () => observer.timeline(serviceOf("tempo"), b.goodTd.tempo!, t0);
    await until(b, observer, () => tl().releaseCompletedAt !== undefined);
    assert.equal(tl().rollbackAt, undefined, "no rollback before one happens");
    await b.clients.ecs.send(new UpdateServiceCommand({ cluster: env.cluster, service: serviceOf("tempo"), taskDefinition: b.goodTd.tempo! }));
    const back = b.emu.calls().filter((c) => c.operation === "UpdateService").at(-1)!;
    await until(b, observer, () => tl().healthyAgainAt !== undefined);
    await observer.stop();
    const t = tl();
    assert.equal(t.failedTasks, 0);
    assert.equal(t.firstFailedAt, undefined);
    assert.equal(t.rollbackBy, "UpdateService");
    assert.ok(Math.abs(t.rollbackAt! - Date.parse(back.time)) <= 1_000, "the rollback deployment is created by that call");
    assert.ok(t.releaseCompletedAt! < t.rollbackAt! && t.rollbackAt! < t.healthyAgainAt!);
  });
});
