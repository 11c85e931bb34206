/**
 * Non-failure stops the scheduler initiates, on demand (POST /_emulator/actions):
 * - Fargate task retirement: the scheduler starts a replacement within minimumHealthyPercent/maximumPercent, then stops
 *   the task, stoppedReason "ECS is performing maintenance on the underlying infrastructure hosting the task"
 *   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-maintenance.html);
 * - Availability Zone rebalancing: start a task in the least-used zone, stop one in the most-used zone, with the
 *   rebalancing service events (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-rebalancing.html,
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-rebalancing-event-messages-list.html).
 * Both stop with ServiceSchedulerInitiated and the container answers SIGTERM (task-lifecycle.ts).
 */
import type { Service, Task } from "../model.js";
import { ActionError } from "../../errors.js";
import type { EcsState } from "../state.js";
import { isHealthy, stopTask } from "./task-lifecycle.js";

export const RETIREMENT_REASON = "ECS is performing maintenance on the underlying infrastructure hosting the task";
/** Not documented; the emulator's wording. */
export const REBALANCE_REASON = "Task stopped by Amazon ECS for Availability Zone rebalancing";

const running = (ecs: EcsState, svc: Service): Task[] => ecs.tasksOf(svc).filter((t) => t.desiredStatus === "RUNNING" && t.lastStatus === "RUNNING");

export function zoneCounts(ecs: EcsState, svc: Service): Map<string, number> {
  const zones = new Map<string, number>(["a", "b", "c"].map((z) => [`${svc.cluster.region}${z}`, 0]));
  for (const t of ecs.tasksOf(svc)) {
    if (t.desiredStatus !== "RUNNING") continue;
    zones.set(t.availabilityZone, (zones.get(t.availabilityZone) ?? 0) + 1);
  }
  return zones;
}

const describeZones = (zones: Map<string, number>): string => {
  const parts = [...zones.entries()].map(([z, n]) => `${n} tasks in ${z}`);
  return `${parts.slice(0, -1).join(", ")}, and ${parts[parts.length - 1]}`;
};

/** Marks a task for retirement; a task of an older deployment (already being replaced) just stops. */
export function retire(ecs: EcsState, t: Task, now: number): void {
  if (t.desiredStatus !== "RUNNING") throw new ActionError(409, `task ${t.id} is already stopping`);
  const svc = ecs.serviceOfTask(t);
  if (!svc || svc.status !== "ACTIVE" || svc.deployments[0]?.id !== t.startedBy) {
    stopTask(ecs, t, now, "ServiceSchedulerInitiated", RETIREMENT_REASON);
    return;
  }
  svc.replacing.set(t.arn, { reason: RETIREMENT_REASON, kind: "retirement" });
  svc.steady = false;
  ecs.touch();
}

/** Moves one task out of the most-used Availability Zone, as if the scheduler had found the service unbalanced. */
export function rebalance(ecs: EcsState, svc: Service, now: number): Task {
  if (svc.availabilityZoneRebalancing !== "ENABLED") throw new ActionError(409, `service ${svc.name} has availabilityZoneRebalancing DISABLED`);
  const primary = svc.deployments[0];
  const candidates = running(ecs, svc).filter((t) => t.startedBy === primary?.id && !svc.replacing.has(t.arn));
  if (candidates.length === 0) throw new ActionError(409, `service ${svc.name} has no running task to move`);
  const zones = zoneCounts(ecs, svc);
  const busiest = [...zones.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  const victim = candidates.filter((t) => t.availabilityZone === busiest).sort((a, b) => a.createdAt - b.createdAt)[0] ?? candidates[0]!;
  ecs.event(svc, now, `service (${svc.name}) is not AZ balanced with ${describeZones(zones)}. AZ Rebalancing in progress.`);
  svc.replacing.set(victim.arn, { reason: REBALANCE_REASON, kind: "rebalance" });
  svc.steady = false;
  ecs.touch();
  return victim;
}

/** Scheduler step: stop tasks being replaced once the service can spare them (minimumHealthyPercent). */
export function stopReplaced(ecs: EcsState, svc: Service, now: number, healthy: () => number, minHealthy: number, onStop: (t: Task, wasHealthy: boolean) => void): void {
  for (const [arn, why] of [...svc.replacing]) {
    const t = ecs.tasks.get(arn);
    if (!t || t.desiredStatus !== "RUNNING") {
      svc.replacing.delete(arn);
      continue;
    }
    const wasHealthy = isHealthy(t);
    if (wasHealthy && healthy() - 1 < minHealthy) continue;
    svc.replacing.delete(arn);
    const zone = t.availabilityZone;
    stopTask(ecs, t, now, "ServiceSchedulerInitiated", why.reason);
    onStop(t, wasHealthy);
    if (why.kind === "rebalance") {
      ecs.event(svc, now, `${svc.name} has stopped 1 running tasks in ${zone} due to AZ rebalancing: (task ${t.id}).`);
      ecs.event(svc, now, `service (${svc.name}) is AZ balanced with ${describeZones(zoneCounts(ecs, svc))}.`);
    }
  }
}
