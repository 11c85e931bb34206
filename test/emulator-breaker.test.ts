// Late failures (flaky, degrade), Deployment.failedTasks semantics and the circuit breaker's configuration, over HTTP
// with the real SDK v3 client. docs/emulator.md, "Circuit breaker" and "images".
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  UpdateServiceCommand,
  type DeploymentConfiguration,
  type Service,
  type Task,
} from "@aws-sdk/client-ecs";
import { allTasks, createService, describeService, ecsClient, emulator, registerTd, waitFor, waitSteady } from "./fixtures/emulator/helpers.js";

const GOOD = "grafana/tempo:2.6.0";
const BREAKER: DeploymentConfiguration = { deploymentCircuitBreaker: { enable: true, rollback: true } };

describe("late failures", () => {
  it("flaky: a task that crashes after COMPLETED is replaced, but the breaker no longer counts it", async (t) => {
    // Tasks count as healthy after 10 ms and COMPLETE after 10 ms; they crash 150 ms after starting.
    const emu = await emulator(t, { images: { "grafana/tempo:late": { behavior: "flaky", afterMs: 150, exitCode: 2 } } });
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "tempo", "grafana/tempo:late");
    const svc = await createService(ecs, { name: "tempo", taskDefinition: td, desiredCount: 1, deploymentConfiguration: BREAKER });
    const done = await waitSteady(ecs, "tempo");
    assert.equal(done.deployments![0]!.rolloutState, "COMPLETED");
    // Four crash generations later: still the same COMPLETED deployment, failedTasks 0, breaker never triggered.
    const tasks = await waitFor(() => allTasks(ecs, "tempo"), (ts) => ts.filter((x) => x.stopCode === "EssentialContainerExited").length >= 4, 5000);
    for (const x of tasks.filter((y) => y.stopCode === "EssentialContainerExited")) {
      assert.equal(x.containers![0]!.exitCode, 2);
      assert.equal(x.stoppedReason, "Essential container in task exited");
      const uptime = x.stoppingAt!.getTime() - x.startedAt!.getTime();
      assert.ok(uptime >= 150 && uptime < 200, `uptime ${uptime}`);
    }
    const later = await describeService(ecs, "tempo");
    assert.equal(later.deployments!.length, 1);
    assert.equal(later.deployments![0]!.id, svc.deployments![0]!.id);
    assert.equal(later.deployments![0]!.rolloutState, "COMPLETED");
    assert.equal(later.deployments![0]!.failedTasks, 0, "the breaker stops watching once COMPLETED");
    const sd = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [later.currentServiceDeployment!] }));
    assert.equal(sd.serviceDeployments![0]!.status, "SUCCESSFUL");
    assert.deepEqual(sd.serviceDeployments![0]!.deploymentCircuitBreaker, { status: "MONITORING_COMPLETE", failureCount: 0, threshold: 3 });
  });

  it("flaky with a random uptime: each task's uptime is within [min, max], and `rate` spares some tasks", async (t) => {
    const emu = await emulator(t, { seed: 3, images: { "grafana/tempo:jitter": { behavior: "flaky", minUptimeMs: 40, maxUptimeMs: 120, rate: 0.5 } } });
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "tempo", "grafana/tempo:jitter");
    await createService(ecs, { name: "tempo", taskDefinition: td, desiredCount: 6 });
    // Wait for the condition, not a fixed 400 ms: a loaded machine may look before the first crash.
    const isSurvivor = (x: Task) => x.lastStatus === "RUNNING" && Date.now() - x.startedAt!.getTime() > 150;
    const tasks = await waitFor(() => allTasks(ecs, "tempo"), (ts) => ts.some((x) => x.stopCode === "EssentialContainerExited") && ts.some(isSurvivor));
    const crashed = tasks.filter((x) => x.stopCode === "EssentialContainerExited");
    const survivors = tasks.filter(isSurvivor);
    assert.ok(crashed.length > 0, "some tasks crashed");
    assert.ok(survivors.length > 0, "rate 0.5 spared some tasks");
    for (const x of crashed) {
      const uptime = x.stoppingAt!.getTime() - x.startedAt!.getTime();
      assert.ok(uptime >= 40 && uptime <= 125, `uptime ${uptime}`);
    }
    assert.ok(new Set(crashed.map((x) => x.stoppingAt!.getTime() - x.startedAt!.getTime())).size > 1, "uptimes vary");
  });

  it("degrade: with a container health check the task turns UNHEALTHY and is stopped; without any check ECS does not notice", async (t) => {
    const emu = await emulator(t, { images: { "grafana/loki:rot": { behavior: "degrade", afterMs: 60 } } });
    const ecs = ecsClient(emu);
    const checked = await registerTd(ecs, "loki", "grafana/loki:rot", { healthCheck: { command: ["CMD", "loki", "-health"] } });
    const unchecked = await registerTd(ecs, "tempo", "grafana/loki:rot");
    await createService(ecs, { name: "loki", taskDefinition: checked, desiredCount: 1 });
    await createService(ecs, { name: "tempo", taskDefinition: unchecked, desiredCount: 1 });
    await waitSteady(ecs, "loki");
    const sick = await waitFor(() => allTasks(ecs, "loki"), (ts) => ts.some((x) => x.lastStatus === "STOPPED"));
    const stopped = sick.find((x) => x.lastStatus === "STOPPED")!;
    assert.equal(stopped.stopCode, "ServiceSchedulerInitiated");
    assert.equal(stopped.stoppedReason, "Task failed container health checks");
    assert.equal(stopped.healthStatus, "UNHEALTHY");
    assert.equal(stopped.containers![0]!.healthStatus, "UNHEALTHY");
    const health = stopped.stoppingAt!.getTime() - stopped.startedAt!.getTime();
    assert.ok(health >= 60 && health < 100, `turned unhealthy after ${health} ms`);
    const loki = await describeService(ecs, "loki");
    assert.ok(loki.events!.some((e) => /\(service loki\) \(task [0-9a-f]{32}\) failed container health checks\./.test(e.message!)));

    const quiet = await allTasks(ecs, "tempo");
    assert.equal(quiet.length, 1, "nothing checks tempo's health: its task keeps running");
    assert.equal(quiet[0]!.lastStatus, "RUNNING");
  });

  it("degrade behind a load balancer: 'Task failed ELB health checks' and the target-group event", async (t) => {
    const emu = await emulator(t, { images: { "grafana/grafana:rot": { behavior: "degrade", afterMs: 30 } } });
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "grafana", "grafana/grafana:rot", { portMappings: [{ containerPort: 3000 }] });
    const tg = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/grafana/0123456789abcdef";
    await createService(ecs, { name: "grafana", taskDefinition: td, desiredCount: 1, loadBalancers: [{ targetGroupArn: tg, containerName: "grafana", containerPort: 3000 }] });
    const tasks = await waitFor(() => allTasks(ecs, "grafana"), (ts) => ts.some((x) => x.lastStatus === "STOPPED"));
    const stopped = tasks.find((x) => x.lastStatus === "STOPPED")!;
    assert.equal(stopped.stopCode, "ServiceSchedulerInitiated");
    assert.equal(stopped.stoppedReason, `Task failed ELB health checks in (target-group ${tg})`);
    const s = await describeService(ecs, "grafana");
    assert.ok(s.events!.some((e) => e.message === `(service grafana) (port 3000) is unhealthy in (target-group ${tg}) due to (reason Health checks failed).`));
  });

  it("healthCheckGracePeriodSeconds: failing load balancer checks are ignored until the grace period ends", async (t) => {
    // Time scale 20: the 1 s grace period takes 50 ms of wall time; timestamps are simulated.
    const emu = await emulator(t, { images: { "grafana/grafana:rot": { behavior: "degrade", afterMs: 30 } } }, { timeScale: 20 });
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "grafana", "grafana/grafana:rot", { portMappings: [{ containerPort: 3000 }] });
    const tg = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/grafana/0123456789abcdef";
    await createService(ecs, { name: "grafana", taskDefinition: td, desiredCount: 1, loadBalancers: [{ targetGroupArn: tg, containerName: "grafana", containerPort: 3000 }], healthCheckGracePeriodSeconds: 1 });
    const tasks = await waitFor(() => allTasks(ecs, "grafana"), (ts) => ts.some((x) => x.lastStatus === "STOPPED"), 5000);
    const stopped = tasks.find((x) => x.lastStatus === "STOPPED")!;
    assert.equal(stopped.stoppedReason, `Task failed ELB health checks in (target-group ${tg})`);
    const after = stopped.stoppingAt!.getTime() - stopped.startedAt!.getTime();
    assert.ok(after >= 1000 && after < 1300, `stopped ${after} ms after starting (grace 1000 ms, failing from 30 ms)`);
  });
});

describe("failedTasks and the circuit breaker configuration", () => {
  const failThenHeal = async (t: Parameters<typeof emulator>[0], resetOnHealthyTask: boolean | undefined): Promise<Service> => {
    const emu = await emulator(t, { timing: { stopMs: 40 }, images: { "grafana/tempo:9": { behavior: "crash", afterMs: 0 } } });
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "tempo", "grafana/tempo:9");
    await createService(ecs, {
      name: "tempo",
      taskDefinition: td,
      desiredCount: 1,
      deploymentConfiguration: {
        // A threshold the crash loop cannot reach while a loaded machine's test looks (a task fails every ~75 ms here):
        // with 4, a slow probe saw 1 failure and then 4, the breaker had tripped and the heal came too late.
        deploymentCircuitBreaker: { enable: true, rollback: true, ...(resetOnHealthyTask !== undefined ? { resetOnHealthyTask } : {}), thresholdConfiguration: { type: "COUNT", value: 200 } },
      },
    });
    await waitFor(() => describeService(ecs, "tempo"), (s) => s.deployments![0]!.failedTasks! >= 2);
    // The image heals: the next task reaches RUNNING and counts as healthy.
    emu.mergeScenario({ images: { "grafana/tempo:9": { behavior: "healthy" } } });
    return waitFor(() => describeService(ecs, "tempo"), (s) => s.runningCount === 1 && (s.events?.[0]?.message ?? "").includes("steady state"), 15_000);
  };

  it("failedTasks counts consecutive failures and resets to 0 once a task runs healthy (resetOnHealthyTask default)", async (t) => {
    const s = await failThenHeal(t, undefined);
    assert.equal(s.deployments![0]!.failedTasks, 0);
    assert.equal(s.deployments![0]!.rolloutState, "COMPLETED");
  });

  it("resetOnHealthyTask false keeps the count", async (t) => {
    const s = await failThenHeal(t, false);
    assert.ok(s.deployments![0]!.failedTasks! >= 2, `failedTasks ${s.deployments![0]!.failedTasks}`);
    assert.deepEqual(s.deploymentConfiguration!.deploymentCircuitBreaker, {
      enable: true,
      rollback: true,
      resetOnHealthyTask: false,
      thresholdConfiguration: { type: "COUNT", value: 200 },
    });
  });

  it("thresholdConfiguration COUNT, UNBOUNDED_PERCENT and the BOUNDED_PERCENT default set the threshold", async (t) => {
    const emu = await emulator(t, { images: { "grafana/tempo:9": { behavior: "crash", afterMs: 0 } } });
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "tempo", "grafana/tempo:9");
    const cases: [string, DeploymentConfiguration["deploymentCircuitBreaker"], number, number][] = [
      ["count", { enable: true, rollback: false, thresholdConfiguration: { type: "COUNT", value: 1 } }, 4, 1],
      ["unbounded", { enable: true, rollback: false, thresholdConfiguration: { type: "UNBOUNDED_PERCENT", value: 50 } }, 4, 2],
      ["bounded", { enable: true, rollback: false }, 4, 3],
    ];
    for (const [name, cb, desired] of cases) await createService(ecs, { name, taskDefinition: td, desiredCount: desired, deploymentConfiguration: { deploymentCircuitBreaker: cb } });
    for (const [name, , , threshold] of cases) {
      const s = await waitFor(() => describeService(ecs, name), (x) => x.deployments![0]!.rolloutState === "FAILED");
      assert.ok(s.deployments![0]!.failedTasks! >= threshold, name);
      const sd = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [s.currentServiceDeployment!] }));
      const rec = sd.serviceDeployments![0]!;
      assert.equal(rec.deploymentCircuitBreaker!.status, "TRIGGERED", name);
      assert.equal(rec.deploymentCircuitBreaker!.threshold, threshold, name);
      assert.equal(rec.deploymentCircuitBreaker!.failureCount, threshold, name);
      assert.equal(rec.status, "STOPPED", `${name}: no rollback configured`);
    }
  });

  it("rejects bad breaker settings with InvalidParameterException and changes nothing", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "tempo", GOOD);
    await createService(ecs, { name: "tempo", taskDefinition: td, desiredCount: 0, deploymentConfiguration: BREAKER });
    const bad: [string, unknown][] = [
      ["COUNT 0", { deploymentCircuitBreaker: { enable: true, rollback: true, thresholdConfiguration: { type: "COUNT", value: 0 } } }],
      ["percent above 100", { deploymentCircuitBreaker: { enable: true, rollback: true, thresholdConfiguration: { type: "BOUNDED_PERCENT", value: 150 } } }],
      ["unknown type", { deploymentCircuitBreaker: { enable: true, rollback: true, thresholdConfiguration: { type: "SOMETIMES", value: 3 } } }],
      ["missing enable", { deploymentCircuitBreaker: { rollback: true } }],
      ["unknown breaker key", { deploymentCircuitBreaker: { enable: true, rollback: true, resetOnHealthTask: false } }],
      ["unknown config key", { maximumPercent: 200, minimumHealthPercent: 50 }],
      ["resetOnHealthyTask not boolean", { deploymentCircuitBreaker: { enable: true, rollback: true, resetOnHealthyTask: "no" } }],
    ];
    for (const [label, deploymentConfiguration] of bad) {
      // Raw requests: the SDK would drop members it does not model, a hand-written client does not.
      const res = await fetch(emu.url, {
        method: "POST",
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerServiceV20141113.UpdateService" },
        body: JSON.stringify({ cluster: "lgtm", service: "tempo", deploymentConfiguration }),
      });
      assert.equal(res.status, 400, label);
      assert.equal(((await res.json()) as { __type: string }).__type, "InvalidParameterException", label);
    }
    await assert.rejects(
      ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "tempo", deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true, thresholdConfiguration: { type: "COUNT", value: 0 } } } })),
      { name: "InvalidParameterException" },
    );
    const s = (await ecs.send(new DescribeServicesCommand({ cluster: "lgtm", services: ["tempo"] }))).services![0]!;
    assert.deepEqual(s.deploymentConfiguration!.deploymentCircuitBreaker, { enable: true, rollback: true }, "unchanged");
  });
});

describe("circuit-breaker rollback as recorded responses show it", () => {
  it("the last COMPLETED deployment comes back (same id, IN_PROGRESS); the replaced one shows IN_PROGRESS, then FAILED", async (t) => {
    // sevenwestmedia-labs/pulumi-components libs/wait-for-ecs-deploy/README.md records the replaced deployment as
    // ACTIVE / IN_PROGRESS "ECS deployment ecs-svc/… in progress." while the PRIMARY rolls back.
    const emu = await emulator(t, { timing: { stopMs: 400, failedStateLagMs: 150 }, images: { "grafana/tempo:bad": { behavior: "crash", afterMs: 0 } } });
    const ecs = ecsClient(emu);
    const good = await registerTd(ecs, "tempo", GOOD);
    await createService(ecs, { name: "tempo", taskDefinition: good, desiredCount: 1, deploymentConfiguration: BREAKER });
    const goodId = (await waitSteady(ecs, "tempo")).deployments![0]!.id!;
    const bad = await registerTd(ecs, "tempo", "grafana/tempo:bad");
    const upd = await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "tempo", taskDefinition: bad }));
    const badId = upd.service!.deployments![0]!.id!;
    const rolling = await waitFor(() => describeService(ecs, "tempo"), (s) => s.deployments![0]!.id === goodId);
    const [primary, replaced] = rolling.deployments!;
    assert.equal(primary!.status, "PRIMARY");
    assert.equal(primary!.taskDefinition, good);
    assert.equal(primary!.rolloutState, "IN_PROGRESS");
    assert.equal(primary!.rolloutStateReason, `ECS deployment circuit breaker: rolling back to deploymentId ${goodId}.`);
    assert.equal(replaced!.id, badId);
    assert.equal(replaced!.status, "ACTIVE");
    assert.equal(replaced!.rolloutState, "IN_PROGRESS");
    assert.equal(replaced!.rolloutStateReason, `ECS deployment ${badId} in progress.`);
    const failed = await waitFor(() => describeService(ecs, "tempo"), (s) => s.deployments!.find((d) => d.id === badId)?.rolloutState === "FAILED", 2000);
    assert.equal(failed.deployments!.find((d) => d.id === badId)!.rolloutStateReason, "ECS deployment circuit breaker: tasks failed to start.");
    const done = await waitSteady(ecs, "tempo");
    assert.equal(done.deployments![0]!.id, goodId);
    assert.equal(done.deployments![0]!.rolloutStateReason, `ECS deployment ${goodId} completed.`);
    const sd = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [done.currentServiceDeployment!] }));
    const rec = sd.serviceDeployments![0]!;
    assert.equal(rec.status, "ROLLBACK_SUCCESSFUL");
    assert.equal(rec.rollback!.serviceRevisionArn, rec.sourceServiceRevisions![0]!.arn);
    assert.deepEqual(rec.deploymentCircuitBreaker, { status: "TRIGGERED", failureCount: 3, threshold: 3 });
  });
});
