/**
 * What a container does once RUNNING, from the scenario's image behaviour: exit (crash, flaky), fail its health check
 * from the start (unhealthy) or later (degrade). ECS only sees the effects it can see: an essential container's exit
 * stops the task ("Essential container in task exited"); an UNHEALTHY container health check, or a failing load
 * balancer health check, makes the scheduler stop the task; a degraded app with neither check goes unnoticed.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html,
 * https://repost.aws/knowledge-center/ecs-task-stopped
 */
import { obj, str } from "../../util.js";
import type { ContainerState, Service, Task, TaskTimer } from "../model.js";
import type { EcsState } from "../state.js";
import { onTaskFailed, onTaskHealthy } from "./breaker.js";
import { healthCheckFailedEvent } from "./events.js";
import { beginStopping, stopTask } from "./task-lifecycle.js";

/** A scripted line (image `logs`, or the `log` action), written if the container is still running. */
export function printLine(ecs: EcsState, t: Task, name: string, at: number, message: string): void {
  const c = t.containers.find((x) => x.name === name);
  if (c?.lastStatus === "RUNNING") ecs.deps.logs.line(t, name, at, message);
}

export function addTimer(t: Task, timer: TaskTimer): void {
  t.timers.push(timer);
  t.timers.sort((a, b) => a.at - b.at);
}

/** When a flaky container exits: a fixed uptime (afterMs) or uniform in [minUptimeMs, maxUptimeMs]; `rate` of tasks. */
function flakyExitAt(ecs: EcsState, c: ContainerState, at: number): number | undefined {
  const b = c.behavior!;
  const rng = ecs.deps.rng();
  if (b.rate !== undefined && rng.next() >= b.rate) return undefined;
  if (b.afterMs !== undefined) return at + b.afterMs;
  const min = b.minUptimeMs ?? 0;
  const max = Math.max(min, b.maxUptimeMs ?? min + 60_000);
  return at + min + Math.floor(rng.next() * (max - min + 1));
}

/** What the app prints when it exits (crash, flaky) or starts failing (degrade): its `exitLog`, or a default line. */
function printExit(ecs: EcsState, t: Task, c: ContainerState, at: number): void {
  const b = c.behavior;
  if (!b) return;
  const dflt =
    b.behavior === "degrade"
      ? 'level=error msg="health check failing" (emulated degrade)'
      : `panic: emulated ${b.behavior} (exit code ${b.exitCode ?? 1})`;
  const lines = b.exitLog === undefined ? [dflt] : Array.isArray(b.exitLog) ? b.exitLog : [b.exitLog];
  for (const line of lines) ecs.deps.logs.line(t, c.name, at, line);
}

/** The timers a container's behaviour sets when it starts RUNNING. */
export function scheduleBehaviour(ecs: EcsState, t: Task, c: ContainerState, at: number): void {
  const b = c.behavior;
  if (!b) return;
  for (const l of b.logs ?? []) addTimer(t, { at: at + l.afterMs, kind: "log", container: c.name, message: l.message });
  if (b.behavior === "crash") addTimer(t, { at: at + (b.afterMs ?? 1000), kind: "crash", container: c.name });
  if (b.behavior === "flaky") {
    const exitAt = flakyExitAt(ecs, c, at);
    if (exitAt !== undefined) addTimer(t, { at: exitAt, kind: "crash", container: c.name });
  }
  if (b.behavior === "degrade") addTimer(t, { at: at + (b.afterMs ?? 1000), kind: "degrade", container: c.name });
}

/** The container exits with its exit code; an essential container takes the task down. */
export function crash(ecs: EcsState, t: Task, at: number, name: string): void {
  const c = t.containers.find((x) => x.name === name);
  if (!c || c.lastStatus !== "RUNNING") return;
  printExit(ecs, t, c, at);
  c.lastStatus = "STOPPED";
  c.exitCode = c.behavior?.exitCode ?? 1;
  // `reason` is what ECS reports (e.g. OutOfMemoryError); an ordinary non-zero exit has none. The app's panic is a log line.
  if (c.behavior?.reason !== undefined) c.reason = c.behavior.reason;
  if (!c.essential) return;
  t.desiredStatus = "STOPPED";
  t.stopCode = "EssentialContainerExited";
  t.stoppedReason = "Essential container in task exited";
  t.stoppingAt = at;
  t.timers = [];
  beginStopping(ecs, t, at);
  onTaskFailed(ecs, t, at, "exit");
}

function targetGroupOf(svc: Service | undefined): { arn: string; port: number } | undefined {
  const lb = obj(svc?.loadBalancers[0]);
  const arn = str(lb?.targetGroupArn);
  return arn === undefined ? undefined : { arn, port: typeof lb?.containerPort === "number" ? lb.containerPort : 80 };
}

function failHealth(ecs: EcsState, t: Task, at: number, reason: string, event: string | undefined): void {
  const svc = ecs.serviceOfTask(t);
  if (svc && event) ecs.event(svc, at, event);
  stopTask(ecs, t, at, "ServiceSchedulerInitiated", reason);
  onTaskFailed(ecs, t, at, "health");
}

/** The first health verdict (healthCheckMs after RUNNING) for tasks whose containers are health-checked. */
export function healthVerdict(ecs: EcsState, t: Task, at: number): void {
  for (const c of t.containers) {
    if (c.lastStatus !== "RUNNING") continue;
    if (c.behavior?.behavior === "unhealthy") c.healthStatus = "UNHEALTHY";
    else if (c.hasHealthCheck) c.healthStatus = "HEALTHY";
  }
  const unhealthy = t.containers.some((c) => c.essential && c.healthStatus === "UNHEALTHY");
  t.healthStatus = unhealthy ? "UNHEALTHY" : "HEALTHY";
  if (!unhealthy) return becomeHealthy(ecs, t, at);
  const svc = ecs.serviceOfTask(t);
  failHealth(ecs, t, at, "Task failed container health checks", svc ? healthCheckFailedEvent(svc, t) : undefined);
}

export function becomeHealthy(ecs: EcsState, t: Task, at: number): void {
  if (t.healthyAt !== undefined) return;
  t.healthyAt = at;
  onTaskHealthy(ecs, t, at);
}

/**
 * A degrading app starts failing its checks: a container health check turns UNHEALTHY; behind a load balancer the
 * target turns unhealthy. With neither, ECS does not notice.
 */
export function degrade(ecs: EcsState, t: Task, at: number, name: string, retry = false): void {
  const c = t.containers.find((x) => x.name === name);
  if (!c || c.lastStatus !== "RUNNING") return;
  if (!retry) printExit(ecs, t, c, at);
  const svc = ecs.serviceOfTask(t);
  if (c.hasHealthCheck) {
    c.healthStatus = "UNHEALTHY";
    if (c.essential) t.healthStatus = "UNHEALTHY";
    if (c.essential) failHealth(ecs, t, at, "Task failed container health checks", svc ? healthCheckFailedEvent(svc, t) : undefined);
    return;
  }
  const tg = targetGroupOf(svc);
  // The scheduler ignores load balancer health checks for healthCheckGracePeriodSeconds after the task started.
  const graceEnd = (t.startedAt ?? at) + (svc?.healthCheckGracePeriodSeconds ?? 0) * 1000;
  if (svc && tg && at < graceEnd) {
    addTimer(t, { at: graceEnd, kind: "degradeRetry", container: name });
    return;
  }
  if (svc && tg) {
    failHealth(
      ecs,
      t,
      at,
      `Task failed ELB health checks in (target-group ${tg.arn})`,
      `(service ${svc.name}) (port ${tg.port}) is unhealthy in (target-group ${tg.arn}) due to (reason Health checks failed).`,
    );
  }
}
