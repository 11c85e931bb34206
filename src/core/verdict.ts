/**
 * What one snapshot says about one watched deployment: pure reading of DescribeServices, DescribeServiceDeployments
 * and the stopped tasks, no decisions about what to do (that is core/rollout.ts).
 *
 * The ECS API is eventually consistent: a snapshot may be older than the last one, or than our own UpdateService.
 * So absence proves nothing. Only positive evidence counts: a deployment that exists, a status that was reported.
 */
import type { Deployment, Service, ServiceDeployment } from "@aws-sdk/client-ecs";
import type { Classification } from "./classify.js";

export type { FailureKind } from "./classify.js";

export interface StoppedTask {
  taskArn: string;
  taskId: string;
  taskDefinitionArn?: string;
  stopCode?: string;
  stoppedReason?: string;
  healthStatus?: string;
  startedAt?: string;
  stoppedAt?: string;
  containers: Array<{ name?: string; exitCode?: number; reason?: string; healthStatus?: string }>;
  /** Whether this stop counts as a failure: classification.kind !== "none". */
  failed: boolean;
  /** Why (core/classify.ts): none / transient / deterministic, the rule and a one-line summary. */
  classification: Classification;
}

/** Who rolled a release back when lgtm-deploy did not. */
export type RollbackBy = "lgtm-deploy" | "ecs-circuit-breaker" | "ecs-alarm" | "ecs" | "someone-else";

export interface WatchTarget {
  /** ECS deployment id (ecs-svc/…) once known. */
  id: string | null;
  /** The task definition this deployment rolls out. */
  taskDefinition: string;
  /** Deployments that existed before (a stale read may show them as PRIMARY; they are never "ours"). */
  exclude: readonly string[];
  /**
   * ECS time (ms) of our release's UpdateService. A deployment from `exclude` counts again when ECS updated it after
   * this: a rollback (breaker, alarm, StopServiceDeployment) re-activates the last COMPLETED deployment with its old
   * id, while a stale read can only show it as it was before.
   */
  since?: number | null;
  /** Deployments that are never the watched one nor a newcomer (our own release, while its rollback is watched). */
  never?: readonly string[];
}

/** Whether `d` is new to the watch: not one that existed before, or one ECS has acted on since our release. */
export function fresh(d: Deployment, t: WatchTarget): boolean {
  if (d.id === undefined || t.never?.includes(d.id)) return false;
  if (!t.exclude.includes(d.id)) return true;
  return t.since !== undefined && t.since !== null && (d.updatedAt?.getTime() ?? 0) > t.since;
}

export interface Facts {
  /** DescribeServices returned the service in this snapshot. */
  serviceSeen: boolean;
  /** The service is gone or going (positive evidence: status INACTIVE or DRAINING). */
  serviceGone: boolean;
  /** Our deployment as DescribeServices shows it (undefined: not visible in this snapshot). */
  ours?: Deployment;
  /** A PRIMARY deployment that is neither ours nor one that existed before. */
  newcomer?: Deployment;
  /** Ours is PRIMARY, COMPLETED (or the only one with running == desired without rollout state), running == desired. */
  steady: boolean;
  desired: number;
  running: number;
  /** ECS is rolling back (or has rolled back) the service deployment, with who and why. */
  ecsRollback?: { by: RollbackBy; reason: string };
  /** The service deployment's terminal failure without a rollback (ROLLBACK_FAILED, STOPPED). */
  sdStatus?: string;
  sdReason?: string;
  breaker?: { failureCount: number; threshold: number; status?: string };
  alarms?: { status?: string; triggered: string[] };
}

export function findOurs(svc: Service | undefined, t: WatchTarget): Deployment | undefined {
  const deps = svc?.deployments ?? [];
  if (t.id !== null) return deps.find((d) => d.id === t.id);
  const candidates = deps.filter((d) => d.taskDefinition === t.taskDefinition && fresh(d, t));
  return candidates.find((d) => d.status === "PRIMARY") ?? candidates[0];
}

const ROLLBACK_STATES = new Set(["ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"]);

/** Reads the service deployment: circuit breaker, alarms and whether ECS is rolling it back. */
function readServiceDeployment(sd: ServiceDeployment | undefined, weRequested: boolean): Pick<Facts, "ecsRollback" | "sdStatus" | "sdReason" | "breaker" | "alarms"> {
  if (sd === undefined) return {};
  const out: Pick<Facts, "ecsRollback" | "sdStatus" | "sdReason" | "breaker" | "alarms"> = { sdStatus: sd.status, ...(sd.statusReason ? { sdReason: sd.statusReason } : {}) };
  const cb = sd.deploymentCircuitBreaker;
  if (cb !== undefined && cb.status !== "DISABLED") out.breaker = { failureCount: cb.failureCount ?? 0, threshold: cb.threshold ?? 0, status: cb.status };
  const al = sd.alarms;
  if (al !== undefined && al.status !== "DISABLED") out.alarms = { status: al.status, triggered: al.triggeredAlarmNames ?? [] };
  // ECS's own action: a rollback status, or its breaker or alarms TRIGGERED on a deployment set to roll back (the
  // status may show the rollback a moment later).
  const triggered = (cb?.status === "TRIGGERED" && sd.deploymentConfiguration?.deploymentCircuitBreaker?.rollback !== false) || (al?.status === "TRIGGERED" && sd.deploymentConfiguration?.alarms?.rollback !== false);
  const ecsActs = ROLLBACK_STATES.has(sd.status ?? "") || (triggered && (sd.status === "IN_PROGRESS" || sd.status === "PENDING"));
  if (ecsActs && !weRequested) {
    const reason = sd.rollback?.reason ?? sd.statusReason ?? "no reason given";
    const by: RollbackBy = al?.status === "TRIGGERED" ? "ecs-alarm" : cb?.status === "TRIGGERED" ? "ecs-circuit-breaker" : "ecs";
    out.ecsRollback = { by, reason: by === "ecs-alarm" && (al?.triggeredAlarmNames?.length ?? 0) > 0 ? `alarm ${al!.triggeredAlarmNames!.join(", ")} fired: ${reason}` : reason };
  }
  return out;
}

/**
 * Reads a snapshot for one watched deployment. `previousTd` lets a breaker rollback seen only in DescribeServices
 * (our deployment FAILED and a newer PRIMARY with the previous revision) count as positive evidence.
 */
export function readSnapshot(
  svc: Service | undefined,
  sd: ServiceDeployment | undefined,
  t: WatchTarget,
  o: { previousTd: string | null; weRequestedRollback: boolean; allowZeroDesired: boolean },
): Facts {
  const serviceGone = svc !== undefined && (svc.status === "INACTIVE" || svc.status === "DRAINING");
  const ours = findOurs(svc, t);
  const deps = svc?.deployments ?? [];
  const newcomer = deps.find((d) => d.status === "PRIMARY" && d.id !== undefined && d.id !== ours?.id && d.id !== t.id && fresh(d, t));
  const desired = ours?.desiredCount ?? 0;
  const running = ours?.runningCount ?? 0;
  const completed = ours?.rolloutState === "COMPLETED" || (ours?.rolloutState === undefined && deps.length === 1);
  const steady = ours !== undefined && ours.status === "PRIMARY" && completed && running === desired && (desired > 0 || o.allowZeroDesired) && newcomer === undefined;
  const facts: Facts = { serviceSeen: svc !== undefined, serviceGone, ours, newcomer, steady, desired, running, ...readServiceDeployment(sd, o.weRequestedRollback) };
  if (facts.ecsRollback === undefined && !o.weRequestedRollback && ours?.rolloutState === "FAILED" && newcomer !== undefined && newcomer.taskDefinition === o.previousTd) {
    facts.ecsRollback = { by: "ecs-circuit-breaker", reason: ours.rolloutStateReason ?? "rollout FAILED" };
  }
  return facts;
}

/** The counts line's key: the stopped tasks are listed again only when it changes. */
export function countsKey(d: Deployment | undefined, newestEventId: string | undefined): string {
  if (d === undefined) return "invisible";
  return `${d.id}:${d.runningCount ?? 0}/${d.pendingCount ?? 0}/${d.failedTasks ?? 0}/${d.desiredCount ?? 0}/${d.rolloutState ?? "-"}/${newestEventId ?? "-"}`;
}
