/**
 * Deployments and service deployments: when one starts, when it completes, and what happens to the one it replaces.
 * - A new deployment starts on CreateService, on an UpdateService that changes the task definition (or other
 *   deployment-triggering settings) or sets forceNewDeployment:
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html
 * - It is COMPLETED when the service reaches a steady state: the PRIMARY alone, running its desired count, every task
 *   healthy: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html (rolloutState)
 */
import { arr, obj, str } from "../../util.js";
import type { Deployment, Service, ServiceDeploymentRec, ServiceRevision, TaskDef } from "../model.js";
import type { EcsState } from "../state.js";
import { configJson } from "../views.js";
import { breakerThreshold, revive } from "./breaker.js";
import { completedEvent, completedReason, inProgressReason, rollingBackEvent } from "./events.js";
import { isHealthy, resolveImage } from "./task-lifecycle.js";
import { resetThrottle } from "./throttle.js";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Service deployment ids are 21 characters (e.g. EXsdro8Rs9T3dIOLon0qU in a recorded ARN). */
function serviceDeploymentId(ecs: EcsState): string {
  let s = "";
  for (let i = 0; i < 21; i += 1) s += BASE62[Math.floor(ecs.deps.rng().next() * 62)]!;
  return s;
}

export function newRevision(ecs: EcsState, svc: Service, td: TaskDef, now: number): ServiceRevision {
  const rev: ServiceRevision = {
    arn: `arn:aws:ecs:${svc.cluster.region}:${ecs.account}:service-revision/${svc.cluster.name}/${svc.name}/${ecs.deps.rng().digits(19)}`,
    serviceArn: svc.arn,
    clusterArn: svc.cluster.arn,
    td,
    launchType: svc.launchType,
    platformVersion: "1.4.0",
    networkConfiguration: svc.networkConfiguration,
    loadBalancers: svc.loadBalancers,
    serviceRegistries: svc.serviceRegistries,
    containerImages: (arr(td.body.containerDefinitions) ?? []).map((c) => {
      const o = obj(c) ?? {};
      const image = str(o.image) ?? "";
      const digest = resolveImage(ecs, image);
      return { containerName: str(o.name) ?? "", image, ...(digest.found ? { imageDigest: digest.digest } : {}) };
    }),
    createdAt: now,
  };
  ecs.revisions.set(rev.arn, rev);
  return rev;
}

const ONGOING = new Set(["PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED"]);

function stopSuperseded(rec: ServiceDeploymentRec | undefined, now: number): void {
  if (!rec || !ONGOING.has(rec.status)) return;
  rec.status = "STOPPED";
  rec.statusReason = "Service deployment was stopped because a newer service deployment started.";
  rec.stoppedAt = now;
  rec.finishedAt = now;
  rec.updatedAt = now;
}

function newRecord(ecs: EcsState, svc: Service, rev: ServiceRevision, now: number): ServiceDeploymentRec {
  const cfg = svc.deploymentConfiguration;
  return {
    arn: `arn:aws:ecs:${svc.cluster.region}:${ecs.account}:service-deployment/${svc.cluster.name}/${svc.name}/${serviceDeploymentId(ecs)}`,
    createdAt: now,
    startedAt: now,
    updatedAt: now,
    sourceRevisionArns: [...new Set(svc.deployments.map((d) => d.serviceRevisionArn))],
    targetRevisionArn: rev.arn,
    status: "PENDING",
    deploymentConfiguration: configJson(cfg),
    circuitBreaker: {
      status: cfg.deploymentCircuitBreaker.enable ? "MONITORING" : "DISABLED",
      failureCount: 0,
      threshold: breakerThreshold(cfg.deploymentCircuitBreaker, svc.desiredCount),
    },
    alarms: { status: cfg.alarms.enable ? "MONITORING" : "DISABLED", alarmNames: [...cfg.alarms.alarmNames], triggeredAlarmNames: [] },
  };
}

/**
 * A new PRIMARY deployment and its service deployment (PENDING until the scheduler acts on it). The UpdateService
 * response shows it with desiredCount 0, as ECS answers. The previous deployments become ACTIVE and drain.
 */
export function startDeployment(ecs: EcsState, svc: Service, td: TaskDef, now: number): Deployment {
  const previous = svc.deployments[0];
  const rev = newRevision(ecs, svc, td, now);
  const rec = newRecord(ecs, svc, rev, now);
  for (const d of svc.deployments) {
    if (d.status === "PRIMARY") {
      d.status = "ACTIVE";
      d.updatedAt = now;
    }
    stopSuperseded(ecs.serviceDeployments.get(d.rollbackOf ?? d.serviceDeploymentArn)?.rec, now);
  }
  if (previous && previous.td.arn !== td.arn) resetThrottle(svc);
  svc.history.unshift(rec);
  ecs.serviceDeployments.set(rec.arn, { svc, rec });
  svc.currentServiceDeploymentArn = rec.arn;
  const d = freshDeployment(ecs, "PRIMARY", td, now, rec.arn, rev.arn);
  svc.deployments.unshift(d);
  svc.steady = false;
  ecs.touch();
  return d;
}

/** The scheduler's first pass over a new PRIMARY: it takes the desired count; the others are scaled to 0. */
export function takeOver(ecs: EcsState, svc: Service, primary: Deployment, now: number): void {
  primary.started = true;
  primary.updatedAt = now;
  for (const d of svc.deployments) if (d !== primary) d.desiredCount = 0;
  const rec = ecs.serviceDeployments.get(primary.rollbackOf ?? primary.serviceDeploymentArn)?.rec;
  if (rec && rec.status === "PENDING") {
    rec.status = "IN_PROGRESS";
    rec.startedAt = now;
    rec.updatedAt = now;
  }
  if (rec && rec.status === "ROLLBACK_REQUESTED") {
    rec.status = "ROLLBACK_IN_PROGRESS";
    rec.updatedAt = now;
  }
}

/** Drained deployments (no task left that is not STOPPED) become INACTIVE and leave `deployments`. */
export function retireDrained(ecs: EcsState, svc: Service, now: number): void {
  const tasks = ecs.tasksOf(svc);
  for (const d of svc.deployments.slice(1)) {
    if (tasks.some((t) => t.startedBy === d.id && t.lastStatus !== "STOPPED")) continue;
    d.status = "INACTIVE";
    d.updatedAt = now;
    svc.retired.unshift(d);
    if (svc.retired.length > 20) svc.retired.length = 20;
  }
  svc.deployments = svc.deployments.filter((d) => d.status !== "INACTIVE");
}

/**
 * COMPLETED: the PRIMARY is the only deployment, runs exactly its desired count, and every one of those tasks counts
 * as healthy and has been RUNNING for at least `stabilizeMs`.
 */
export function checkCompletion(ecs: EcsState, svc: Service, now: number): void {
  const primary = svc.deployments[0];
  if (!primary || primary.rolloutState !== "IN_PROGRESS" || !primary.started || svc.deployments.length !== 1) return;
  const live = ecs.tasksOf(svc).filter((t) => t.startedBy === primary.id && t.desiredStatus === "RUNNING");
  const settled = live.filter((t) => isHealthy(t) && (t.startedAt ?? Infinity) + ecs.deps.timing().stabilizeMs <= now);
  if (live.length !== primary.desiredCount || settled.length !== primary.desiredCount) return;
  primary.rolloutState = "COMPLETED";
  primary.rolloutStateReason = completedReason(primary.id);
  primary.updatedAt = now;
  svc.lastCompleted = primary;
  const rec = ecs.serviceDeployments.get(primary.rollbackOf ?? primary.serviceDeploymentArn)?.rec;
  delete primary.rollbackOf;
  if (rec) finishRecord(rec, now);
  ecs.event(svc, now, completedEvent(svc, primary));
}

function finishRecord(rec: ServiceDeploymentRec, now: number): void {
  if (rec.status === "IN_PROGRESS") {
    rec.status = "SUCCESSFUL";
    rec.statusReason = "Service deployment completed successfully.";
  } else if (rec.status === "ROLLBACK_IN_PROGRESS" || rec.status === "ROLLBACK_REQUESTED") {
    rec.status = "ROLLBACK_SUCCESSFUL";
  } else {
    return;
  }
  rec.finishedAt = now;
  rec.updatedAt = now;
  if (rec.circuitBreaker.status === "MONITORING") rec.circuitBreaker.status = "MONITORING_COMPLETE";
  if (rec.alarms.status === "MONITORING") rec.alarms.status = "MONITORING_COMPLETE";
}

/** The deployment that serves a service revision: still listed, retired, or (if forgotten) a new one for its task definition. */
function deploymentFor(ecs: EcsState, svc: Service, revisionArn: string, now: number): Deployment | undefined {
  const known = [...svc.deployments, ...svc.retired].find((d) => d.serviceRevisionArn === revisionArn);
  if (known) return known;
  const rev = ecs.revisions.get(revisionArn);
  if (!rev) return undefined;
  return freshDeployment(ecs, "INACTIVE", rev.td, now, svc.history.find((r) => r.targetRevisionArn === revisionArn)?.arn ?? "", revisionArn);
}

/** A deployment as ECS creates it: a new ecs-svc/ id, no tasks yet, IN_PROGRESS. */
function freshDeployment(ecs: EcsState, status: Deployment["status"], td: Deployment["td"], now: number, serviceDeploymentArn: string, serviceRevisionArn: string): Deployment {
  const id = `ecs-svc/${ecs.deps.rng().digits(19)}`;
  return {
    id, status, td, desiredCount: 0, failedTasks: 0, createdAt: now, updatedAt: now,
    rolloutState: "IN_PROGRESS", rolloutStateReason: inProgressReason(id),
    serviceDeploymentArn, serviceRevisionArn, halted: false, started: false,
  };
}

/**
 * StopServiceDeployment, acted on by the scheduler (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stop-service-deployment.html):
 * ROLLBACK goes ROLLBACK_REQUESTED → ROLLBACK_IN_PROGRESS, restores the previous service revision (task definition,
 * network configuration, load balancers, registries) and ends ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED; ABORT goes
 * STOP_REQUESTED → STOPPED and the deployment launches no more tasks.
 */
export function applyStopRequests(ecs: EcsState, svc: Service, now: number): void {
  for (const rec of svc.history) {
    if (!rec.stopRequest) continue;
    const request = rec.stopRequest;
    delete rec.stopRequest;
    rec.updatedAt = now;
    const current = svc.deployments.find((d) => (d.rollbackOf ?? d.serviceDeploymentArn) === rec.arn);
    if (request === "ABORT") {
      if (current) current.halted = true;
      rec.status = "STOPPED";
      rec.statusReason = "Service deployment stopped on request (StopServiceDeployment ABORT).";
      rec.stoppedAt = now;
      rec.finishedAt = now;
      ecs.touch();
      continue;
    }
    const source = rec.sourceRevisionArns[0];
    const target = source === undefined ? undefined : deploymentFor(ecs, svc, source, now);
    if (!target || target === current) {
      rec.status = "ROLLBACK_FAILED";
      rec.statusReason = "Service deployment rollback failed: there is no previous service revision to roll back to.";
      rec.finishedAt = now;
      ecs.touch();
      continue;
    }
    const rev = ecs.revisions.get(target.serviceRevisionArn);
    if (rev) {
      svc.networkConfiguration = rev.networkConfiguration;
      svc.loadBalancers = rev.loadBalancers;
      svc.serviceRegistries = rev.serviceRegistries;
    }
    revive(ecs, svc, target, rec.arn, now, inProgressReason(target.id));
    rec.status = "ROLLBACK_IN_PROGRESS";
    rec.statusReason = "Service deployment rolled back on request (StopServiceDeployment ROLLBACK).";
    rec.rollback = { reason: rec.statusReason, startedAt: now, serviceRevisionArn: target.serviceRevisionArn };
    ecs.event(svc, now, rollingBackEvent(svc, target));
  }
}
