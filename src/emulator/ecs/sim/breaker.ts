/**
 * The deployment circuit breaker: counts failed tasks of the PRIMARY deployment while it is IN_PROGRESS and fails
 * (and optionally rolls back) the deployment at the threshold.
 * - Deployment.failedTasks: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html
 * - resetOnHealthyTask, thresholdConfiguration: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentCircuitBreaker.html,
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ThresholdConfiguration.html
 * - rollback to the last COMPLETED deployment, which goes back to IN_PROGRESS; no COMPLETED deployment → stalled:
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
 */
import type { CircuitBreakerConfig, Deployment, Service, ServiceDeploymentRec, Task } from "../model.js";
import { ActionError } from "../../errors.js";
import type { EcsState } from "../state.js";
import { deploymentFailedEvent, rollingBackEvent } from "./events.js";
import { noteLaunchFailure } from "./throttle.js";

/** BOUNDED_PERCENT 50 (the default) is the documented clamp(ceil(0.5 × desired), 3, 200). */
export function breakerThreshold(cfg: CircuitBreakerConfig, desired: number): number {
  const t = cfg.thresholdConfiguration ?? { type: "BOUNDED_PERCENT" as const, value: 50 };
  const share = Math.ceil((t.value * desired) / 100);
  switch (t.type) {
    case "COUNT":
      return t.value;
    case "UNBOUNDED_PERCENT":
      return Math.max(1, share);
    default:
      return Math.min(200, Math.max(3, share));
  }
}

function deploymentOf(ecs: EcsState, t: Task): { svc: Service; dep: Deployment } | undefined {
  const svc = ecs.serviceOfTask(t);
  const dep = svc?.deployments.find((d) => d.id === t.startedBy);
  return svc && dep ? { svc, dep } : undefined;
}

function syncRecord(ecs: EcsState, svc: Service, dep: Deployment, at: number): void {
  const rec = ecs.serviceDeployments.get(dep.rollbackOf ?? dep.serviceDeploymentArn)?.rec;
  if (!rec || !svc.deploymentConfiguration.deploymentCircuitBreaker.enable) return;
  rec.circuitBreaker.failureCount = dep.failedTasks;
  rec.circuitBreaker.threshold = breakerThreshold(svc.deploymentConfiguration.deploymentCircuitBreaker, svc.desiredCount);
  rec.updatedAt = at;
}

/**
 * A task failed: it could not start, its essential container exited, or it failed a health check. Counted only while
 * the deployment is IN_PROGRESS: once COMPLETED the breaker no longer watches (a late crash goes unnoticed by it).
 */
export function onTaskFailed(ecs: EcsState, t: Task, at: number, kind: "start" | "exit" | "health"): void {
  t.failed = true;
  const hit = deploymentOf(ecs, t);
  if (!hit) return;
  const { svc, dep } = hit;
  svc.steady = false;
  if (kind === "start") noteLaunchFailure(ecs, svc, at);
  if (dep.rolloutState !== "IN_PROGRESS" || dep.failedReportAt !== undefined) return;
  dep.failedTasks += 1;
  dep.updatedAt = at;
  syncRecord(ecs, svc, dep, at);
  const cb = svc.deploymentConfiguration.deploymentCircuitBreaker;
  if (dep !== svc.deployments[0] || !cb.enable) return;
  if (dep.failedTasks >= breakerThreshold(cb, svc.desiredCount)) trip(ecs, svc, dep, at);
}

/** A task of the deployment counts as healthy: the consecutive-failure count resets (unless resetOnHealthyTask is false). */
export function onTaskHealthy(ecs: EcsState, t: Task, at: number): void {
  const hit = deploymentOf(ecs, t);
  if (!hit) return;
  const { svc, dep } = hit;
  if (dep.rolloutState !== "IN_PROGRESS" || dep.failedTasks === 0) return;
  if (svc.deploymentConfiguration.deploymentCircuitBreaker.resetOnHealthyTask === false) return;
  dep.failedTasks = 0;
  dep.updatedAt = at;
  syncRecord(ecs, svc, dep, at);
  ecs.touch();
}

/** What differs between the two failure detectors (the circuit breaker and deployment alarms). */
const CAUSES = {
  breaker: {
    failedReason: "ECS deployment circuit breaker: tasks failed to start.",
    event: deploymentFailedEvent,
    stopped: "Service deployment stopped: the deployment circuit breaker threshold was exceeded.",
    rolledBack: "Service deployment rolled back because the circuit breaker threshold was exceeded.",
    rollingBack: (target: Deployment) => `ECS deployment circuit breaker: rolling back to deploymentId ${target.id}.`,
  },
  alarm: {
    failedReason: "ECS deployment failed: alarm detected.",
    event: (svc: Service, d: Deployment) => `(service ${svc.name}) (deployment ${d.id}) deployment failed: alarm detected.`,
    stopped: "Service deployment stopped: a deployment alarm is in ALARM state.",
    rolledBack: "Service deployment rolled back because a deployment alarm is in ALARM state.",
    rollingBack: (target: Deployment) => `ECS deployment alarm: rolling back to deploymentId ${target.id}.`,
  },
};
export type FailureCause = keyof typeof CAUSES;

function markFailed(dep: Deployment, at: number, reason = CAUSES.breaker.failedReason): void {
  dep.rolloutState = "FAILED";
  dep.rolloutStateReason = reason;
  dep.updatedAt = at;
  delete dep.failedReportAt;
  delete dep.failedReportReason;
}

/** No rollback (not configured, nothing COMPLETED, or the rollback itself failed): the deployment stalls. */
function stall(dep: Deployment, rec: ServiceDeploymentRec | undefined, at: number, cause: FailureCause, rollback: boolean): void {
  markFailed(dep, at, CAUSES[cause].failedReason);
  dep.halted = true;
  if (!rec) return;
  if (!rollback) {
    rec.status = "STOPPED";
    rec.statusReason = CAUSES[cause].stopped;
    rec.stoppedAt = at;
  } else {
    rec.status = "ROLLBACK_FAILED";
    rec.statusReason =
      dep.rollbackOf !== undefined
        ? "Service deployment rollback failed: the rollback deployment's tasks failed to start."
        : "Service deployment rollback failed: there is no COMPLETED deployment to roll back to.";
  }
  rec.finishedAt = at;
  rec.updatedAt = at;
}

/** A failure detector fired: FAILED, then roll back to the last COMPLETED deployment (if configured) or stall. */
export function trip(ecs: EcsState, svc: Service, dep: Deployment, at: number, cause: FailureCause = "breaker"): void {
  const cfg = svc.deploymentConfiguration;
  const rollback = cause === "breaker" ? cfg.deploymentCircuitBreaker.rollback : cfg.alarms.rollback;
  const recArn = dep.rollbackOf ?? dep.serviceDeploymentArn;
  const rec = ecs.serviceDeployments.get(recArn)?.rec;
  ecs.event(svc, at, CAUSES[cause].event(svc, dep));
  if (rec && cause === "breaker") rec.circuitBreaker.status = "TRIGGERED";
  const target = svc.lastCompleted;
  if (!rollback || dep.rollbackOf !== undefined || !target || target === dep) return stall(dep, rec, at, cause, rollback);
  const lag = ecs.deps.timing().failedStateLagMs;
  if (lag > 0) {
    dep.failedReportAt = at + lag;
    dep.failedReportReason = CAUSES[cause].failedReason;
  } else {
    markFailed(dep, at, CAUSES[cause].failedReason);
  }
  revive(ecs, svc, target, recArn, at, CAUSES[cause].rollingBack(target));
  if (rec) {
    rec.status = "ROLLBACK_IN_PROGRESS";
    rec.statusReason = CAUSES[cause].rolledBack;
    rec.rollback = { reason: rec.statusReason, startedAt: at, serviceRevisionArn: target.serviceRevisionArn };
    rec.updatedAt = at;
  }
  ecs.event(svc, at, rollingBackEvent(svc, target));
}

/**
 * A rollback makes an earlier deployment PRIMARY again, IN_PROGRESS (the developer guide: "the deployment changes from
 * a COMPLETED to IN_PROGRESS"); it keeps its id, so a watcher sees an old deployment id come back.
 */
export function revive(ecs: EcsState, svc: Service, target: Deployment, recArn: string, at: number, reason: string): void {
  for (const d of svc.deployments) {
    if (d.status === "PRIMARY") {
      d.status = "ACTIVE";
      d.updatedAt = at;
    }
  }
  svc.retired = svc.retired.filter((d) => d !== target);
  svc.deployments = [target, ...svc.deployments.filter((d) => d !== target)];
  target.status = "PRIMARY";
  target.rolloutState = "IN_PROGRESS";
  target.rolloutStateReason = reason;
  target.failedTasks = 0;
  target.halted = false;
  target.started = false;
  target.rollbackOf = recArn;
  target.updatedAt = at;
  svc.steady = false;
  ecs.touch();
}

/** Replaced deployments whose FAILED state is now reported. */
export function reportLateFailures(svc: Service, now: number): void {
  for (const d of svc.deployments) if (d.failedReportAt !== undefined && d.failedReportAt <= now) markFailed(d, d.failedReportAt, d.failedReportReason);
}

/**
 * A deployment alarm went into ALARM (the `alarm` action): while the PRIMARY is IN_PROGRESS the deployment fails
 * ("deployment failed: alarm detected.") and, with alarms.rollback, rolls back like the circuit breaker does
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html).
 */
export function alarmFired(ecs: EcsState, svc: Service, alarmName: string, at: number): Deployment {
  const a = svc.deploymentConfiguration.alarms;
  if (!a.enable || !a.alarmNames.includes(alarmName)) throw new ActionError(409, `service ${svc.name} does not watch alarm ${alarmName} during deployments`);
  const dep = svc.deployments[0];
  if (!dep || dep.rolloutState !== "IN_PROGRESS" || dep.failedReportAt !== undefined) throw new ActionError(409, `no deployment of service ${svc.name} is in progress`);
  const rec = ecs.serviceDeployments.get(dep.rollbackOf ?? dep.serviceDeploymentArn)?.rec;
  if (rec) {
    rec.alarms.status = "TRIGGERED";
    if (!rec.alarms.triggeredAlarmNames.includes(alarmName)) rec.alarms.triggeredAlarmNames.push(alarmName);
  }
  trip(ecs, svc, dep, at, "alarm");
  return dep;
}
