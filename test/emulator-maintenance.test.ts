// Non-failure stops with real exit codes: scale-in, Fargate task retirement and Availability Zone rebalancing, and how
// containers answer SIGTERM. Over HTTP with the real SDK v3 client. docs/emulator.md, "Actions" and "Task lifecycle".
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UpdateServiceCommand, type Task } from "@aws-sdk/client-ecs";
import type { Emulator } from "../src/emulator/index.js";
import { allTasks, createService, describeService, ecsClient, emulator, registerTd, waitFor, waitSteady } from "./fixtures/emulator/helpers.js";

interface TruthTask {
  taskArn: string;
  failed: boolean;
}

async function action(emu: Emulator, body: unknown): Promise<{ status: number; json: { results?: { taskArn: string }[]; error?: string } }> {
  const res = await fetch(`${emu.url}/_emulator/actions`, { method: "POST", body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as { results?: { taskArn: string }[]; error?: string } };
}

async function truthTasks(emu: Emulator): Promise<TruthTask[]> {
  return ((await (await fetch(`${emu.url}/_emulator/state`)).json()) as { ecs: { tasks: TruthTask[] } }).ecs.tasks;
}

const stoppedBy = (ts: Task[], reason: RegExp): Task[] => ts.filter((x) => x.lastStatus === "STOPPED" && reason.test(x.stoppedReason ?? ""));

describe("how containers answer SIGTERM", () => {
  it("scale-in stops tasks with ServiceSchedulerInitiated and exit code 143 by default; not failures", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "mimir", "grafana/mimir:2.14.0");
    await createService(ecs, { name: "mimir", taskDefinition: td, desiredCount: 3 });
    await waitSteady(ecs, "mimir");
    await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "mimir", desiredCount: 1 }));
    const tasks = await waitFor(() => allTasks(ecs, "mimir"), (ts) => ts.filter((x) => x.lastStatus === "STOPPED").length === 2);
    const truth = await truthTasks(emu);
    for (const x of tasks.filter((y) => y.lastStatus === "STOPPED")) {
      assert.equal(x.stopCode, "ServiceSchedulerInitiated");
      assert.match(x.stoppedReason!, /^Scaling activity initiated by \(deployment ecs-svc\/\d+\)$/);
      assert.equal(x.containers![0]!.exitCode, 143);
      assert.equal(truth.find((y) => y.taskArn === x.taskArn)!.failed, false);
    }
    assert.equal((await describeService(ecs, "mimir")).deployments![0]!.failedTasks, 0);
  });

  it("an image that exits 0 on SIGTERM, one that takes 500 ms, one that ignores it (SIGKILL at stopTimeout: 137)", async (t) => {
    // Time scale 20: the 2 s stopTimeout takes 100 ms of wall time; timestamps stay in simulated time.
    const emu = await emulator(
      t,
      {
        timing: { provisioningMs: 200, pendingMs: 200, healthCheckMs: 200, drainMs: 200, stopMs: 200, stabilizeMs: 200 },
        images: {
          "grafana/alloy:polite": { behavior: "healthy", sigtermExitCode: 0 },
          "grafana/alloy:slow-stop": { behavior: "healthy", sigtermDelayMs: 500 },
          "grafana/alloy:stubborn": { behavior: "healthy", ignoreSigterm: true },
        },
      },
      { timeScale: 20 },
    );
    const ecs = ecsClient(emu);
    const cases: [string, number, number][] = [
      ["polite", 0, 0],
      ["slow-stop", 143, 500],
      ["stubborn", 137, 2000],
    ];
    for (const [name] of cases) {
      const td = await registerTd(ecs, name, `grafana/alloy:${name}`, { stopTimeout: 2 });
      await createService(ecs, { name, taskDefinition: td, desiredCount: 1 });
    }
    for (const [name] of cases) await waitSteady(ecs, name, "lgtm", 5000);
    for (const [name] of cases) await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: name, desiredCount: 0 }));
    for (const [name, exitCode, exitDelay] of cases) {
      const [task] = await waitFor(() => allTasks(ecs, name), (ts) => ts[0]?.lastStatus === "STOPPED", 5000);
      assert.equal(task!.containers![0]!.exitCode, exitCode, name);
      // stoppingAt → stoppedAt: drainMs (200) + the container's exit + stopMs (200), in simulated milliseconds.
      const took = task!.stoppedAt!.getTime() - task!.stoppingAt!.getTime();
      assert.ok(took >= 400 + exitDelay && took < 400 + exitDelay + 150, `${name}: stopping took ${took} ms`);
    }
  });
});

describe("Fargate task retirement and AZ rebalancing (POST /_emulator/actions)", () => {
  it("retireTask: the replacement starts first (minimumHealthyPercent 100), then the task stops with the maintenance reason", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "tempo", "grafana/tempo:2.6.0");
    await createService(ecs, { name: "tempo", taskDefinition: td, desiredCount: 1 });
    const before = await waitSteady(ecs, "tempo");
    const [victim] = await allTasks(ecs, "tempo");
    const r = await action(emu, { type: "retireTask", task: victim!.taskArn });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.results, [{ type: "retireTask", taskArn: victim!.taskArn, serviceName: "tempo" }]);
    const tasks = await waitFor(() => allTasks(ecs, "tempo"), (ts) => ts.find((x) => x.taskArn === victim!.taskArn)?.lastStatus === "STOPPED" && ts.some((x) => x.lastStatus === "RUNNING"));
    const retired = tasks.find((x) => x.taskArn === victim!.taskArn)!;
    const replacement = tasks.find((x) => x.taskArn !== victim!.taskArn)!;
    assert.equal(retired.stopCode, "ServiceSchedulerInitiated");
    assert.equal(retired.stoppedReason, "ECS is performing maintenance on the underlying infrastructure hosting the task");
    assert.equal(retired.containers![0]!.exitCode, 143);
    assert.ok(replacement.createdAt! <= retired.stoppingAt!, "the replacement started before the retired task stopped");
    assert.ok(replacement.startedAt! <= retired.stoppingAt!, "and was running first (minimumHealthyPercent 100)");
    const after = await waitSteady(ecs, "tempo");
    assert.equal(after.deployments![0]!.id, before.deployments![0]!.id, "no new deployment");
    assert.equal(after.deployments![0]!.failedTasks, 0);
    assert.equal((await truthTasks(emu)).find((x) => x.taskArn === victim!.taskArn)!.failed, false);
  });

  it("retireTask by service, errors for unknown targets and bad bodies; timed actions from the scenario", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "tempo", "grafana/tempo:2.6.0");
    await createService(ecs, { name: "tempo", taskDefinition: td, desiredCount: 2 });
    await waitSteady(ecs, "tempo");
    const oldest = (await allTasks(ecs, "tempo")).sort((a, b) => a.createdAt!.getTime() - b.createdAt!.getTime())[0]!;
    const r = await action(emu, { type: "retireTask", service: "tempo" });
    assert.equal(r.json.results![0]!.taskArn, oldest.taskArn);
    assert.equal((await action(emu, { type: "retireTask", task: "0123456789abcdef0123456789abcdef" })).status, 404);
    assert.equal((await action(emu, { type: "retireTask", service: "ghost" })).status, 404);
    assert.equal((await action(emu, { type: "retireTask" })).status, 400);
    const bad = await action(emu, { type: "meteorStrike", service: "tempo" });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error!, /type/);
    await waitSteady(ecs, "tempo");
    // A timed action: retire a task of tempo 100 ms (simulated) after the patch.
    emu.mergeScenario({ actions: [{ afterMs: 100, action: { type: "retireTask", service: "tempo" } }] });
    const log = await waitFor(
      async () => (await (await fetch(`${emu.url}/_emulator/actions`)).json()) as { done: { action: { type: string }; result?: { taskArn: string } }[]; pending: unknown[] },
      (l) => l.done.filter((e) => e.result).length === 2,
    );
    assert.deepEqual(log.pending, []);
    assert.equal(log.done.filter((e) => !e.result).length, 3, "the refused actions are logged too");
    const timed = log.done[log.done.length - 1]!.result!.taskArn;
    const stopped = await waitFor(() => allTasks(ecs, "tempo"), (ts) => ts.find((x) => x.taskArn === timed)?.lastStatus === "STOPPED");
    assert.equal(stopped.find((x) => x.taskArn === timed)!.stoppedReason, "ECS is performing maintenance on the underlying infrastructure hosting the task");
  });

  it("rebalance: starts a task in another zone, then stops one, with the rebalancing events; refused when DISABLED", async (t) => {
    const emu = await emulator(t);
    const ecs = ecsClient(emu);
    const td = await registerTd(ecs, "loki", "grafana/loki:3.1.0");
    await createService(ecs, { name: "loki", taskDefinition: td, desiredCount: 2 });
    await waitSteady(ecs, "loki");
    const r = await action(emu, { type: "rebalance", service: "loki" });
    assert.equal(r.status, 200);
    const moved = r.json.results![0]!.taskArn;
    const tasks = await waitFor(() => allTasks(ecs, "loki"), (ts) => ts.find((x) => x.taskArn === moved)?.lastStatus === "STOPPED" && ts.filter((x) => x.lastStatus === "RUNNING").length === 2);
    const stopped = tasks.find((x) => x.taskArn === moved)!;
    assert.equal(stopped.stopCode, "ServiceSchedulerInitiated");
    assert.equal(stopped.containers![0]!.exitCode, 143);
    assert.equal(stoppedBy(tasks, /rebalancing/).length, 1);
    const fresh = tasks.find((x) => x.lastStatus === "RUNNING" && x.createdAt! > stopped.createdAt! && x.taskArn !== moved)!;
    assert.notEqual(fresh.availabilityZone, stopped.availabilityZone);
    const messages = (await waitSteady(ecs, "loki")).events!.map((e) => e.message!);
    assert.ok(messages.some((m) => /^service \(loki\) is not AZ balanced with .* AZ Rebalancing in progress\.$/.test(m)), messages.join("\n"));
    assert.ok(messages.some((m) => m === `loki has started 1 tasks in ${fresh.availabilityZone} to AZ Rebalance: (task ${fresh.taskArn!.split("/").pop()}).`));
    assert.ok(messages.some((m) => m === `loki has stopped 1 running tasks in ${stopped.availabilityZone} due to AZ rebalancing: (task ${moved.split("/").pop()}).`));
    assert.ok(messages.some((m) => /^service \(loki\) is AZ balanced with /.test(m)));
    await ecs.send(new UpdateServiceCommand({ cluster: "lgtm", service: "loki", availabilityZoneRebalancing: "DISABLED" }));
    assert.equal((await action(emu, { type: "rebalance", service: "loki" })).status, 409);
  });
});
