/**
 * The oracle's view of the emulator's ground truth (`GET /_emulator/state`): services, deployments, every task
 * (stopped ones included) and service deployments. Times are epoch milliseconds here (the API gives seconds).
 *
 * The failure rule below is the oracle's own, written from the README and docs/failure-classification.md, not
 * imported from src/: a stopped task is a failure when it crashed, failed to start or failed a health check;
 * scheduler, user and Spot stops are not (exit 143/137 included), unless the reason is a health check.
 */
import { serviceName, type ComponentName } from "../../../src/core/catalogue.js";

export interface EmuDeployment {
  id: string;
  status: string;
  taskDefinition: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  failedTasks: number;
  createdAt: number;
  updatedAt: number;
  rolloutState?: string;
  rolloutStateReason?: string;
}

export interface EmuService {
  serviceArn: string;
  serviceName: string;
  status: string;
  desiredCount: number;
  runningCount: number;
  taskDefinition: string;
  deployments: EmuDeployment[];
  events: { id: string; createdAt: number; message: string }[];
  deploymentConfiguration?: any;
  currentServiceDeployment?: string;
}

export interface EmuTask {
  taskArn: string;
  taskDefinitionArn: string;
  group: string;
  startedBy?: string;
  lastStatus: string;
  desiredStatus: string;
  healthStatus?: string;
  createdAt?: number;
  startedAt?: number;
  stoppingAt?: number;
  stoppedAt?: number;
  stopCode?: string;
  stoppedReason?: string;
  containers: { name: string; exitCode?: number; reason?: string; healthStatus?: string }[];
}

export interface EmuServiceDeployment {
  serviceDeploymentArn: string;
  serviceArn: string;
  createdAt?: number;
  startedAt?: number;
  finishedAt?: number;
  stoppedAt?: number;
  updatedAt?: number;
  status: string;
  statusReason?: string;
  rollback?: { reason?: string; startedAt?: number; serviceRevisionArn?: string };
  targetServiceRevision?: { arn: string };
}

export interface EmuState {
  time: string;
  /** Simulated now, wall-clock now and the time scale (emulators with a simulated clock). */
  timeEpochMs?: number;
  wallTime?: string;
  timeScale?: number;
  ecs: {
    services: EmuService[];
    tasks: EmuTask[];
    serviceDeployments: EmuServiceDeployment[];
    taskDefinitions: { arn: string; status: string }[];
    /** Every service event (emulators that keep them all). */
    events?: { serviceArn: string; id: string; createdAt: number; message: string }[];
  };
  ecr: unknown;
}

/**
 * The emulator's timestamps are simulated time (they run `timeScale` times faster than the wall clock); the tool's
 * deadlines, its records and the harness are wall-clock. Rewrites every timestamp the oracle reads into wall-clock
 * epoch seconds, so one time axis serves all checks. Identity for an emulator without a simulated clock.
 */
export function toWallClock(st: EmuState): EmuState {
  if (st.timeEpochMs === undefined || st.wallTime === undefined) return st;
  const scale = st.timeScale ?? 1;
  const simNow = st.timeEpochMs;
  const wallNow = Date.parse(st.wallTime);
  const conv = (sec: number | undefined): number | undefined => (sec === undefined ? undefined : (wallNow - (simNow - sec * 1000) / scale) / 1000);
  const fix = (o: any, keys: string[]): void => {
    if (!o) return;
    for (const k of keys) if (typeof o[k] === "number") o[k] = conv(o[k]);
  };
  for (const svc of st.ecs.services) {
    for (const d of svc.deployments) fix(d, ["createdAt", "updatedAt"]);
    for (const e of svc.events) fix(e, ["createdAt"]);
  }
  for (const t of st.ecs.tasks) fix(t, ["createdAt", "startedAt", "stoppingAt", "stoppedAt"]);
  for (const d of st.ecs.serviceDeployments) {
    fix(d, ["createdAt", "startedAt", "finishedAt", "stoppedAt", "updatedAt"]);
    fix(d.rollback, ["startedAt"]);
  }
  for (const e of st.ecs.events ?? []) fix(e, ["createdAt"]);
  return st;
}

export const serviceOf = (s: EmuState, c: ComponentName): EmuService | undefined => s.ecs.services.find((x) => x.serviceName === serviceName(c) && x.status === "ACTIVE");
export const primaryOf = (svc: EmuService): EmuDeployment | undefined => svc.deployments.find((d) => d.status === "PRIMARY");
export const ms = (sec: number | undefined): number | undefined => (sec === undefined ? undefined : Math.round(sec * 1000));

/** `family:revision` of a task definition ARN. */
export const shortTd = (arn: string | null | undefined): string => String(arn ?? "").split("/").pop() ?? "";

export const tasksOf = (s: EmuState, c: ComponentName): EmuTask[] => s.ecs.tasks.filter((t) => t.group === `service:${serviceName(c)}`);

const NOT_FAILURES = new Set(["UserInitiated", "ServiceSchedulerInitiated", "SpotInterruption", "TerminationNotice"]);

/** The oracle's failure rule (see the file comment). */
export function isFailedTask(t: EmuTask): boolean {
  if (t.lastStatus !== "STOPPED" && t.stoppedAt === undefined) return false;
  const reason = `${t.stoppedReason ?? ""} ${t.containers.map((c) => c.reason ?? "").join(" ")}`;
  if (/health ?check/i.test(reason)) return true;
  if (t.stopCode === "ServiceSchedulerInitiated" && t.healthStatus === "UNHEALTHY") return true;
  if (t.stopCode !== undefined && NOT_FAILURES.has(t.stopCode)) return false;
  return t.stopCode === "TaskFailedToStart" || t.stopCode === "EssentialContainerExited";
}

/** Failed tasks of a task definition whose stop time (ms) falls in [from, to]. */
export function failuresBetween(s: EmuState, c: ComponentName, td: string, from: number, to: number): EmuTask[] {
  return tasksOf(s, c).filter((t) => t.taskDefinitionArn === td && isFailedTask(t) && (ms(t.stoppedAt) ?? Infinity) >= from && (ms(t.stoppedAt) ?? Infinity) <= to);
}

/** How many tasks of `td` were RUNNING (started, not yet stopping) at time t (ms). */
export function runningAt(s: EmuState, c: ComponentName, td: string, t: number): number {
  return tasksOf(s, c).filter((x) => x.taskDefinitionArn === td && (ms(x.startedAt) ?? Infinity) <= t && (ms(x.stoppingAt) ?? ms(x.stoppedAt) ?? Infinity) > t).length;
}

/** When ECS declared a deployment COMPLETED (from the merged event history), if it did. */
export function completedAt(events: Map<string, { createdAt: number; message: string }>, c: ComponentName, deploymentId: string): number | undefined {
  const needle = `(service ${serviceName(c)}) (deployment ${deploymentId}) deployment completed.`;
  for (const e of events.values()) if (e.message === needle) return ms(e.createdAt);
  return undefined;
}

/**
 * ECS circuit-breaker rollbacks per service: [start, end] in ms (end Infinity while in progress). From the
 * service-deployment history, and from the "rolling back to deployment" event when the history lacks it.
 */
export function breakerRollbacks(s: EmuState, events: Map<string, { createdAt: number; message: string }>, c: ComponentName): { start: number; end: number }[] {
  const svc = s.ecs.services.find((x) => x.serviceName === serviceName(c));
  if (!svc) return [];
  const out: { start: number; end: number }[] = [];
  for (const d of s.ecs.serviceDeployments) {
    if (d.serviceArn !== svc.serviceArn || d.rollback?.startedAt === undefined) continue;
    const done = d.status === "ROLLBACK_SUCCESSFUL" || d.status === "ROLLBACK_FAILED";
    out.push({ start: ms(d.rollback.startedAt)!, end: done ? (ms(d.finishedAt) ?? ms(d.updatedAt) ?? Infinity) : Infinity });
  }
  if (out.length === 0) {
    for (const e of events.values()) {
      if (e.message.startsWith(`(service ${serviceName(c)}) rolling back to deployment`)) out.push({ start: ms(e.createdAt)!, end: Infinity });
    }
  }
  return out;
}
