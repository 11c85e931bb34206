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
 * This file: the lifecycle. The change (re-check, UpdateService): core/rollout-change.ts. Snapshots:
 * core/rollout-watch.ts. Types: core/rollout-state.ts.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { shortTd, seconds } from "./names.js";
import { describeService, onReleaseTasks, onSnapshot, predatesRelease } from "./rollout-watch.js";
import { Tx, backoffMs, initialState, leaveAfterAbort, newWatch, rollbackTarget, startRollback, statusHint, type Action, type CallError, type Observation, type Spec, type State } from "./rollout-state.js";
import { onCheckFailed, onChecked, onUpdateFailed, onUpdated } from "./rollout-change.js";

export * from "./rollout-state.js";
export { listingFor } from "./rollout-watch.js";
export { EMPTY_GRACE_MS, busyDeployment, notATarget } from "./rollout-change.js";

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
  const { s, spec } = tx;
  // After an abort that means "leave" (--on-abort leave, or an aborted manual rollback) nothing is rolled back, atomic
  // or not: a peer the abort left mid-rollout has "failed" only in that sense (seed 777 #120, loaded).
  if (s.aborted && (spec.command === "rollback" || spec.rules.onAbort === "leave")) return;
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
