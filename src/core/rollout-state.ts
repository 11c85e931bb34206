/**
 * The state, observations and actions of one component's release (see core/rollout.ts for the transitions), and the
 * few helpers every transition shares. Pure.
 */
import type { Service, ServiceDeployment } from "@aws-sdk/client-ecs";
import { seconds, shortTd } from "./names.js";
import { outsideRevision } from "./service-settings.js";
import type { RollbackBy, StoppedTask, WatchTarget } from "./verdict.js";

export type Phase =
  | "planned" | "registering" | "ready" | "checking" | "updating"
  | "watching" | "baking" | "released"
  | "rolling-back" | "rollback-watching" | "rollback-baking" | "done";

export type Verdict = "succeeded" | "rolled-back" | "failed" | "not-started";

export const DEFAULT_MAX_FAILED_TASKS = 2;

export interface Rules {
  maxFailedTasks: number;
  /** A deterministic first failure fails the release at once (--no-fail-fast turns it off). */
  failFast: boolean;
  timeoutMs: number;
  bakeMs: number;
  /** false: --no-rollback. */
  rollback: boolean;
  rollbackTimeoutMs: number;
  rollbackBakeMs: number;
  onAbort: "rollback" | "leave";
  abortGraceMs: number;
  allowZeroDesired: boolean;
  waitForIdle: boolean;
  /** How soon to re-check a busy service with --wait-for-idle (the poll interval). */
  recheckMs: number;
}

export interface Spec {
  component: string;
  service: string;
  command: "deploy" | "rollback";
  /** deploy registers a new revision; rollback rolls out this existing one. */
  existingTd: string | null;
  /** The service does not exist yet: CreateService (--create-missing). */
  creates: boolean;
  /** UpdateService settings besides the task definition (desired count only when the environment sets one). */
  settings: Record<string, unknown>;
  /** The rollback target the plan saw (re-checked right before UpdateService). */
  plannedPrevious: string | null;
  rules: Rules;
}

export interface Outcome {
  verdict: Verdict;
  exitCode: number;
  message: string;
  /** For exit 4: what the operator should do now. */
  nextStep?: string;
}

export interface CallError {
  name: string;
  message: string;
  /** The request was refused (4xx other than throttling): ECS changed nothing. Otherwise it may have happened. */
  definite: boolean;
}

export interface Watch {
  target: WatchTarget;
  startedAt: number;
  /** Stopped tasks seen (task ARNs), each printed once. */
  seenTasks: string[];
  /** Counted failures (transient and deterministic) of the watched deployment. */
  failures: string[];
  bakeFrom: number | null;
  /** The watched deployment has been COMPLETED at least once: ECS counted its tasks healthy. */
  completedOnce: boolean;
  lastLine?: string;
  lastKey?: string;
  /** The last stopped-task listing failed or a final look is needed: list again. */
  listingOwed: boolean;
  /** The stopped tasks are known up to here: the newest read a completed listing was sent after. */
  listedThrough?: number;
  /** Snapshots whose two reads disagreed (service deployment STOPPED, ours still PRIMARY): looked at again. */
  sdDoubts?: number;
}

export interface RollbackRef {
  id: string | null;
  arn: string | null;
  by: RollbackBy;
  via: "stop-deployment" | "update-service" | "adopted";
}

export interface State {
  phase: Phase;
  newTd: string | null;
  /** The revision to roll back to: captured when the service is updated. */
  previous: string | null;
  /** Settings to put back on rollback: only those this release changed, with the service's values. */
  restore: Record<string, unknown>;
  /** Deployments that existed before our update. */
  before: string[];
  /** Our release's deployment: its id, its service deployment ARN, and when ECS created it (ECS's clock, ms). */
  release: { id: string | null; arn: string | null; createdAt: number | null } | null;
  rollback: RollbackRef | null;
  watch: Watch | null;
  deadline: number | null;
  abortDeadline: number | null;
  aborted: boolean;
  /** An atomic peer failed (or an abort arrived) while our UpdateService was in flight. */
  rollbackWhenUpdated: string | null;
  /** A mutating call of this component is out. */
  inFlight: boolean;
  /** The last rollback call issued (so a rollback seen before its answer arrives is known to be ours). */
  rollbackCall: "stop-deployment" | "update-rollback" | null;
  retry: { at: number; attempt: number; action: Action } | null;
  /**
   * When StopServiceDeployment was refused or failed: the rollback by UpdateService waits for one look at the service
   * taken after that moment (ECS may already be rolling back — then that rollback is adopted, not overridden).
   */
  stopRefusedAt: number | null;
  /** Last service deployment status of the release, when DescribeServiceDeployments has shown it. */
  releaseSdStatus: string | null;
  /** When the newest read judged so far was sent: an older read that arrives later (out of order) is not news. */
  lastPolledAt: number | null;
  /** When the re-check first found the PRIMARY COMPLETED but running nothing (a task being replaced?). */
  emptySince: number | null;
  failureReasons: string[];
  stoppedTasks: StoppedTask[];
  events: string[];
  seenEvents: string[];
  breaker?: { failureCount: number; threshold: number; status?: string };
  alarms?: { status?: string; triggered: string[] };
  serviceNow?: string;
  outcome: Outcome | null;
  /** The previous revision was last seen PRIMARY and COMPLETED (steady) again, baked or not. */
  servingPrevious?: boolean;
  /** The phase the component was in when its outcome was decided (what the report's "rolled back to" line says). */
  endedIn?: Phase;
  /** Whether this component's service was changed by this run (an UpdateService/CreateService may have happened). */
  changed: boolean;
}

export type Observation =
  | { kind: "start"; now: number }
  | { kind: "registered"; now: number; taskDefinitionArn: string }
  | { kind: "register-failed"; now: number; error: CallError }
  | { kind: "go"; now: number }
  | { kind: "cancel"; now: number; message: string; exitCode: number }
  | { kind: "checked"; now: number; service: Service | undefined }
  | { kind: "check-failed"; now: number; error: CallError }
  | { kind: "updated"; now: number; service: Service }
  | { kind: "update-failed"; now: number; error: CallError }
  | {
      kind: "snapshot";
      now: number;
      /** undefined: DescribeServices did not return it (which proves nothing: eventual consistency). */
      service: Service | undefined;
      /** DescribeServiceDeployments for this component's release/rollback service deployments. */
      deployments: ServiceDeployment[];
      /** Newly described stopped tasks of the watched deployment, classified. */
      stoppedTasks: StoppedTask[];
      /** Whether the driver listed stopped tasks for this snapshot (see listingFor). */
      listing: "done" | "failed" | "skipped";
      /** The deployment the stopped tasks were listed for: tasks listed for one the watch has moved on from are ignored. */
      listedFor?: string;
      /** Listed tasks still on their way to STOPPED (not judged yet): the next poll lists again, counts changed or not. */
      stopping?: number;
      /** When the reads behind this snapshot were sent (default: now). */
      polledAt?: number;
      /**
       * DescribeServiceDeployments had not answered when DescribeServices did: the read is judged at once, and the
       * same read follows with the service deployments. Nothing is concluded here from their absence.
       */
      partial?: boolean;
    }
  /** The service deployment ARN of our release (or rollback), when UpdateService's answer did not name it. */
  | { kind: "service-deployment"; now: number; of: "release" | "rollback"; arn: string }
  | { kind: "rollback-issued"; now: number; via: "stop-deployment" | "update-service"; service?: Service }
  | { kind: "rollback-failed"; now: number; via: "stop-deployment" | "update-service"; error: CallError }
  /** A last look at the release deployment's stopped tasks once the watch moved to the rollback (for the report). */
  | { kind: "release-tasks"; now: number; stoppedTasks: StoppedTask[] }
  /** A last look at the service once the outcome is decided, for the report (allowed after done). */
  | { kind: "service-now"; now: number; service: Service }
  /** The settings outside the service revision, put back after a rollback by ECS (or refused). */
  | { kind: "settings-restored"; now: number; error?: CallError }
  | { kind: "tick"; now: number }
  | { kind: "abort"; now: number }
  | { kind: "peer-failed"; now: number; peer: string }
  | { kind: "finish"; now: number };

export type Level = "info" | "warn" | "error";

export type Action =
  | { kind: "register" }
  | { kind: "check" }
  /** Look at the service now (a poll as soon as possible), not at the next poll interval. */
  | { kind: "look" }
  | { kind: "update"; taskDefinition: string; settings: Record<string, unknown>; create: boolean }
  | { kind: "stop-deployment"; serviceDeploymentArn: string }
  | { kind: "update-rollback"; taskDefinition: string; settings: Record<string, unknown>; force: boolean }
  /** Best effort, after the rollback call: the release deployment's stopped tasks, for a report whose counts agree. */
  | { kind: "list-release-tasks"; deploymentId: string }
  /** UpdateService with these settings only (no task definition, no new deployment). */
  | { kind: "restore-settings"; settings: Record<string, unknown> }
  | { kind: "emit"; level: Level; event: string; message: string; data?: Record<string, unknown> }
  | { kind: "record" }
  | { kind: "tag"; taskDefinitionArn: string; outcome: "released" | "rolled-back" | "failed" };

export function initialState(): State {
  return {
    phase: "planned", newTd: null, previous: null, restore: {}, before: [], release: null, rollback: null, watch: null,
    deadline: null, abortDeadline: null, aborted: false, rollbackWhenUpdated: null, inFlight: false, rollbackCall: null, retry: null,
    stopRefusedAt: null, releaseSdStatus: null, lastPolledAt: null, emptySince: null, failureReasons: [], stoppedTasks: [], events: [], seenEvents: [], outcome: null, changed: false,
  };
}

/** A transition in progress: a private copy of the state plus the actions it produces. */
export class Tx {
  readonly actions: Action[] = [];
  constructor(readonly s: State, readonly spec: Spec, readonly now: number) {}
  emit(level: Level, event: string, message: string, data?: Record<string, unknown>): void {
    this.actions.push({ kind: "emit", level, event, message, ...(data ? { data } : {}) });
  }
  act(a: Action): void {
    if (a.kind === "update" || a.kind === "stop-deployment" || a.kind === "update-rollback" || a.kind === "register" || a.kind === "check") this.s.inFlight = true;
    if (a.kind === "stop-deployment" || a.kind === "update-rollback") this.s.rollbackCall = a.kind;
    this.actions.push(a);
  }
  finish(outcome: Outcome): void {
    // Why the release failed, then (exit 4) why the rollback did not succeed: the first reason stays the release's.
    const reasons = this.s.failureReasons;
    if (outcome.verdict !== "succeeded" && (reasons.length === 0 || (outcome.verdict === "failed" && !reasons.includes(outcome.message)))) reasons.push(outcome.message);
    this.s.endedIn = this.s.phase;
    this.s.phase = "done";
    this.s.outcome = outcome;
    this.s.inFlight = false;
    this.s.retry = null;
    const level: Level = outcome.verdict === "succeeded" ? "info" : "error";
    this.emit(level, "verdict", outcome.message, { verdict: outcome.verdict, exitCode: outcome.exitCode });
    if (outcome.nextStep) this.emit(level, "next-step", `next: ${outcome.nextStep}`);
    const td = this.s.newTd;
    // The outcome goes where ECS keeps it, so `rollback --to previous` can skip a rejected revision later.
    if (td !== null && this.s.changed && outcome.verdict !== "not-started") this.act({ kind: "tag", taskDefinitionArn: td, outcome: outcome.verdict === "succeeded" ? "released" : outcome.verdict === "rolled-back" ? "rolled-back" : "failed" });
    this.act({ kind: "record" });
  }
}

export const isDone = (s: State): boolean => s.phase === "done";
export const isWatching = (s: State): boolean => ["watching", "baking", "released", "rolling-back", "rollback-watching", "rollback-baking"].includes(s.phase);

export function statusHint(spec: Spec): string {
  return `lgtm-deploy status ${spec.component} --env <env> (then lgtm-deploy rollback ${spec.component} --to <revision> if needed)`;
}

/** Starts a rollback (or says why there is none). The rollback call goes out before anything else. */
export function startRollback(tx: Tx, reason: string): void {
  const { s, spec } = tx;
  s.failureReasons.push(reason);
  tx.emit("error", "failed", `release failed: ${reason}`);
  if (!spec.rules.rollback) {
    return tx.finish({ verdict: "failed", exitCode: 4, message: `not rolling back (--no-rollback): ${shortTd(s.newTd)} stays as it is`, nextStep: statusHint(spec) });
  }
  if (s.previous === null) {
    const why = spec.command === "rollback" ? "the revision that was running is not a valid target" : "there is no previous revision (first deployment of this service)";
    return tx.finish({ verdict: "failed", exitCode: 4, message: `cannot roll back: ${why}; the service needs attention`, nextStep: statusHint(spec) });
  }
  s.phase = "rolling-back";
  s.deadline = tx.now + spec.rules.rollbackTimeoutMs;
  if (s.abortDeadline !== null) s.deadline = Math.min(s.deadline, s.abortDeadline);
  s.retry = null;
  const inProgress = s.releaseSdStatus === null || s.releaseSdStatus === "IN_PROGRESS" || s.releaseSdStatus === "PENDING";
  const arn = s.release?.arn ?? null;
  if (arn !== null && inProgress && s.watch !== null && s.watch.bakeFrom === null) {
    tx.act({ kind: "stop-deployment", serviceDeploymentArn: arn });
    tx.emit("warn", "rollback", `rolling back to ${shortTd(s.previous)} (StopServiceDeployment ROLLBACK)`);
  } else {
    tx.act({ kind: "update-rollback", taskDefinition: s.previous, settings: s.restore, force: true });
    tx.emit("warn", "rollback", `rolling back to ${shortTd(s.previous)} (UpdateService)`);
  }
  tx.act({ kind: "record" });
  lastLookAtRelease(tx);
}

/** After the rollback call (never before it): the release's stopped tasks once more, so the report is complete. */
export function lastLookAtRelease(tx: Tx): void {
  const id = tx.s.release?.id;
  if (id) tx.act({ kind: "list-release-tasks", deploymentId: id });
}

export function newWatch(target: WatchTarget, now: number): Watch {
  return { target: { ...target, exclude: [...target.exclude], ...(target.never ? { never: [...target.never] } : {}) }, startedAt: now, seenTasks: [], failures: [], bakeFrom: null, completedOnce: false, listingOwed: false };
}

/** What a rollback deployment looks like to the watch: the previous revision, new or re-activated since our release. */
export function rollbackTarget(s: State, id: string | null): WatchTarget {
  const never = s.release?.id ? [s.release.id] : [];
  return { id, taskDefinition: s.previous!, exclude: s.before.filter((x) => x !== id), since: s.release?.createdAt ?? null, never };
}

/** After a rollback ECS carries out (which restores only the service revision): put the other settings back. */
export function restoreOutsideRevision(tx: Tx): void {
  const rest = outsideRevision(tx.s.restore);
  if (Object.keys(rest).length === 0) return;
  if (tx.s.aborted && (tx.spec.command === "rollback" || tx.spec.rules.onAbort === "leave")) {
    // After an abort that means "leave" the tool changes nothing more (seed 424242 #132): said, not done.
    const what = `${Object.keys(rest).join(", ")} left as the release set them (aborted: --on-abort leave); put them back with the next release`;
    tx.s.failureReasons.push(`ECS's rollback restored the service revision only; ${what}`);
    tx.emit("warn", "rollback", what);
    return;
  }
  tx.act({ kind: "restore-settings", settings: rest });
  tx.emit("info", "rollback", `putting back what the release changed outside the service revision: ${Object.keys(rest).join(", ")}`);
}

/** Backoff for rollback calls: 1 s, 2 s, 4 s … at most 15 s (deterministic; the SDK adds jitter to its own retries). */
export const backoffMs = (attempt: number): number => Math.min(15_000, 1000 * 2 ** Math.max(0, attempt - 1));

/** The abort grace is over (or the abort means "leave"): say exactly what state the service was left in. */
export function leaveAfterAbort(tx: Tx): void {
  const { s, spec } = tx;
  if (s.phase === "released") return tx.finish({ verdict: "succeeded", exitCode: 0, message: `released ${shortTd(s.newTd)}` });
  const now = s.serviceNow ? ` Service now: ${s.serviceNow}` : "";
  let message: string;
  if (s.phase === "updating") message = `aborted while UpdateService was in flight: whether ${spec.service} moved to ${shortTd(s.newTd)} is unknown.${now}`;
  else if (s.phase === "rolling-back") message = `aborted: the rollback to ${shortTd(s.previous)} was not confirmed by ECS before the abort grace ran out.${now}`;
  else if (s.phase === "rollback-baking") message = `aborted: ${shortTd(s.previous)} is COMPLETED again, but the abort grace ended before its ${seconds(spec.rules.rollbackBakeMs)} bake did.${now}`;
  else if (s.phase === "rollback-watching") message = `aborted: the rollback to ${shortTd(s.previous)} is in progress (${s.rollback?.id ?? "deployment not yet named"}) and no longer watched.${now}`;
  else if (spec.command === "rollback") message = `aborted: the rollback to ${shortTd(s.newTd)} continues (${s.release?.id ?? "deployment"}) without being watched.${now}`;
  else message = `aborted: deployment ${s.release?.id ?? ""} of ${shortTd(s.newTd)} was left in progress (--on-abort leave).${now}`;
  tx.finish({ verdict: "failed", exitCode: 4, message, nextStep: statusHint(spec) });
}
