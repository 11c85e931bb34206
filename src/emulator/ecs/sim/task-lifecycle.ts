/**
 * One task's lifecycle, as the task lifecycle page describes it: PROVISIONING → PENDING → RUNNING → DEACTIVATING →
 * STOPPING → STOPPED (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html).
 * What a container does while RUNNING is in containers.ts.
 */
import { createHash } from "node:crypto";
import { arr, num, obj, str } from "../../util.js";
import type { ContainerState, Deployment, Service, Task, TaskTimer } from "../model.js";
import type { EcsState } from "../state.js";
import { onTaskFailed } from "./breaker.js";
import { addTimer, becomeHealthy, crash, degrade, healthVerdict, printLine, scheduleBehaviour } from "./containers.js";
import { zoneCounts } from "./maintenance.js";
import { resetThrottle } from "./throttle.js";

function awslogsOf(c: Record<string, unknown>): ContainerState["awslogs"] {
  const lc = obj(c.logConfiguration);
  if (str(lc?.logDriver) !== "awslogs") return undefined;
  const o = obj(lc?.options) ?? {};
  const group = str(o["awslogs-group"]);
  if (group === undefined) return undefined;
  const prefix = str(o["awslogs-stream-prefix"]);
  const region = str(o["awslogs-region"]);
  return { group, ...(prefix !== undefined ? { streamPrefix: prefix } : {}), ...(region !== undefined ? { region } : {}), createGroup: str(o["awslogs-create-group"]) === "true" };
}

/** Where an image resolves: its digest, or the pull error a task gets at the end of PENDING. */
export function resolveImage(ecs: EcsState, image: string): { found: boolean; digest: string; pullError?: string } {
  const look = ecs.deps.lookupImage(image, ecs.account, ecs.region);
  if (look.emulated) {
    if (!look.found) {
      return {
        found: false,
        digest: "",
        pullError: `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${image}: ${image}: not found`,
      };
    }
    return { found: true, digest: look.digest! };
  }
  const at = image.indexOf("@");
  if (at >= 0) return { found: true, digest: image.slice(at + 1) };
  return { found: true, digest: `sha256:${createHash("sha256").update(image).digest("hex")}` };
}

function containerOf(ecs: EcsState, raw: unknown): ContainerState {
  const c = obj(raw) ?? {};
  const image = str(c.image) ?? "";
  const d = resolveImage(ecs, image);
  const behavior = ecs.deps.behaviorFor(image, d.found ? d.digest : undefined);
  const state: ContainerState = {
    name: str(c.name) ?? "",
    image,
    imageDigest: d.digest,
    essential: c.essential !== false,
    hasHealthCheck: obj(c.healthCheck) !== undefined,
    stopTimeoutMs: (num(c.stopTimeout) ?? 30) * 1000,
    lastStatus: "PENDING",
    healthStatus: "UNKNOWN",
    runtimeId: ecs.deps.rng().hex(40),
    uuid: ecs.uuid(),
  };
  if (behavior) state.behavior = behavior;
  if (d.pullError !== undefined) state.pullError = d.pullError;
  const cpu = num(c.cpu);
  if (cpu !== undefined) state.cpu = cpu;
  const mem = num(c.memory);
  if (mem !== undefined) state.memory = mem;
  const logs = awslogsOf(c);
  if (logs) state.awslogs = logs;
  return state;
}

export function launchTask(ecs: EcsState, svc: Service, dep: Deployment, now: number): Task {
  const id = ecs.deps.rng().hex(32);
  const containers = (arr(dep.td.body.containerDefinitions) ?? []).map((raw) => containerOf(ecs, raw));
  // Spread across Availability Zones: the least-used zone of the service (ties: a, b, c).
  const zones = zoneCounts(ecs, svc);
  const zone = [...zones.entries()].sort((a, b) => a[1] - b[1])[0]![0];
  const task: Task = {
    id,
    arn: `arn:aws:ecs:${svc.cluster.region}:${ecs.account}:task/${svc.cluster.name}/${id}`,
    cluster: svc.cluster,
    serviceName: svc.name,
    group: `service:${svc.name}`,
    startedBy: dep.id,
    serviceRevisionArn: dep.serviceRevisionArn,
    td: dep.td,
    launchType: svc.launchType,
    availabilityZone: zone,
    lastStatus: "PROVISIONING",
    desiredStatus: "RUNNING",
    healthStatus: "UNKNOWN",
    containers,
    createdAt: now,
    next: now + ecs.deps.timing().provisioningMs,
    timers: [],
    needsHealth: containers.some((c) => c.hasHealthCheck || c.behavior?.behavior === "unhealthy"),
    failed: false,
    version: 1,
    tags: svc.propagateTags === "SERVICE" ? svc.tags : svc.propagateTags === "TASK_DEFINITION" ? dep.td.tags : [],
  };
  ecs.addTask(svc, task);
  return task;
}

/** Counts as healthy for the scheduler: RUNNING and, where health is checked, HEALTHY. */
export function isHealthy(t: Task): boolean {
  return t.desiredStatus === "RUNNING" && t.lastStatus === "RUNNING" && !t.failed && t.healthyAt !== undefined;
}

/** A scheduler or user stop: DEACTIVATING (drain) for a RUNNING task, then STOPPING. */
export function stopTask(ecs: EcsState, t: Task, at: number, stopCode: string, reason: string): void {
  if (t.desiredStatus === "STOPPED") return;
  t.desiredStatus = "STOPPED";
  t.stopCode = stopCode;
  t.stoppedReason = reason;
  t.stoppingAt = at;
  t.version += 1;
  t.timers = [];
  if (t.lastStatus === "RUNNING") {
    const timing = ecs.deps.timing();
    const behindLoadBalancer = (ecs.serviceOfTask(t)?.loadBalancers.length ?? 0) > 0;
    t.lastStatus = "DEACTIVATING";
    t.next = at + timing.drainMs + (behindLoadBalancer ? timing.deregistrationDelayMs : 0);
  } else {
    beginStopping(ecs, t, at);
  }
  ecs.touch();
}

/**
 * STOPPING: every running container gets SIGTERM and exits the way its image answers it (exit code
 * `sigtermExitCode`, default 143, after `sigtermDelayMs`); one that outlives the container's stopTimeout (default
 * 30 s) is killed with SIGKILL: exit code 137. StopTask: "a SIGTERM value and a default 30-second timeout, after which
 * the SIGKILL value is sent" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html).
 */
export function beginStopping(ecs: EcsState, t: Task, at: number): void {
  t.lastStatus = "STOPPING";
  let longest = 0;
  for (const c of t.containers) {
    if (c.lastStatus !== "RUNNING") continue;
    const b = c.behavior;
    const delay = b?.ignoreSigterm ? Infinity : (b?.sigtermDelayMs ?? 0);
    const killed = delay >= c.stopTimeoutMs;
    c.pendingExit = killed ? 137 : (b?.sigtermExitCode ?? 143);
    longest = Math.max(longest, killed ? c.stopTimeoutMs : delay);
  }
  t.next = at + longest + ecs.deps.timing().stopMs;
}

function failToStart(ecs: EcsState, t: Task, at: number, reason: string): void {
  t.desiredStatus = "STOPPED";
  t.lastStatus = "STOPPED";
  t.stopCode = "TaskFailedToStart";
  t.stoppedReason = reason;
  t.stoppingAt = at;
  t.executionStoppedAt = at;
  t.stoppedAt = at;
  for (const c of t.containers) {
    c.lastStatus = "STOPPED";
    if (c.pullError !== undefined) c.reason = c.pullError;
  }
  t.next = Infinity;
  ecs.markStopped(t);
  onTaskFailed(ecs, t, at, "start");
}

function startRunning(ecs: EcsState, t: Task, at: number): void {
  const timing = ecs.deps.timing();
  t.lastStatus = "RUNNING";
  t.pullStoppedAt = at;
  t.startedAt = at;
  t.next = Infinity;
  const svc = ecs.serviceOfTask(t);
  if (svc) resetThrottle(svc);
  for (const c of t.containers) {
    c.lastStatus = "RUNNING";
    ecs.deps.logs.open(t, c.name, at);
    scheduleBehaviour(ecs, t, c, at);
  }
  // Without a container health check ECS waits 40 s (healthyWithoutCheckMs) before the task counts as healthy.
  if (t.needsHealth) addTimer(t, { at: at + timing.healthCheckMs, kind: "health" });
  else addTimer(t, { at: at + timing.healthyWithoutCheckMs, kind: "healthy" });
}

function fireTimer(ecs: EcsState, t: Task, timer: TaskTimer): void {
  switch (timer.kind) {
    case "crash":
      return crash(ecs, t, timer.at, timer.container!);
    case "degrade":
      return degrade(ecs, t, timer.at, timer.container!);
    case "degradeRetry":
      return degrade(ecs, t, timer.at, timer.container!, true);
    case "log":
      return printLine(ecs, t, timer.container!, timer.at, timer.message!);
    case "health":
      return healthVerdict(ecs, t, timer.at);
    case "healthy":
      return becomeHealthy(ecs, t, timer.at);
    default:
      return;
  }
}

function finishStopping(ecs: EcsState, t: Task, at: number): void {
  t.lastStatus = "STOPPED";
  t.executionStoppedAt = at;
  t.stoppedAt = at;
  for (const c of t.containers) {
    if (c.lastStatus === "STOPPED") continue;
    c.lastStatus = "STOPPED";
    if (c.pendingExit !== undefined) c.exitCode = c.pendingExit;
    delete c.pendingExit;
  }
  t.next = Infinity;
  ecs.markStopped(t);
}

/** One state transition that is due at `at`. */
function transition(ecs: EcsState, t: Task, at: number): void {
  const timing = ecs.deps.timing();
  switch (t.lastStatus) {
    case "PROVISIONING": {
      t.lastStatus = "PENDING";
      t.pullStartedAt = at;
      const delay = Math.max(0, ...t.containers.map((c) => c.behavior?.startDelayMs ?? (c.behavior?.behavior === "slow" ? 5000 : 0)));
      const unpullable = t.containers.some((c) => c.pullError !== undefined);
      t.next = at + (unpullable ? timing.pullFailureMs : timing.pendingMs) + delay;
      return;
    }
    case "PENDING": {
      const broken = t.containers.find((c) => c.pullError !== undefined);
      if (broken) return failToStart(ecs, t, at, broken.pullError!);
      return startRunning(ecs, t, at);
    }
    case "DEACTIVATING":
      return beginStopping(ecs, t, at);
    case "STOPPING":
      return finishStopping(ecs, t, at);
    default:
      t.next = Infinity;
  }
}

/** Advances one task to `now`, firing due transitions and in-task timers in time order. */
export function advanceTask(ecs: EcsState, t: Task, now: number): void {
  for (let guard = 0; guard < 50 && t.lastStatus !== "STOPPED"; guard += 1) {
    const timer = t.timers[0];
    const due = Math.min(t.next, timer?.at ?? Infinity);
    if (due > now) return;
    t.version += 1;
    ecs.touch();
    if (timer && timer.at <= t.next) {
      t.timers.shift();
      fireTimer(ecs, t, timer);
    } else {
      transition(ecs, t, t.next);
    }
  }
}
