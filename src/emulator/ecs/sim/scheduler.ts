/**
 * The service scheduler (rolling update): on every tick it replaces tasks within minimumHealthyPercent and
 * maximumPercent, as the deployment configuration reference describes
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html):
 * - stop ACTIVE deployments' tasks that do not count as healthy;
 * - stop the PRIMARY's excess tasks (scale-in), unhealthy ones first;
 * - stop ACTIVE deployments' healthy tasks only while ceil(desired × min%) healthy tasks remain;
 * - launch PRIMARY tasks while at most floor(desired × max%) tasks want to run.
 */
import type { Deployment, Service, Task } from "../model.js";
import type { EcsState } from "../state.js";
import { reportLateFailures } from "./breaker.js";
import { applyStopRequests, checkCompletion, retireDrained, takeOver } from "./deployments.js";
import { startedEvent, steadyEvent, stoppedEvent } from "./events.js";
import { advanceTask, isHealthy, launchTask, stopTask } from "./task-lifecycle.js";
import { stopReplaced } from "./maintenance.js";
import { launchAllowed } from "./throttle.js";

const scalingReason = (d: Deployment): string => `Scaling activity initiated by (deployment ${d.id})`;

interface Pass {
  svc: Service;
  primary: Deployment;
  desired: number;
  now: number;
  stopped: Task[];
  healthy: number;
}

const liveOf = (ecs: EcsState, svc: Service, d?: Deployment): Task[] =>
  ecs.tasksOf(svc).filter((t) => t.desiredStatus === "RUNNING" && (d === undefined || t.startedBy === d.id));

function stop(ecs: EcsState, p: Pass, t: Task, reason: string): void {
  if (isHealthy(t)) p.healthy -= 1;
  stopTask(ecs, t, p.now, "ServiceSchedulerInitiated", reason);
  p.stopped.push(t);
}

/** Old deployments' tasks that do not count as healthy can always go. */
function dropUnhealthyOld(ecs: EcsState, p: Pass): void {
  for (const d of p.svc.deployments.slice(1)) for (const t of liveOf(ecs, p.svc, d)) if (!isHealthy(t)) stop(ecs, p, t, scalingReason(d));
}

/**
 * Old deployments' healthy tasks go only while the service stays at or above minimumHealthyPercent — and not at all
 * while the PRIMARY is halted (a failed or aborted deployment leaves the old tasks running).
 */
function drainOld(ecs: EcsState, p: Pass, minHealthy: number): void {
  if (p.primary.halted) return;
  for (const d of p.svc.deployments.slice(1)) {
    for (const t of liveOf(ecs, p.svc, d)) {
      if (p.healthy - 1 < minHealthy) return;
      stop(ecs, p, t, scalingReason(d));
    }
  }
}

/** Tasks that count toward the desired count: not being replaced by a maintenance action. */
const counted = (p: Pass, tasks: Task[]): Task[] => tasks.filter((t) => !p.svc.replacing.has(t.arn));

/** PRIMARY above its desired count (scale-in): unhealthy tasks first, then the newest. */
function scaleIn(ecs: EcsState, p: Pass): void {
  const live = counted(p, liveOf(ecs, p.svc, p.primary)).sort((a, b) => Number(isHealthy(a)) - Number(isHealthy(b)) || b.createdAt - a.createdAt);
  let excess = live.length - p.desired;
  for (const t of live) {
    if (excess <= 0) return;
    stop(ecs, p, t, scalingReason(p.primary));
    excess -= 1;
  }
}

function launch(ecs: EcsState, p: Pass, maxTotal: number): void {
  if (p.primary.halted || p.svc.status !== "ACTIVE" || !launchAllowed(p.svc, p.now)) return;
  const n = Math.min(p.desired - counted(p, liveOf(ecs, p.svc, p.primary)).length, maxTotal - liveOf(ecs, p.svc).length);
  const started: Task[] = [];
  for (let i = 0; i < n; i += 1) started.push(launchTask(ecs, p.svc, p.primary, p.now));
  if (started.length === 0) return;
  ecs.event(p.svc, p.now, startedEvent(p.svc, started));
  if ([...p.svc.replacing.values()].some((r) => r.kind === "rebalance")) {
    for (const t of started) ecs.event(p.svc, p.now, `${p.svc.name} has started 1 tasks in ${t.availabilityZone} to AZ Rebalance: (task ${t.id}).`);
  }
}

function steadyCheck(ecs: EcsState, svc: Service, primary: Deployment, now: number): void {
  const live = liveOf(ecs, svc, primary);
  const steadyNow =
    svc.status === "ACTIVE" &&
    svc.replacing.size === 0 &&
    svc.deployments.length === 1 &&
    primary.rolloutState === "COMPLETED" &&
    live.length === primary.desiredCount &&
    live.every((t) => isHealthy(t));
  if (steadyNow && !svc.steady) ecs.event(svc, now, steadyEvent(svc));
  svc.steady = steadyNow;
}

export function schedule(ecs: EcsState, svc: Service, now: number): void {
  applyStopRequests(ecs, svc, now);
  const primary = svc.deployments[0];
  if (!primary) return;
  const desired = svc.status === "ACTIVE" ? svc.desiredCount : 0;
  if (!primary.started) takeOver(ecs, svc, primary, now);
  primary.desiredCount = desired;
  reportLateFailures(svc, now);
  const cfg = svc.deploymentConfiguration;
  const p: Pass = { svc, primary, desired, now, stopped: [], healthy: liveOf(ecs, svc).filter((t) => isHealthy(t)).length };
  dropUnhealthyOld(ecs, p);
  scaleIn(ecs, p);
  drainOld(ecs, p, Math.ceil((desired * cfg.minimumHealthyPercent) / 100));
  launch(ecs, p, Math.floor((desired * cfg.maximumPercent) / 100));
  stopReplaced(ecs, svc, now, () => p.healthy, Math.ceil((desired * cfg.minimumHealthyPercent) / 100), (t, wasHealthy) => {
    if (wasHealthy) p.healthy -= 1;
    p.stopped.push(t);
  });
  const stoppedRunning = p.stopped.filter((t) => t.startedAt !== undefined);
  if (stoppedRunning.length > 0) ecs.event(svc, now, stoppedEvent(svc, stoppedRunning));
  retireDrained(ecs, svc, now);
  checkCompletion(ecs, svc, now);
  steadyCheck(ecs, svc, primary, now);
  if (svc.status === "DRAINING" && ecs.tasksOf(svc).length === 0) {
    svc.status = "INACTIVE";
    svc.deployments = [];
    ecs.touch();
  }
}

/** Advances the simulation to `now`: task lifecycles, then the service scheduler. */
export function tick(ecs: EcsState, now: number): void {
  ecs.pruneStopped(now);
  for (const t of [...ecs.active]) advanceTask(ecs, t, now);
  for (const svc of ecs.services.values()) if (svc.status !== "INACTIVE") schedule(ecs, svc, now);
}
