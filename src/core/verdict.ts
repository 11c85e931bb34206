/**
 * The rollout verdict: a pure function from DescribeServices/DescribeTasks snapshots to progress events and a
 * verdict. No I/O and no clock: the caller passes `now`.
 */
import type { Deployment, Service, Task } from "@aws-sdk/client-ecs";
import { classifyStoppedTask, type Classification } from "./classify.js";

export interface WatchRules {
  /** Stopped tasks of the watched deployment that fail the release (ours is sooner than ECS's breaker: >= 3). */
  maxFailedTasks: number;
  timeoutMs: number;
  /** How long the deployment must stay COMPLETED before success. */
  bakeMs: number;
}

export interface StoppedTask {
  taskArn: string;
  taskId: string;
  taskDefinitionArn?: string;
  stopCode?: string;
  stoppedReason?: string;
  healthStatus?: string;
  stoppedAt?: string;
  containers: Array<{ name?: string; exitCode?: number; reason?: string; healthStatus?: string }>;
  /** Whether this stop counts as a failed task (crash, failed start, failed health check): classification.kind !== "none". */
  failed: boolean;
  /** Why (src/core/classify.ts): none / transient / deterministic, with the rule and a one-line summary. */
  classification?: Classification;
}

export type Verdict =
  | { kind: "pending" }
  | { kind: "success"; reason: string }
  | {
      kind: "failure";
      reason: string;
      /** ECS's circuit breaker already started its own rollback: do not issue another one; watch this deployment. */
      breakerRollback?: { deploymentId: string; taskDefinition?: string };
    };

export interface WatchState {
  deploymentId: string;
  taskDefinitionArn: string;
  startedAt: number;
  seenEventIds: string[];
  seenStoppedTasks: string[];
  failedTaskArns: string[];
  lastSummary?: string;
  healthySince?: number;
  verdict: Verdict;
}

export type ProgressKind = "state" | "service-event" | "stopped-task" | "verdict";

export interface ProgressEvent {
  kind: ProgressKind;
  message: string;
  data?: Record<string, unknown>;
}

export interface Snapshot {
  now: number;
  /** undefined: DescribeServices reported the service missing. */
  service: Service | undefined;
  /** Newly described stopped tasks started by the watched deployment (may repeat already seen ones). */
  stoppedTasks: readonly StoppedTask[];
}

export function initialWatchState(deploymentId: string, taskDefinitionArn: string, startedAt: number, knownEventIds: readonly string[] = []): WatchState {
  return { deploymentId, taskDefinitionArn, startedAt, seenEventIds: [...knownEventIds], seenStoppedTasks: [], failedTaskArns: [], verdict: { kind: "pending" } };
}

/** Which stopped tasks are failures: the classifier decides (scheduler, user and Spot stops are not, unless the
 * reason is a health check). Without the watcher's context (used with .map), so a crash's "quick" is by timestamps alone. */
export function toStoppedTask(task: Task): StoppedTask {
  const containers = (task.containers ?? []).map((c) => ({ name: c.name, exitCode: c.exitCode, reason: c.reason, healthStatus: c.healthStatus }));
  const classification = classifyStoppedTask(task);
  const taskId = (task.taskArn ?? "").split("/").pop() ?? "";
  return {
    taskArn: task.taskArn ?? "",
    taskId,
    taskDefinitionArn: task.taskDefinitionArn,
    stopCode: task.stopCode,
    stoppedReason: task.stoppedReason,
    healthStatus: task.healthStatus,
    stoppedAt: task.stoppedAt?.toISOString(),
    containers,
    failed: classification.kind !== "none",
    classification,
  };
}

export function describeStoppedTask(t: StoppedTask): string {
  const exits = t.containers
    .filter((c) => c.exitCode !== undefined || c.reason)
    .map((c) => `${c.name ?? "?"} exit ${c.exitCode ?? "-"}${c.reason ? ` (${c.reason})` : ""}`)
    .join(", ");
  return `task ${t.taskId} stopped: ${t.stoppedReason ?? "no reason given"} [${t.stopCode ?? "no stopCode"}]${exits ? `; ${exits}` : ""}${t.failed ? "" : " (not counted as a failure)"}`;
}

function summary(dep: Deployment, failed: number): string {
  return `rollout ${dep.rolloutState ?? "n/a"} (${dep.status}), running ${dep.runningCount ?? 0}/${dep.desiredCount ?? 0}, pending ${dep.pendingCount ?? 0}, failed tasks ${failed}`;
}

/** Advances the watch by one snapshot. Returns the new state and the events worth printing (only what changed). */
export function observe(state: WatchState, snap: Snapshot, rules: WatchRules): { state: WatchState; events: ProgressEvent[] } {
  if (state.verdict.kind !== "pending") return { state, events: [] };
  const events: ProgressEvent[] = [];
  const next: WatchState = { ...state, seenEventIds: [...state.seenEventIds], seenStoppedTasks: [...state.seenStoppedTasks], failedTaskArns: [...state.failedTaskArns] };
  const decide = (verdict: Verdict): { state: WatchState; events: ProgressEvent[] } => {
    next.verdict = verdict;
    if (verdict.kind !== "pending") events.push({ kind: "verdict", message: `${verdict.kind}: ${verdict.reason}`, data: { verdict } });
    return { state: next, events };
  };

  const svc = snap.service;
  if (svc === undefined || svc.status === "INACTIVE" || svc.status === "DRAINING") {
    return decide({ kind: "failure", reason: `the service is ${svc?.status ?? "missing"}` });
  }

  // Service events, oldest first, each once. ECS keeps the newest 100.
  const fresh = (svc.events ?? []).filter((e) => e.id !== undefined && !next.seenEventIds.includes(e.id)).reverse();
  for (const e of fresh) {
    next.seenEventIds.push(e.id!);
    events.push({ kind: "service-event", message: e.message ?? "", data: { id: e.id, createdAt: e.createdAt?.toISOString() } });
  }
  if (next.seenEventIds.length > 300) next.seenEventIds = next.seenEventIds.slice(-200);

  for (const t of snap.stoppedTasks) {
    if (next.seenStoppedTasks.includes(t.taskArn)) continue;
    next.seenStoppedTasks.push(t.taskArn);
    if (t.failed) next.failedTaskArns.push(t.taskArn);
    events.push({ kind: "stopped-task", message: describeStoppedTask(t), data: { ...t } });
  }

  const deployments = svc.deployments ?? [];
  const ours = deployments.find((d) => d.id === state.deploymentId);
  const primary = deployments.find((d) => d.status === "PRIMARY");
  const failedCount = Math.max(next.failedTaskArns.length, ours?.failedTasks ?? 0);

  if (ours !== undefined) {
    const line = summary(ours, failedCount);
    if (line !== state.lastSummary) {
      next.lastSummary = line;
      events.push({ kind: "state", message: line, data: { deploymentId: ours.id, rolloutState: ours.rolloutState, running: ours.runningCount, pending: ours.pendingCount, desired: ours.desiredCount, failedTasks: failedCount } });
    }
  }

  // The breaker (or someone else) replaced our deployment: that is never success.
  if (ours === undefined || ours.status !== "PRIMARY") {
    const by = primary && primary.id !== state.deploymentId ? primary : undefined;
    const rollingBack = by !== undefined && (ours?.rolloutState === "FAILED" || ours === undefined);
    const reason =
      ours === undefined
        ? `deployment ${state.deploymentId} disappeared from the service${by ? `; deployment ${by.id} (${by.taskDefinition}) is PRIMARY now — ECS's circuit breaker rolled the release back` : ""}`
        : `deployment ${state.deploymentId} is no longer PRIMARY (${ours.status}, rollout ${ours.rolloutState ?? "n/a"}${ours.rolloutStateReason ? `: ${ours.rolloutStateReason}` : ""})${by ? `; ${by.id} (${by.taskDefinition}) replaced it` : ""}`;
    return decide({ kind: "failure", reason, ...(rollingBack && by?.id ? { breakerRollback: { deploymentId: by.id, taskDefinition: by.taskDefinition } } : {}) });
  }

  if (ours.rolloutState === "FAILED") {
    return decide({ kind: "failure", reason: `ECS marked the rollout FAILED: ${ours.rolloutStateReason ?? "no reason given"}` });
  }

  if (failedCount >= rules.maxFailedTasks) {
    return decide({ kind: "failure", reason: `${failedCount} task(s) of the new task definition failed (limit --max-failed-tasks ${rules.maxFailedTasks})` });
  }

  const desired = ours.desiredCount ?? 0;
  const steady =
    ours.rolloutState === "COMPLETED" ||
    (ours.rolloutState === undefined && deployments.length === 1 && (ours.runningCount ?? 0) === desired);
  if (steady) {
    next.healthySince ??= snap.now;
    if (snap.now - next.healthySince >= rules.bakeMs) {
      const baked = rules.bakeMs > 0 ? ` and stayed healthy for ${Math.round(rules.bakeMs / 1000)}s` : "";
      return decide({ kind: "success", reason: `deployment ${ours.id} reached steady state with ${ours.runningCount ?? 0}/${desired} tasks${baked}` });
    }
  } else {
    next.healthySince = undefined;
  }

  if (snap.now - state.startedAt >= rules.timeoutMs) {
    return decide({ kind: "failure", reason: `timed out after ${Math.round(rules.timeoutMs / 1000)}s without reaching steady state (${summary(ours, failedCount)})` });
  }
  return decide({ kind: "pending" });
}
