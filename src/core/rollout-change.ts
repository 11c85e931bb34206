/**
 * The change itself, for the release state machine (core/rollout.ts): the re-check right before UpdateService (is the
 * running revision still a place to come back to? is another deployment in flight?), UpdateService or CreateService,
 * and what their answers mean. Pure.
 */
import type { Deployment, Service } from "@aws-sdk/client-ecs";
import { shortTd } from "./names.js";
import { Tx, backoffMs, leaveAfterAbort, newWatch, startRollback, statusHint, type CallError } from "./rollout-state.js";
import { restoreSettings } from "./service-settings.js";

/** The deployment in flight on a service (several deployments, or one IN_PROGRESS), if any. */
export const busyDeployment = (svc: Service): Deployment | undefined => {
  const deps = svc.deployments ?? [];
  if (deps.length > 1) return deps.find((d) => d.rolloutState === "IN_PROGRESS") ?? deps.find((d) => d.status === "PRIMARY") ?? deps[0];
  return deps.find((d) => d.rolloutState === "IN_PROGRESS");
};

/** Why the service's PRIMARY cannot be what a failed release returns to (it failed, or runs nothing), if it cannot. */
export function notATarget(svc: Service): string | undefined {
  const primary = svc.deployments?.find((d) => d.status === "PRIMARY");
  if (primary?.taskDefinition === undefined) return "has no PRIMARY deployment";
  if (primary.rolloutState === "FAILED") return `runs ${shortTd(primary.taskDefinition)} whose deployment FAILED`;
  // A task being replaced (AZ rebalancing, retirement) leaves a COMPLETED deployment briefly at 0 running, 1 pending.
  const tasks = (primary.runningCount ?? 0) + (primary.rolloutState === "COMPLETED" ? (primary.pendingCount ?? 0) : 0);
  if (tasks === 0 && (svc.desiredCount ?? 0) > 0) return `runs no task of ${shortTd(primary.taskDefinition)} (0/${svc.desiredCount})`;
  return undefined;
}

export function onChecked(tx: Tx, svc: Service | undefined): void {
  const { s, spec } = tx;
  if (s.phase !== "checking") return;
  s.inFlight = false;
  s.retry = null;
  const exists = svc !== undefined && svc.status === "ACTIVE";
  if (spec.creates && !exists) return issueCreate(tx);
  if (!exists) return tx.finish({ verdict: "not-started", exitCode: 5, message: `service ${spec.service} does not exist (any more); nothing was changed` });
  const busy = busyDeployment(svc);
  if (busy !== undefined && spec.command === "deploy") return waitOrRefuse(tx, busy);
  if (busy !== undefined) tx.emit("warn", "check", `deployment ${busy.id} (${shortTd(busy.taskDefinition)}) is in progress: this rollback replaces it`);
  const bad = notATarget(svc);
  const primaryTd = svc.deployments?.find((d) => d.status === "PRIMARY")?.taskDefinition ?? null;
  if (bad !== undefined && spec.command === "deploy" && emptyForAMoment(tx, svc)) return;
  if (bad !== undefined && spec.command === "deploy") {
    return tx.finish({ verdict: "not-started", exitCode: 5, message: `${spec.service} ${bad}: that is not a revision to roll back to, so the release would have no way back; nothing was changed`, nextStep: `make the service healthy first: lgtm-deploy rollback ${spec.component} --to <revision>` });
  }
  s.previous = bad === undefined ? primaryTd : null;
  if (bad !== undefined) tx.emit("warn", "check", `${spec.service} ${bad}: if this rollback fails, there is nothing to return to`);
  if (spec.command === "rollback" && primaryTd === s.newTd) return tx.finish({ verdict: "not-started", exitCode: 5, message: `${spec.service} already runs ${shortTd(s.newTd)}; nothing to roll back` });
  if (spec.plannedPrevious !== null && s.previous !== null && s.previous !== spec.plannedPrevious) {
    tx.emit("warn", "check", `the running revision changed since the plan: ${shortTd(spec.plannedPrevious)} → ${shortTd(s.previous)}`);
  }
  const desired = typeof spec.settings.desiredCount === "number" ? spec.settings.desiredCount : (svc.desiredCount ?? 0);
  if (desired === 0 && !spec.rules.allowZeroDesired) {
    return tx.finish({ verdict: "not-started", exitCode: 5, message: `${spec.service} has desired count 0: nothing would run, so nothing could be verified; nothing was changed (--allow-zero-desired to release anyway)` });
  }
  s.seenEvents = (svc.events ?? []).map((e) => e.id!).filter(Boolean);
  s.restore = restoreSettings(spec.settings, svc);
  s.before = (svc.deployments ?? []).map((d) => d.id!).filter(Boolean);
  issueUpdate(tx, desired);
}

/** How long a COMPLETED PRIMARY that runs nothing is looked at again before it is refused as a rollback target. */
export const EMPTY_GRACE_MS = 5_000;

/**
 * A COMPLETED PRIMARY running no task, no task pending: AWS replacing one (AZ rebalancing, task retirement with a
 * minimum healthy percent of 0 stops the old task before its replacement is placed) looks like this for a moment.
 * Look again at the poll interval for a few seconds (within --timeout) before refusing it as the way back.
 */
function emptyForAMoment(tx: Tx, svc: Service): boolean {
  const { s, spec } = tx;
  const primary = svc.deployments?.find((d) => d.status === "PRIMARY");
  if (primary?.rolloutState !== "COMPLETED" || (primary.runningCount ?? 0) > 0) return false;
  s.emptySince ??= tx.now;
  const next = tx.now + spec.rules.recheckMs;
  if (next - s.emptySince > EMPTY_GRACE_MS || next >= (s.deadline ?? Number.POSITIVE_INFINITY)) return false;
  tx.emit("info", "check", `${spec.service} runs no task of ${shortTd(primary.taskDefinition)} right now: looking again (a task being replaced leaves it empty for a moment)`);
  s.retry = { at: next, attempt: 0, action: { kind: "check" } };
  return true;
}

function issueUpdate(tx: Tx, desired: number): void {
  const { s, spec } = tx;
  s.phase = "updating";
  s.changed = true;
  const back = s.previous === null ? "there is nothing to roll back to" : `it rolls back to ${shortTd(s.previous)}`;
  tx.emit("info", "update", `updating ${shortTd(s.previous)} → ${shortTd(s.newTd)}, desired ${desired}; if this ${spec.command === "rollback" ? "rollback" : "release"} fails, ${back}`, { previous: s.previous, taskDefinition: s.newTd });
  tx.act({ kind: "record" });
  tx.act({ kind: "update", taskDefinition: s.newTd!, settings: spec.settings, create: false });
}

function issueCreate(tx: Tx): void {
  const { s, spec } = tx;
  s.previous = null;
  s.before = [];
  s.phase = "updating";
  s.changed = true;
  tx.emit("warn", "update", `creating service ${spec.service} with ${shortTd(s.newTd)} (first release: there is nothing to roll back to)`);
  tx.act({ kind: "record" });
  tx.act({ kind: "update", taskDefinition: s.newTd!, settings: spec.settings, create: true });
}

function waitOrRefuse(tx: Tx, busy: Deployment): void {
  const { s, spec } = tx;
  const what = `deployment ${busy.id} (${shortTd(busy.taskDefinition)}, rollout ${busy.rolloutState ?? "n/a"}) is in progress`;
  if (!spec.rules.waitForIdle) return tx.finish({ verdict: "not-started", exitCode: 5, message: `${spec.service}: ${what}; nothing was changed (wait for it, or pass --wait-for-idle)` });
  s.deadline ??= tx.now + spec.rules.timeoutMs;
  if (tx.now >= s.deadline) return tx.finish({ verdict: "not-started", exitCode: 5, message: `${spec.service}: gave up waiting for idle: ${what}; nothing was changed` });
  tx.emit("info", "waiting", `waiting for idle: ${what}`);
  s.retry = { at: tx.now + spec.rules.recheckMs, attempt: 0, action: { kind: "check" } };
}

export function onCheckFailed(tx: Tx, e: CallError): void {
  const { s } = tx;
  if (s.phase !== "checking") return;
  s.inFlight = false;
  const attempt = (s.retry?.attempt ?? 0) + 1;
  if (e.definite || attempt > 5) return tx.finish({ verdict: "not-started", exitCode: 5, message: `could not re-check ${tx.spec.service} before updating it: ${e.message}; nothing was changed` });
  s.retry = { at: tx.now + backoffMs(attempt), attempt, action: { kind: "check" } };
}

export function onUpdated(tx: Tx, svc: Service): void {
  const { s, spec } = tx;
  if (s.phase !== "updating") return;
  s.inFlight = false;
  const deps = svc.deployments ?? [];
  const ours = deps.find((d) => d.status === "PRIMARY" && d.taskDefinition === s.newTd && !s.before.includes(d.id ?? "")) ?? deps.find((d) => d.taskDefinition === s.newTd && !s.before.includes(d.id ?? ""));
  s.release = { id: ours?.id ?? null, arn: svc.currentServiceDeployment ?? null, createdAt: ours?.createdAt?.getTime() ?? null };
  // The write's own answer is authoritative: the deployment it replaced that had COMPLETED is what served.
  const served = deps.find((d) => d.id !== ours?.id && d.rolloutState === "COMPLETED" && d.taskDefinition !== undefined);
  if (!spec.creates && served !== undefined && served.taskDefinition !== s.previous && served.taskDefinition !== s.newTd) {
    tx.emit("warn", "update", `ECS says ${shortTd(served.taskDefinition)} was serving; if this release fails, it rolls back to ${shortTd(served.taskDefinition)}`);
    s.previous = served.taskDefinition!;
  }
  s.phase = "watching";
  s.deadline = tx.now + spec.rules.timeoutMs;
  s.watch = newWatch({ id: s.release.id, taskDefinition: s.newTd!, exclude: s.before, since: s.release.createdAt }, tx.now);
  tx.emit("info", "deployment", `deployment ${s.release.id ?? "(not named in the answer)"} started`, { deploymentId: s.release.id, serviceDeployment: s.release.arn });
  tx.act({ kind: "record" });
  const pending = s.rollbackWhenUpdated;
  if (pending === null) return;
  s.rollbackWhenUpdated = null;
  if (s.aborted && (spec.command === "rollback" || spec.rules.onAbort === "leave")) return leaveAfterAbort(tx);
  startRollback(tx, pending);
}

export function onUpdateFailed(tx: Tx, e: CallError): void {
  const { s, spec } = tx;
  if (s.phase !== "updating") return;
  s.inFlight = false;
  if (e.definite) {
    s.changed = false;
    const code = e.name === "InvalidParameterException" || e.name === "ClientException" ? 2 : 5;
    return tx.finish({ verdict: "not-started", exitCode: code, message: `ECS refused ${spec.creates ? "CreateService" : "UpdateService"}: ${e.message}; ${spec.service} was not changed` });
  }
  if (spec.creates || s.previous === null) {
    return tx.finish({ verdict: "failed", exitCode: 4, message: `${spec.creates ? "CreateService" : "UpdateService"} failed (${e.name}: ${e.message}); it may or may not have taken effect`, nextStep: statusHint(spec) });
  }
  // It may have happened: put the previous revision back. Without forceNewDeployment this is a no-op when it did not.
  s.failureReasons.push(`UpdateService failed (${e.name}: ${e.message}); it may or may not have taken effect`);
  tx.emit("warn", "update", `UpdateService failed (${e.name}: ${e.message}); making sure ${shortTd(s.previous)} stays`);
  s.phase = "rolling-back";
  s.deadline = tx.now + spec.rules.rollbackTimeoutMs;
  tx.act({ kind: "update-rollback", taskDefinition: s.previous, settings: s.restore, force: false });
  tx.act({ kind: "record" });
}

