import { test } from "node:test";
import assert from "node:assert/strict";
import type { Deployment, Service, Task } from "@aws-sdk/client-ecs";
import { initialWatchState, observe, toStoppedTask, type WatchRules } from "../src/core/verdict.js";

const RULES: WatchRules = { maxFailedTasks: 2, timeoutMs: 60_000, bakeMs: 0 };
const ID = "ecs-svc/1";
const TD = "arn:aws:ecs:us-east-1:000000000000:task-definition/lgtm-loki:2";
const OLD = "arn:aws:ecs:us-east-1:000000000000:task-definition/lgtm-loki:1";

const dep = (d: Partial<Deployment>): Deployment => ({ id: ID, status: "PRIMARY", taskDefinition: TD, desiredCount: 2, runningCount: 0, pendingCount: 0, failedTasks: 0, rolloutState: "IN_PROGRESS", ...d });
const svc = (deployments: Deployment[], events: Array<{ id: string; message: string }> = []): Service => ({ serviceName: "lgtm-loki", status: "ACTIVE", deployments, events: events.map((e) => ({ ...e, createdAt: new Date(0) })) });
const crashed = (id: string, exitCode = 1): Task => ({
  taskArn: `arn:aws:ecs:us-east-1:000000000000:task/lgtm/${id}`,
  lastStatus: "STOPPED",
  stopCode: "EssentialContainerExited",
  stoppedReason: "Essential container in task exited",
  containers: [{ name: "loki", exitCode }],
});

test("pending while in progress; success when COMPLETED", () => {
  let s = initialWatchState(ID, TD, 0);
  let r = observe(s, { now: 1000, service: svc([dep({ runningCount: 1, pendingCount: 1 }), dep({ id: "ecs-svc/0", status: "ACTIVE", taskDefinition: OLD, rolloutState: "COMPLETED" })]), stoppedTasks: [] }, RULES);
  assert.equal(r.state.verdict.kind, "pending");
  assert.match(r.events.find((e) => e.kind === "state")!.message, /rollout IN_PROGRESS \(PRIMARY\), running 1\/2, pending 1, failed tasks 0/);
  s = r.state;
  r = observe(s, { now: 2000, service: svc([dep({ runningCount: 2, rolloutState: "COMPLETED" })]), stoppedTasks: [] }, RULES);
  assert.equal(r.state.verdict.kind, "success");
});

test("only changes are printed: the same snapshot twice prints nothing the second time", () => {
  const snap = { now: 1, service: svc([dep({ runningCount: 1 })], [{ id: "e1", message: "has started 1 tasks" }]), stoppedTasks: [] };
  const first = observe(initialWatchState(ID, TD, 0), snap, RULES);
  assert.deepEqual(first.events.map((e) => e.kind), ["service-event", "state"]);
  const second = observe(first.state, { ...snap, now: 2 }, RULES);
  assert.deepEqual(second.events, []);
});

test("service events print oldest first, each once; events before the release are not repeated", () => {
  const s0 = initialWatchState(ID, TD, 0, ["old"]);
  const r = observe(s0, { now: 1, service: svc([dep({})], [{ id: "e2", message: "second" }, { id: "e1", message: "first" }, { id: "old", message: "before" }]), stoppedTasks: [] }, RULES);
  assert.deepEqual(r.events.filter((e) => e.kind === "service-event").map((e) => e.message), ["first", "second"]);
});

test("failed tasks: counted from stopped tasks, failure at --max-failed-tasks, before ECS's breaker", () => {
  let r = observe(initialWatchState(ID, TD, 0), { now: 1, service: svc([dep({})]), stoppedTasks: [toStoppedTask(crashed("t1", 137))] }, RULES);
  assert.equal(r.state.verdict.kind, "pending");
  assert.match(r.events.find((e) => e.kind === "stopped-task")!.message, /task t1 stopped: Essential container in task exited \[EssentialContainerExited\]; loki exit 137/);
  r = observe(r.state, { now: 2, service: svc([dep({})]), stoppedTasks: [toStoppedTask(crashed("t1", 137)), toStoppedTask(crashed("t2"))] }, RULES);
  assert.equal(r.state.verdict.kind, "failure");
  assert.match((r.state.verdict as { reason: string }).reason, /2 task\(s\) of the new task definition failed/);
  assert.equal(r.events.filter((e) => e.kind === "stopped-task").length, 1, "t1 is not printed twice");
});

test("the deployment's failedTasks counts too, even before the stopped tasks are described", () => {
  const r = observe(initialWatchState(ID, TD, 0), { now: 1, service: svc([dep({ failedTasks: 2 })]), stoppedTasks: [] }, RULES);
  assert.equal(r.state.verdict.kind, "failure");
});

test("stops that are not failures are not counted (scale-in, user stop)", () => {
  const scaledIn: Task = { taskArn: "arn:x/task/lgtm/t9", lastStatus: "STOPPED", stopCode: "ServiceSchedulerInitiated", stoppedReason: "Scaling activity initiated by deployment", containers: [{ name: "loki", exitCode: 0 }] };
  const user: Task = { taskArn: "arn:x/task/lgtm/t8", lastStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "stopped by admin", containers: [{ name: "loki", exitCode: 143 }] };
  assert.equal(toStoppedTask(scaledIn).failed, false);
  assert.equal(toStoppedTask(user).failed, false);
  const unhealthy: Task = { taskArn: "arn:x/task/lgtm/t7", lastStatus: "STOPPED", stopCode: "ServiceSchedulerInitiated", stoppedReason: "Task failed container health checks", containers: [{ name: "loki" }] };
  const pull: Task = { taskArn: "arn:x/task/lgtm/t6", lastStatus: "STOPPED", stopCode: "TaskFailedToStart", stoppedReason: "CannotPullContainerError: not found", containers: [{ name: "loki" }] };
  assert.equal(toStoppedTask(unhealthy).failed, true);
  assert.equal(toStoppedTask(pull).failed, true);
});

test("scheduler stops with exit 143/137 (scale-in, retirement) are not failures: two of them do not fail a release", () => {
  const stop = (id: string, reason: string, exitCode: number): Task => ({ taskArn: `arn:x/task/lgtm/${id}`, lastStatus: "STOPPED", stopCode: "ServiceSchedulerInitiated", stoppedReason: reason, containers: [{ name: "loki", exitCode }] });
  const tasks = [stop("s1", "Scaling activity initiated by (deployment ecs-svc/1)", 143), stop("s2", "ECS is performing maintenance on the underlying infrastructure hosting the task", 137)].map(toStoppedTask);
  assert.deepEqual(tasks.map((t) => [t.failed, t.classification?.kind, t.classification?.cause]), [[false, "none", "scale-in"], [false, "none", "retirement"]]);
  const r = observe(initialWatchState(ID, TD, 0), { now: 1, service: svc([dep({})]), stoppedTasks: tasks }, RULES);
  assert.equal(r.state.verdict.kind, "pending");
  assert.deepEqual(r.state.failedTaskArns, []);
  assert.match(r.events.find((e) => e.kind === "stopped-task")!.message, /\(not counted as a failure\)$/);
  // The classification travels with the stopped task (into progress events and the release record).
  const pull = toStoppedTask({ taskArn: "arn:x/task/lgtm/p1", lastStatus: "STOPPED", stopCode: "TaskFailedToStart", stoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref x: x: not found" });
  assert.deepEqual([pull.failed, pull.classification?.kind, pull.classification?.cause], [true, "deterministic", "image-not-found"]);
});

test("circuit breaker rolled back: never success, and the breaker's deployment is named for adoption", () => {
  const rollback = dep({ id: "ecs-svc/9", taskDefinition: OLD, status: "PRIMARY", rolloutState: "IN_PROGRESS" });
  const ours = dep({ status: "ACTIVE", rolloutState: "FAILED", rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start." });
  const r = observe(initialWatchState(ID, TD, 0), { now: 1, service: svc([rollback, ours]), stoppedTasks: [] }, RULES);
  assert.equal(r.state.verdict.kind, "failure");
  const v = r.state.verdict as { reason: string; breakerRollback?: { deploymentId: string; taskDefinition?: string } };
  assert.match(v.reason, /no longer PRIMARY/);
  assert.deepEqual(v.breakerRollback, { deploymentId: "ecs-svc/9", taskDefinition: OLD });
  // ... even after the rollback has completed and the service looks perfectly "stable".
  const stable = observe(initialWatchState(ID, TD, 0), { now: 1, service: svc([dep({ id: "ecs-svc/9", taskDefinition: OLD, rolloutState: "COMPLETED", runningCount: 2 })]), stoppedTasks: [] }, RULES);
  assert.equal(stable.state.verdict.kind, "failure");
  assert.match((stable.state.verdict as { reason: string }).reason, /disappeared/);
});

test("rolloutState FAILED while still PRIMARY is a failure", () => {
  const r = observe(initialWatchState(ID, TD, 0), { now: 1, service: svc([dep({ rolloutState: "FAILED", rolloutStateReason: "tasks failed to start" })]), stoppedTasks: [] }, RULES);
  assert.match((r.state.verdict as { reason: string }).reason, /ECS marked the rollout FAILED: tasks failed to start/);
});

test("no rolloutState (circuit breaker off): only deployment with running == desired is steady", () => {
  const noState = (d: Partial<Deployment>) => dep({ rolloutState: undefined, ...d });
  let r = observe(initialWatchState(ID, TD, 0), { now: 1, service: svc([noState({ runningCount: 2 }), noState({ id: "ecs-svc/0", status: "ACTIVE", taskDefinition: OLD })]), stoppedTasks: [] }, RULES);
  assert.equal(r.state.verdict.kind, "pending", "old deployment still draining");
  r = observe(r.state, { now: 2, service: svc([noState({ runningCount: 2 })]), stoppedTasks: [] }, RULES);
  assert.equal(r.state.verdict.kind, "success");
});

test("bake: must stay steady for the whole bake; a relapse restarts the clock", () => {
  const rules = { ...RULES, bakeMs: 10_000 };
  const done = svc([dep({ runningCount: 2, rolloutState: "COMPLETED" })]);
  let r = observe(initialWatchState(ID, TD, 0), { now: 1_000, service: done, stoppedTasks: [] }, rules);
  r = observe(r.state, { now: 6_000, service: done, stoppedTasks: [] }, rules);
  assert.equal(r.state.verdict.kind, "pending");
  r = observe(r.state, { now: 7_000, service: svc([dep({ runningCount: 1, pendingCount: 1, rolloutState: "IN_PROGRESS" })]), stoppedTasks: [] }, rules);
  r = observe(r.state, { now: 8_000, service: done, stoppedTasks: [] }, rules);
  r = observe(r.state, { now: 17_000, service: done, stoppedTasks: [] }, rules);
  assert.equal(r.state.verdict.kind, "pending", "only 9 s since the relapse");
  r = observe(r.state, { now: 18_000, service: done, stoppedTasks: [] }, rules);
  assert.equal(r.state.verdict.kind, "success");
});

test("timeout, and a missing service", () => {
  const r = observe(initialWatchState(ID, TD, 0), { now: 60_000, service: svc([dep({ runningCount: 1 })]), stoppedTasks: [] }, RULES);
  assert.match((r.state.verdict as { reason: string }).reason, /timed out after 60s/);
  const gone = observe(initialWatchState(ID, TD, 0), { now: 1, service: undefined, stoppedTasks: [] }, RULES);
  assert.match((gone.state.verdict as { reason: string }).reason, /the service is missing/);
});

test("a decided watch ignores further snapshots", () => {
  const r = observe(initialWatchState(ID, TD, 0), { now: 1, service: svc([dep({ rolloutState: "COMPLETED", runningCount: 2 })]), stoppedTasks: [] }, RULES);
  const again = observe(r.state, { now: 2, service: undefined, stoppedTasks: [] }, RULES);
  assert.equal(again.state.verdict.kind, "success");
  assert.deepEqual(again.events, []);
});
