/**
 * The release of one component as a state machine: step(state, observation) → (state, actions). Pure: no I/O, no
 * clock (observations carry `now`); src/engine/driver.ts performs the actions and feeds the results back.
 *
 *   planned ─start→ registering ─registered→ ready ─go→ checking ─checked→ updating ─updated→ watching
 *   watching ─steady→ baking ─bake elapsed→ released ─finish→ done(succeeded, 0)
 *   watching/baking ─failure, timeout, abort, atomic peer failed→ rolling-back ─issued→ rollback-watching
 *   rollback-watching ─steady→ rollback-baking ─bake elapsed→ done(rolled-back, 3)
 *   ECS rolling back by itself (breaker, alarm) → rollback-watching without a call of ours (adopted)
 *   whatever cannot be verified or undone → done(failed, 4), saying the state and what to do next
 *
 * This file: the lifecycle (everything but snapshots). Snapshots: core/rollout-watch.ts. Types: core/rollout-state.ts.
 */
import type { Deployment, Service } from "@aws-sdk/client-ecs";
import { shortTd, seconds } from "./names.js";
import { describeService, onReleaseTasks, onSnapshot, predatesRelease } from "./rollout-watch.js";
import { Tx, backoffMs, initialState, newWatch, rollbackTarget, startRollback, statusHint, type Action, type CallError, type Observation, type Spec, type State } from "./rollout-state.js";
import { restoreSettings } from "./service-settings.js";

export * from "./rollout-state.js";
export { listingFor } from "./rollout-watch.js";

export function step(state: State, obs: Observation, spec: Spec): { state: State; actions: Action[] } {
  const tx = new Tx(structuredClone(state), spec, obs.now);
  // Once done, only what completes the report: late stopped tasks, restored settings, the service's last state.
  if (state.phase !== "done" || obs.kind === "release-tasks" || obs.kind === "settings-restored" || obs.kind === "service-now") handle(tx, obs);
  return { state: tx.s, actions: tx.actions };
}

export { initialState };

function handle(tx: Tx, obs: Observation): void {
  switch (obs.kind) {
    case "start":
      return onStart(tx);
    case "registered":
      return onRegistered(tx, obs.taskDefinitionArn);
    case "register-failed":
      return onRegisterFailed(tx, obs.error);
    case "go":
      return onGo(tx);
    case "cancel":
      return onCancel(tx, obs.message, obs.exitCode);
    case "checked":
      return onChecked(tx, obs.service);
    case "check-failed":
      return onCheckFailed(tx, obs.error);
    case "updated":
      return onUpdated(tx, obs.service);
    case "update-failed":
      return onUpdateFailed(tx, obs.error);
    case "snapshot":
      return onSnapshot(tx, obs);
    case "service-deployment":
      return onServiceDeployment(tx, obs.of, obs.arn);
    case "rollback-issued":
      return onRollbackIssued(tx, obs.via, obs.service);
    case "rollback-failed":
      return onRollbackFailed(tx, obs.via, obs.error);
    case "release-tasks":
      return onReleaseTasks(tx, obs.stoppedTasks);
    case "service-now": {
      const { s } = tx;
      // A stale answer (eventual consistency) may still show the service as it was before the release: it is
      // neither the service's state now nor evidence that the previous revision serves again.
      if (predatesRelease(s, obs.service)) return;
      s.serviceNow = describeService(obs.service);
      const deps = obs.service.deployments ?? [];
      const p = deps.find((d) => d.status === "PRIMARY");
      s.servingPrevious = s.previous !== null && deps.length === 1 && p?.taskDefinition === s.previous && p.rolloutState === "COMPLETED";
      return;
    }
    case "settings-restored":
      if (obs.error) {
        tx.s.failureReasons.push(`the settings the release changed could not all be put back (${obs.error.name}: ${obs.error.message})`);
        tx.emit("warn", "rollback", `could not put the service settings back (${obs.error.name}); check them with lgtm-deploy status`);
      }
      return;
    case "tick":
      return onTick(tx);
    case "abort":
      return onAbort(tx);
    case "peer-failed":
      return onPeerFailed(tx, obs.peer);
    case "finish":
      return onFinish(tx);
  }
}

/** How long a rollback waits for a look at the service after StopServiceDeployment was refused. */
export const LOOK_WAIT_MS = 1_500;

const BEFORE_CHANGE = new Set(["planned", "registering", "ready", "checking"]);

function onStart(tx: Tx): void {
  if (tx.s.phase !== "planned") return;
  // --timeout bounds the whole release, registering and re-checking included.
  tx.s.deadline = tx.now + tx.spec.rules.timeoutMs;
  if (tx.spec.existingTd !== null) {
    tx.s.newTd = tx.spec.existingTd;
    tx.s.phase = "ready";
    return;
  }
  tx.s.phase = "registering";
  tx.act({ kind: "register" });
}

function onRegistered(tx: Tx, arn: string): void {
  if (tx.s.phase !== "registering") return;
  tx.s.inFlight = false;
  tx.s.newTd = arn;
  tx.s.phase = "ready";
  tx.emit("info", "registered", `registered ${shortTd(arn)}`, { taskDefinition: arn });
  tx.act({ kind: "record" });
}

function onRegisterFailed(tx: Tx, e: CallError): void {
  if (tx.s.phase !== "registering") return;
  const code = e.definite ? 2 : 5;
  tx.finish({ verdict: "not-started", exitCode: code, message: `${e.definite ? "ECS rejected the task definition" : "RegisterTaskDefinition failed"}: ${e.message} (no service was changed)` });
}

function onGo(tx: Tx): void {
  if (tx.s.phase !== "ready") return;
  tx.s.phase = "checking";
  tx.act({ kind: "check" });
}

function onCancel(tx: Tx, message: string, exitCode: number): void {
  if (!BEFORE_CHANGE.has(tx.s.phase)) return;
  tx.finish({ verdict: "not-started", exitCode, message });
}

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

function onChecked(tx: Tx, svc: Service | undefined): void {
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

function onCheckFailed(tx: Tx, e: CallError): void {
  const { s } = tx;
  if (s.phase !== "checking") return;
  s.inFlight = false;
  const attempt = (s.retry?.attempt ?? 0) + 1;
  if (e.definite || attempt > 5) return tx.finish({ verdict: "not-started", exitCode: 5, message: `could not re-check ${tx.spec.service} before updating it: ${e.message}; nothing was changed` });
  s.retry = { at: tx.now + backoffMs(attempt), attempt, action: { kind: "check" } };
}

function onUpdated(tx: Tx, svc: Service): void {
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

function onUpdateFailed(tx: Tx, e: CallError): void {
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

function onServiceDeployment(tx: Tx, of: "release" | "rollback", arn: string): void {
  const { s } = tx;
  if (of === "release" && s.release !== null && s.release.arn === null) s.release.arn = arn;
  if (of === "rollback" && s.rollback?.via === "update-service" && s.rollback.arn === null) s.rollback.arn = arn;
}

function onRollbackIssued(tx: Tx, via: "stop-deployment" | "update-service", svc: Service | undefined): void {
  const { s } = tx;
  if (s.rollback?.via === "adopted" && via === "update-service" && (s.phase === "rollback-watching" || s.phase === "rollback-baking")) {
    // Our UpdateService landed after ECS had started its own rollback: the service now rolls out ours; judge that one.
    const dep = svc?.deployments?.find((d) => d.status === "PRIMARY" && d.taskDefinition === s.previous);
    if (dep?.id !== undefined && dep.id === s.rollback.id) {
      s.rollback = { ...s.rollback, by: "lgtm-deploy", via, arn: svc?.currentServiceDeployment ?? s.rollback.arn };
    } else if (dep?.id !== undefined) {
      s.rollback = { id: dep.id, arn: svc?.currentServiceDeployment ?? null, by: "lgtm-deploy", via };
      s.watch = newWatch(rollbackTarget(s, dep.id), tx.now);
      s.phase = "rollback-watching";
      tx.emit("warn", "rollback", `our rollback call landed after ECS's own: watching deployment ${dep.id} (${shortTd(s.previous)})`);
    }
    return;
  }
  if (s.phase !== "rolling-back") return;
  s.inFlight = false;
  s.retry = null;
  if (via === "stop-deployment") {
    // ECS re-activates the deployment that served the previous revision (its old id) or starts a new one.
    s.rollback = { id: null, arn: s.release?.arn ?? null, by: "lgtm-deploy", via };
    s.watch = newWatch(rollbackTarget(s, null), tx.now);
  } else {
    // Without forceNewDeployment (after an UpdateService that may not have happened) the PRIMARY may be the old one.
    const dep = svc?.deployments?.find((d) => d.status === "PRIMARY" && d.taskDefinition === s.previous);
    s.rollback = { id: dep?.id ?? null, arn: svc?.currentServiceDeployment ?? null, by: "lgtm-deploy", via };
    s.watch = newWatch(rollbackTarget(s, dep?.id ?? null), tx.now);
  }
  s.phase = "rollback-watching";
  tx.emit("warn", "rollback", `rollback to ${shortTd(s.previous)} issued${s.rollback.id ? ` (deployment ${s.rollback.id})` : ""}`, { deploymentId: s.rollback.id, via });
  tx.act({ kind: "record" });
}

function onRollbackFailed(tx: Tx, via: "stop-deployment" | "update-service", e: CallError): void {
  const { s, spec } = tx;
  if (s.phase !== "rolling-back") return;
  s.inFlight = false;
  const update: Action = { kind: "update-rollback", taskDefinition: s.previous!, settings: s.restore, force: true };
  if (via === "stop-deployment") {
    // Refused: the deployment completed meanwhile, or ECS is already rolling it back (a breaker tripping at the same
    // moment). One fresh look decides: ECS's rollback is adopted, otherwise UpdateService to the captured revision.
    s.stopRefusedAt = tx.now;
    tx.emit("warn", "rollback", `StopServiceDeployment failed (${e.name}): looking at the service before rolling back with UpdateService`);
    return tx.act({ kind: "look" });
  }
  const attempt = (s.retry?.attempt ?? 0) + 1;
  const at = tx.now + backoffMs(attempt);
  if (at >= (s.deadline ?? 0)) {
    return tx.finish({
      verdict: "failed", exitCode: 4,
      message: `the rollback call failed ${attempt} time(s) (${e.name}: ${e.message}); service now: ${s.serviceNow ?? "unknown"}`,
      nextStep: `lgtm-deploy rollback ${spec.component} --to ${shortTd(s.previous)} --env <env> once the ECS API answers`,
    });
  }
  s.retry = { at, attempt, action: update };
  tx.emit("warn", "rollback", `rollback call failed (${e.name}: ${e.message}); retrying in ${seconds(at - tx.now)} (attempt ${attempt + 1})`);
}

function onTick(tx: Tx): void {
  const { s, spec } = tx;
  if (s.retry !== null && !s.inFlight && tx.now >= s.retry.at) {
    const action = s.retry.action;
    s.retry = { ...s.retry, at: Number.POSITIVE_INFINITY };
    tx.act(action);
  }
  if (s.phase === "released") return;
  if (s.phase === "rolling-back" && s.stopRefusedAt !== null && tx.now >= s.stopRefusedAt + LOOK_WAIT_MS) {
    // No fresh look in time (the reads are throttled or failing): the rollback does not wait for it any longer.
    s.stopRefusedAt = null;
    tx.act({ kind: "update-rollback", taskDefinition: s.previous!, settings: s.restore, force: true });
  }
  if (s.abortDeadline !== null && tx.now >= s.abortDeadline) return leaveAfterAbort(tx);
  if (s.deadline === null || tx.now < s.deadline) return;
  if (BEFORE_CHANGE.has(s.phase)) {
    const why = s.phase === "registering" ? "RegisterTaskDefinition did not succeed" : s.retry?.action.kind === "check" ? "the service did not become idle" : "ECS did not answer";
    return tx.finish({ verdict: "not-started", exitCode: 5, message: `timed out after ${seconds(spec.rules.timeoutMs)} before ${spec.service} was changed (${why}); nothing was changed` });
  }
  if (s.phase === "watching" || s.phase === "baking") return startRollback(tx, `timed out after ${seconds(spec.rules.timeoutMs)}: ${s.serviceNow ?? "no answer from ECS"}`);
  if (s.phase === "rolling-back" && !s.inFlight) {
    return tx.finish({ verdict: "failed", exitCode: 4, message: `the rollback call did not go through before its deadline; ${spec.service} is still on ${shortTd(s.newTd)}`, nextStep: `lgtm-deploy rollback ${spec.component} --to ${shortTd(s.previous)} --env <env>` });
  }
  if (s.phase === "rollback-watching" || s.phase === "rollback-baking") {
    return tx.finish({ verdict: "failed", exitCode: 4, message: `the rollback to ${shortTd(s.previous)} did not finish within --rollback-timeout ${seconds(spec.rules.rollbackTimeoutMs)}: ${s.serviceNow ?? "state unknown"}`, nextStep: statusHint(spec) });
  }
}

/** The abort grace is over (or the abort means "leave"): say exactly what state the service was left in. */
function leaveAfterAbort(tx: Tx): void {
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

function onAbort(tx: Tx): void {
  const { s, spec } = tx;
  if (s.aborted) return;
  s.aborted = true;
  s.abortDeadline = tx.now + spec.rules.abortGraceMs;
  if (BEFORE_CHANGE.has(s.phase)) return tx.finish({ verdict: "not-started", exitCode: 5, message: "aborted (SIGINT/SIGTERM) before the service was changed" });
  if (s.phase === "updating") {
    s.rollbackWhenUpdated = "release aborted (SIGINT/SIGTERM)";
    return;
  }
  if (s.phase === "watching" || s.phase === "baking") {
    if (spec.command === "rollback" || spec.rules.onAbort === "leave") {
      s.failureReasons.push(spec.command === "rollback" ? "rollback aborted (SIGINT/SIGTERM)" : "release aborted (SIGINT/SIGTERM)");
      return leaveAfterAbort(tx);
    }
    return startRollback(tx, "release aborted (SIGINT/SIGTERM)");
  }
  if (s.deadline !== null) s.deadline = Math.min(s.deadline, s.abortDeadline);
}

function onPeerFailed(tx: Tx, peer: string): void {
  const { s } = tx;
  const reason = `rolled back with the atomic release because ${peer} failed`;
  if (BEFORE_CHANGE.has(s.phase)) return tx.finish({ verdict: "not-started", exitCode: 5, message: `not started: ${peer} failed and the release is atomic` });
  if (s.phase === "updating") {
    s.rollbackWhenUpdated ??= reason;
    return;
  }
  if (s.phase === "watching" || s.phase === "baking" || s.phase === "released") {
    tx.emit("warn", "atomic", `${peer} failed and the release is atomic: rolling back ${tx.spec.component} too`);
    startRollback(tx, reason);
  }
}

function onFinish(tx: Tx): void {
  const { s, spec } = tx;
  if (s.phase !== "released") return;
  tx.finish({ verdict: "succeeded", exitCode: 0, message: `released ${shortTd(s.newTd)}: ${s.serviceNow ?? "steady"}${spec.rules.bakeMs > 0 ? `, healthy for ${seconds(spec.rules.bakeMs)}` : ""}` });
}
