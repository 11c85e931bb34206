/**
 * The release state machine, transition by transition: every phase × every observation that matters, as a table.
 * Pure: no emulator, no clock.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import type { Deployment, Service, ServiceDeployment } from "@aws-sdk/client-ecs";
import { initialState, listingFor, step, type Action, type Observation, type Phase, type Spec, type State } from "../src/core/rollout.js";
import type { StoppedTask } from "../src/core/verdict.js";
import { buildRecord, failureReport } from "../src/engine/report.js";

const ARN = (rev: number) => `arn:aws:ecs:us-east-1:000000000000:task-definition/lgtm-loki:${rev}`;
const OLD = ARN(6);
const NEW = ARN(7);
const SD = "arn:aws:ecs:us-east-1:000000000000:service-deployment/lgtm/lgtm-loki/AbCdEfGhIjKlMnOpQrStU";

const RULES: Spec["rules"] = {
  maxFailedTasks: 2, failFast: true, timeoutMs: 600_000, bakeMs: 60_000, rollback: true, rollbackTimeoutMs: 300_000,
  rollbackBakeMs: 60_000, onAbort: "rollback", abortGraceMs: 3_000, allowZeroDesired: false, waitForIdle: false, recheckMs: 5_000,
};
const SPEC: Spec = { component: "loki", service: "lgtm-loki", command: "deploy", existingTd: null, creates: false, settings: {}, plannedPrevious: OLD, rules: RULES };

const dep = (d: Partial<Deployment>): Deployment => ({ id: "ecs-svc/7", status: "PRIMARY", taskDefinition: NEW, desiredCount: 2, runningCount: 0, pendingCount: 0, failedTasks: 0, rolloutState: "IN_PROGRESS", ...d });
const oldDep = (d: Partial<Deployment> = {}): Deployment => dep({ id: "ecs-svc/6", taskDefinition: OLD, rolloutState: "COMPLETED", runningCount: 2, ...d });
const svc = (deployments: Deployment[], extra: Partial<Service> = {}): Service => ({ serviceName: "lgtm-loki", status: "ACTIVE", desiredCount: 2, deployments, ...extra });
const idle = svc([oldDep()]);
const afterUpdate = svc([dep({}), oldDep({ status: "ACTIVE" })], { currentServiceDeployment: SD });
const sd = (status: string, extra: Partial<ServiceDeployment> = {}): ServiceDeployment => ({ serviceDeploymentArn: SD, status: status as ServiceDeployment["status"], ...extra });
const task = (id: string, kind: "none" | "transient" | "deterministic", extra: Partial<StoppedTask> = {}): StoppedTask => ({
  taskArn: `arn:aws:ecs:us-east-1:000000000000:task/lgtm/${id}`, taskId: id, containers: [], failed: kind !== "none",
  classification: { kind, code: kind === "none" ? "ServiceSchedulerInitiated" : "EssentialContainerExited", cause: kind === "none" ? "scale-in" : kind === "deterministic" ? "quick-crash" : "crash", summary: `${id} ${kind}` },
  ...extra,
});
const snap = (now: number, service: Service | undefined, o: { deployments?: ServiceDeployment[]; tasks?: StoppedTask[]; listing?: "done" | "failed" | "skipped" } = {}): Observation => ({
  kind: "snapshot", now, service, deployments: o.deployments ?? [], stoppedTasks: o.tasks ?? [], listing: o.listing ?? "done",
});
const err = (name: string, definite: boolean) => ({ name, message: `${name} happened`, definite });

function drive(obs: Observation[], spec: Spec = SPEC, from: State = initialState()): { state: State; actions: Action[] } {
  let state = from;
  let actions: Action[] = [];
  for (const o of obs) ({ state, actions } = step(state, o, spec));
  return { state, actions };
}

/** Observation sequences that bring a deploy of loki to each phase. */
const TO: Record<string, Observation[]> = {
  planned: [],
  registering: [{ kind: "start", now: 0 }],
  ready: [{ kind: "start", now: 0 }, { kind: "registered", now: 1, taskDefinitionArn: NEW }],
  checking: [{ kind: "start", now: 0 }, { kind: "registered", now: 1, taskDefinitionArn: NEW }, { kind: "go", now: 2 }],
};
TO.updating = [...TO.checking!, { kind: "checked", now: 3, service: idle }];
TO.watching = [...TO.updating!, { kind: "updated", now: 4, service: afterUpdate }];
const completed = svc([dep({ rolloutState: "COMPLETED", runningCount: 2 })]);
TO.baking = [...TO.watching!, snap(1000, completed)];
TO.released = [...TO.baking!, snap(61_000, completed)];
TO["rolling-back"] = [...TO.watching!, { kind: "abort", now: 2000 }];
TO["released/aborted"] = [...TO.released!, { kind: "abort", now: 61_500 }];
TO["rolling-back/update"] = [...TO.baking!, { kind: "peer-failed", now: 2000, peer: "tempo" }];
TO["rollback-watching"] = [...TO["rolling-back"]!, { kind: "rollback-issued", now: 2100, via: "stop-deployment" }];
const rolledBack = svc([oldDep({ id: "ecs-svc/8", rolloutState: "IN_PROGRESS", runningCount: 1 }), dep({ status: "ACTIVE", rolloutState: "FAILED" })]);
TO["rollback-watching/peer"] = [...TO["rolling-back/update"]!, { kind: "rollback-issued", now: 2100, via: "update-service", service: svc([oldDep({ id: "ecs-svc/8", rolloutState: "IN_PROGRESS" }), dep({ status: "ACTIVE" })]) }];
TO["rolling-back/refused"] = [...TO["rolling-back"]!, { kind: "rollback-failed", now: 2100, via: "stop-deployment", error: err("ConflictException", true) }];
TO["rollback-baking"] = [...TO["rollback-watching"]!, snap(3000, svc([oldDep({ id: "ecs-svc/8" })]))];

/** The calls a transition makes (progress lines, records and the report's last look at the release left out). */
const kinds = (actions: Action[]) => actions.filter((a) => a.kind !== "emit" && a.kind !== "record" && a.kind !== "list-release-tasks").map((a) => a.kind);
const messages = (actions: Action[]) => actions.filter((a): a is Extract<Action, { kind: "emit" }> => a.kind === "emit").map((a) => a.message).join("\n");

interface Case {
  name: string;
  from: string;
  obs: Observation;
  spec?: Partial<Spec> | ((s: Spec) => Spec);
  phase: Phase;
  actions?: string[];
  exit?: number;
  says?: RegExp;
}

const withRules = (r: Partial<Spec["rules"]>) => (s: Spec): Spec => ({ ...s, rules: { ...s.rules, ...r } });

const CASES: Case[] = [
  // planned / registering / ready
  { name: "start registers the new revision", from: "planned", obs: { kind: "start", now: 0 }, phase: "registering", actions: ["register"] },
  { name: "start of a manual rollback registers nothing", from: "planned", obs: { kind: "start", now: 0 }, spec: { command: "rollback", existingTd: OLD }, phase: "ready", actions: [] },
  { name: "registered → ready", from: "registering", obs: { kind: "registered", now: 1, taskDefinitionArn: NEW }, phase: "ready", says: /registered lgtm-loki:7/ },
  { name: "ECS rejects the task definition → exit 2, nothing changed", from: "registering", obs: { kind: "register-failed", now: 1, error: err("ClientException", true) }, phase: "done", exit: 2, says: /ECS rejected the task definition/ },
  { name: "register throttled past retries → exit 5", from: "registering", obs: { kind: "register-failed", now: 1, error: err("ThrottlingException", false) }, phase: "done", exit: 5 },
  { name: "go → re-check the service before updating", from: "ready", obs: { kind: "go", now: 2 }, phase: "checking", actions: ["check"] },
  { name: "cancel before any change", from: "ready", obs: { kind: "cancel", now: 2, message: "tempo was rejected", exitCode: 2 }, phase: "done", exit: 2 },
  { name: "abort before any change → exit 5", from: "ready", obs: { kind: "abort", now: 2 }, phase: "done", exit: 5, says: /before the service was changed/ },
  // checking
  { name: "checked idle service → UpdateService, says where it would roll back to", from: "checking", obs: { kind: "checked", now: 3, service: idle }, phase: "updating", actions: ["update"], says: /if this release fails, it rolls back to lgtm-loki:6/ },
  { name: "service gone since the plan → exit 5", from: "checking", obs: { kind: "checked", now: 3, service: undefined }, phase: "done", exit: 5 },
  { name: "--create-missing: CreateService, nothing to roll back to", from: "checking", obs: { kind: "checked", now: 3, service: undefined }, spec: { creates: true }, phase: "updating", actions: ["update"], says: /first release/ },
  { name: "a deployment started since the plan → exit 5", from: "checking", obs: { kind: "checked", now: 3, service: svc([dep({ id: "ecs-svc/5", taskDefinition: ARN(8) }), oldDep({ status: "ACTIVE" })]) }, phase: "done", exit: 5, says: /in progress/ },
  { name: "--wait-for-idle: waits and re-checks", from: "checking", obs: { kind: "checked", now: 3, service: svc([dep({ id: "ecs-svc/5", taskDefinition: ARN(8) })]) }, spec: withRules({ waitForIdle: true }), phase: "checking", says: /waiting for idle/ },
  { name: "FAILED primary is not a rollback target → exit 5 naming rollback --to", from: "checking", obs: { kind: "checked", now: 3, service: svc([oldDep({ rolloutState: "FAILED" })]) }, phase: "done", exit: 5, says: /rollback loki --to/ },
  { name: "a COMPLETED primary whose task is being replaced (0 running, 1 pending: AZ rebalancing) is still a target", from: "checking", obs: { kind: "checked", now: 3, service: svc([oldDep({ runningCount: 0, pendingCount: 1 })]) }, phase: "updating" },
  { name: "empty COMPLETED primary (0 running): looked at again (a task being replaced)", from: "checking", obs: { kind: "checked", now: 3, service: svc([oldDep({ runningCount: 0 })]) }, phase: "checking", actions: [], says: /looking again/ },
  { name: "desired count 0 → exit 5 unless allowed", from: "checking", obs: { kind: "checked", now: 3, service: svc([oldDep({ desiredCount: 0, runningCount: 0 })], { desiredCount: 0 }) }, phase: "done", exit: 5, says: /desired count 0/ },
  { name: "desired count 0 allowed with --allow-zero-desired", from: "checking", obs: { kind: "checked", now: 3, service: svc([oldDep({ desiredCount: 0, runningCount: 0 })], { desiredCount: 0 }) }, spec: withRules({ allowZeroDesired: true }), phase: "updating" },
  { name: "the running revision changed since the plan: captured anew", from: "checking", obs: { kind: "checked", now: 3, service: svc([oldDep({ taskDefinition: ARN(8) })]) }, phase: "updating", says: /changed since the plan: lgtm-loki:6 → lgtm-loki:8/ },
  { name: "--timeout passes while registering → exit 5, nothing changed", from: "registering", obs: { kind: "tick", now: 600_000 }, phase: "done", exit: 5, says: /RegisterTaskDefinition did not succeed/ },
  { name: "--timeout passes while re-checking → exit 5, nothing changed", from: "checking", obs: { kind: "tick", now: 600_001 }, phase: "done", exit: 5, says: /before lgtm-loki was changed/ },
  { name: "--wait-for-idle gives up at --timeout", from: "checking", obs: { kind: "checked", now: 600_001, service: svc([dep({ id: "ecs-svc/5", taskDefinition: ARN(8) })]) }, spec: withRules({ waitForIdle: true }), phase: "done", exit: 5, says: /gave up waiting for idle/ },
  { name: "check call fails (throttled): retried later", from: "checking", obs: { kind: "check-failed", now: 3, error: err("ThrottlingException", false) }, phase: "checking" },
  // updating
  { name: "updated → watching the new deployment", from: "updating", obs: { kind: "updated", now: 4, service: afterUpdate }, phase: "watching", says: /deployment ecs-svc\/7 started/ },
  { name: "UpdateService refused (definite) → exit 2, not changed", from: "updating", obs: { kind: "update-failed", now: 4, error: err("InvalidParameterException", true) }, phase: "done", exit: 2, says: /was not changed/ },
  { name: "UpdateService ambiguous (5xx) → restore the previous revision without a new deployment", from: "updating", obs: { kind: "update-failed", now: 4, error: err("ServerException", false) }, phase: "rolling-back", actions: ["update-rollback"] },
  { name: "abort while UpdateService is in flight → rollback once it answers", from: "updating", obs: { kind: "abort", now: 4 }, phase: "updating", actions: [] },
  // watching
  { name: "in progress → keep watching", from: "watching", obs: snap(1000, svc([dep({ runningCount: 1, pendingCount: 1 }), oldDep({ status: "ACTIVE" })])), phase: "watching", says: /lgtm-loki:7 rollout IN_PROGRESS \(PRIMARY\): 1\/2 running, 1 pending, 0 failed/ },
  { name: "stale read right after the update (ours invisible, old PRIMARY) is not a rollback", from: "watching", obs: snap(1000, idle), phase: "watching", actions: [] },
  { name: "service missing from a read proves nothing", from: "watching", obs: snap(1000, undefined), phase: "watching", actions: [] },
  { name: "COMPLETED → baking", from: "watching", obs: snap(1000, completed), phase: "baking", says: /baking for 1m/ },
  { name: "COMPLETED with a zero bake → released at once", from: "watching", obs: snap(1000, completed), spec: withRules({ bakeMs: 0 }), phase: "released" },
  { name: "one transient failure is counted, not fatal", from: "watching", obs: snap(1000, afterUpdate, { tasks: [task("a1", "transient")] }), phase: "watching", says: /task a1 stopped: a1 transient \(transient failure\)/ },
  { name: "a deterministic first failure fails at once (StopServiceDeployment while in progress)", from: "watching", obs: snap(1000, afterUpdate, { tasks: [task("d1", "deterministic")] }), phase: "rolling-back", actions: ["stop-deployment"], says: /deterministic/ },
  { name: "--no-fail-fast: a deterministic failure only counts", from: "watching", obs: snap(1000, afterUpdate, { tasks: [task("d1", "deterministic")] }), spec: withRules({ failFast: false }), phase: "watching" },
  { name: "scheduler stops are never failures", from: "watching", obs: snap(1000, afterUpdate, { tasks: [task("s1", "none"), task("s2", "none"), task("s3", "none")] }), phase: "watching", says: /not counted as a failure/ },
  { name: "ECS marks our rollout FAILED (no newcomer yet) → we roll back", from: "watching", obs: snap(1000, svc([dep({ rolloutState: "FAILED", rolloutStateReason: "tasks failed to start" })])), phase: "rolling-back", says: /FAILED: tasks failed to start/ },
  { name: "breaker rollback (service deployment ROLLBACK_IN_PROGRESS) → adopted, no call", from: "watching", obs: snap(1000, rolledBack, { deployments: [sd("ROLLBACK_IN_PROGRESS", { deploymentCircuitBreaker: { status: "TRIGGERED", failureCount: 2, threshold: 2 }, rollback: { reason: "circuit breaker" } })] }), phase: "rollback-watching", actions: [], says: /ecs-circuit-breaker/ },
  { name: "breaker TRIGGERED on a deployment set to roll back (status not yet ROLLBACK_*): ECS's action, adopted", from: "watching", obs: snap(1000, afterUpdate, { deployments: [sd("IN_PROGRESS", { deploymentCircuitBreaker: { status: "TRIGGERED", failureCount: 2, threshold: 2 }, deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } } })] }), phase: "rollback-watching", actions: [] },
  { name: "breaker TRIGGERED without rollback (rollback: false): not adopted", from: "watching", obs: snap(1000, afterUpdate, { deployments: [sd("IN_PROGRESS", { deploymentCircuitBreaker: { status: "TRIGGERED", failureCount: 2, threshold: 2 }, deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } } })] }), phase: "watching" },
  { name: "alarm rollback is reported as such", from: "watching", obs: snap(1000, rolledBack, { deployments: [sd("ROLLBACK_IN_PROGRESS", { alarms: { status: "TRIGGERED", triggeredAlarmNames: ["loki-5xx"] } })] }), phase: "rollback-watching", says: /alarm loki-5xx fired/ },
  { name: "breaker rollback seen only in DescribeServices (ours FAILED + newer PRIMARY on the previous revision) → adopted", from: "watching", obs: snap(1000, rolledBack), phase: "rollback-watching", actions: [] },
  { name: "someone else's deployment mid-watch → exit 4, not undone", from: "watching", obs: snap(1000, svc([dep({ id: "ecs-svc/9", taskDefinition: ARN(9) }), dep({ status: "ACTIVE" })])), phase: "done", exit: 4, actions: ["tag"], says: /does not undo a deployment it did not start/ },
  { name: "service deleted → exit 4", from: "watching", obs: snap(1000, svc([], { status: "DRAINING" })), phase: "done", exit: 4 },
  { name: "timeout → rollback", from: "watching", obs: { kind: "tick", now: 700_000 }, phase: "rolling-back", says: /timed out after 10m/ },
  { name: "abort → rollback at once (StopServiceDeployment: the deployment is in progress)", from: "watching", obs: { kind: "abort", now: 2000 }, phase: "rolling-back", actions: ["stop-deployment"] },
  { name: "abort with --on-abort leave → exit 4", from: "watching", obs: { kind: "abort", now: 2000 }, spec: withRules({ onAbort: "leave" }), phase: "done", exit: 4, says: /left in progress/ },
  { name: "abort of a manual rollback leaves the service on the rollback target", from: "watching", obs: { kind: "abort", now: 2000 }, spec: { command: "rollback", existingTd: NEW }, phase: "done", exit: 4, says: /continues/ },
  { name: "atomic peer failed → rollback", from: "watching", obs: { kind: "peer-failed", now: 2000, peer: "tempo" }, phase: "rolling-back", says: /atomic/ },
  { name: "--no-rollback: failure → exit 4", from: "watching", obs: snap(1000, afterUpdate, { tasks: [task("d1", "deterministic")] }), spec: withRules({ rollback: false }), phase: "done", exit: 4 },
  // baking
  { name: "bake not over → still baking", from: "baking", obs: snap(30_000, completed), phase: "baking", actions: [] },
  { name: "bake over, last listing done → released", from: "baking", obs: snap(61_000, completed), phase: "released" },
  { name: "bake over but no final listing yet → wait for it", from: "baking", obs: snap(61_000, completed, { listing: "skipped" }), phase: "baking" },
  { name: "bake over, but the final listing found a task still stopping → wait: it may be a failure (seed 20261130 #38)", from: "baking", obs: { ...snap(61_000, completed), stopping: 1 } as Observation, phase: "baking", actions: [] },
  { name: "a crash after COMPLETED (during the bake) fails the release → UpdateService rollback", from: "baking", obs: snap(30_000, svc([dep({ rolloutState: "COMPLETED", runningCount: 1 })]), { tasks: [task("late", "transient")] }), phase: "rolling-back", actions: ["update-rollback"], says: /after the deployment COMPLETED \(during the bake\)/ },
  { name: "leaving steady state restarts the bake", from: "baking", obs: snap(30_000, svc([dep({ rolloutState: "COMPLETED", runningCount: 1 })])), phase: "watching", says: /bake starts again/ },
  { name: "alarm fires during the bake → ECS's rollback adopted", from: "baking", obs: snap(30_000, rolledBack, { deployments: [sd("ROLLBACK_IN_PROGRESS", { alarms: { status: "TRIGGERED", triggeredAlarmNames: ["p99"] } })] }), phase: "rollback-watching" },
  // released
  { name: "finish → succeeded, exit 0, outcome tagged", from: "released", obs: { kind: "finish", now: 70_000 }, phase: "done", exit: 0, actions: ["tag"] },
  { name: "atomic peer failed after release → rollback", from: "released", obs: { kind: "peer-failed", now: 70_000, peer: "mimir" }, phase: "rolling-back", actions: ["update-rollback"] },
  { name: "abort after release changes nothing", from: "released", obs: { kind: "abort", now: 70_000 }, phase: "released" },
  { name: "released stays watched: a crash of the new revision while others finish → rollback", from: "released", obs: snap(70_000, completed, { tasks: [task("late1", "deterministic")] }), phase: "rolling-back", actions: ["update-rollback"], says: /late1/ },
  { name: "released leaves steady state → watching again (the bake restarts)", from: "released", obs: snap(70_000, svc([dep({ rolloutState: "COMPLETED", runningCount: 1, pendingCount: 1 })])), phase: "watching", says: /bake starts again/ },
  { name: "released and steady → stays released", from: "released", obs: snap(70_000, completed), phase: "released", actions: [] },
  // rolling-back
  { name: "StopServiceDeployment accepted → rollback-watching", from: "rolling-back", obs: { kind: "rollback-issued", now: 2100, via: "stop-deployment" }, phase: "rollback-watching", says: /rollback to lgtm-loki:6 issued/ },
  { name: "StopServiceDeployment refused (completed meanwhile, or ECS already rolling back) → a look at the service first", from: "rolling-back", obs: { kind: "rollback-failed", now: 2100, via: "stop-deployment", error: err("ConflictException", true) }, phase: "rolling-back", actions: ["look"], says: /looking at the service/ },
  { name: "after the refusal, the look shows ECS rolling back → adopted, no UpdateService over it", from: "rolling-back/refused", obs: { ...snap(2300, rolledBack, { deployments: [sd("ROLLBACK_IN_PROGRESS", { deploymentCircuitBreaker: { status: "TRIGGERED", failureCount: 2, threshold: 2 } })] }), polledAt: 2200 } as Observation, phase: "rollback-watching", actions: [], says: /watching that rollback/ },
  { name: "after the refusal, the look shows the release COMPLETED (no rollback by ECS) → UpdateService rollback", from: "rolling-back/refused", obs: { ...snap(2300, completed, { deployments: [sd("SUCCESSFUL")] }), polledAt: 2200 } as Observation, phase: "rolling-back", actions: ["update-rollback"] },
  { name: "after the refusal, a look taken before it decides nothing", from: "rolling-back/refused", obs: { ...snap(2300, completed), polledAt: 2000 } as Observation, phase: "rolling-back", actions: [] },
  { name: "--on-abort leave: after the abort, a peer's failure (the abort left it mid-rollout) rolls nothing back (seed 777 #120)", from: "released/aborted", obs: { kind: "peer-failed", now: 62_000, peer: "mimir" }, spec: withRules({ onAbort: "leave" }), phase: "released", actions: [] },
  { name: "--on-abort rollback: after the abort, a peer's failure still rolls back (atomic)", from: "released/aborted", obs: { kind: "peer-failed", now: 62_000, peer: "mimir" }, phase: "rolling-back", actions: ["update-rollback"] },
  // Partial snapshots: DescribeServices answered while DescribeServiceDeployments was still out (engine/poller.ts).
  { name: "after the refusal, a partial look (its service deployments unread) decides nothing", from: "rolling-back/refused", obs: { ...snap(2300, completed), polledAt: 2200, partial: true } as Observation, phase: "rolling-back", actions: [] },
  { name: "bake over and listed, but the snapshot is partial → still baking (the service deployment may say otherwise)", from: "baking", obs: { ...snap(61_000, completed), partial: true } as Observation, phase: "baking", actions: [] },
  { name: "a partial snapshot showing ECS's rollback (DescribeServices alone) → adopted at once", from: "watching", obs: { ...snap(2000, rolledBack), partial: true } as Observation, phase: "rollback-watching", actions: [], says: /watching that rollback/ },
  { name: "rollback's bake over, but the snapshot is partial → still baking", from: "rollback-baking", obs: { ...snap(63_000, svc([oldDep({ id: "ecs-svc/8" })])), partial: true } as Observation, phase: "rollback-baking", actions: [] },
  { name: "after the refusal, no look in time → UpdateService rollback anyway", from: "rolling-back/refused", obs: { kind: "tick", now: 2100 + 1_500 }, phase: "rolling-back", actions: ["update-rollback"] },
  { name: "rollback call throttled → retried with backoff", from: "rolling-back/update", obs: { kind: "rollback-failed", now: 2100, via: "update-service", error: err("ThrottlingException", false) }, phase: "rolling-back", says: /retrying in 1s/ },
  { name: "rollback call still failing at its deadline → exit 4 with what to do", from: "rolling-back/update", obs: { kind: "rollback-failed", now: 2000 + 299_500, via: "update-service", error: err("ServerException", false) }, phase: "done", exit: 4, says: /lgtm-deploy rollback loki --to lgtm-loki:6/ },
  { name: "abort grace over before ECS confirmed the rollback → exit 4", from: "rolling-back", obs: { kind: "tick", now: 5001 }, phase: "done", exit: 4, says: /not confirmed/ },
  // rollback-watching / baking
  { name: "rollback in progress → keep watching", from: "rollback-watching", obs: snap(2500, rolledBack), phase: "rollback-watching" },
  { name: "rollback COMPLETED → rollback-baking", from: "rollback-watching", obs: snap(2500, svc([oldDep({ id: "ecs-svc/8" })])), phase: "rollback-baking" },
  { name: "ECS reports ROLLBACK_FAILED and the rollback deployment FAILED → exit 4", from: "rollback-watching", obs: snap(2500, svc([oldDep({ id: "ecs-svc/8", rolloutState: "FAILED", runningCount: 0 }), dep({ status: "ACTIVE", rolloutState: "FAILED" })]), { deployments: [sd("ROLLBACK_FAILED")] }), phase: "done", exit: 4 },
  { name: "ECS reports ROLLBACK_FAILED but DescribeServices did not answer this time: no decision on half a snapshot", from: "rollback-watching", obs: snap(2500, undefined, { deployments: [sd("ROLLBACK_FAILED")] }), phase: "rollback-watching" },
  { name: "ECS reports ROLLBACK_FAILED while the rollback deployment runs on: judged by the deployment itself", from: "rollback-watching", obs: snap(2500, rolledBack, { deployments: [sd("ROLLBACK_FAILED")] }), phase: "rollback-watching", says: /judging that deployment itself/ },
  { name: "the previous revision crashes too → exit 4", from: "rollback-watching", obs: snap(2500, rolledBack, { tasks: [task("o1", "transient"), task("o2", "transient")] }), phase: "done", exit: 4, says: /2 task\(s\) of lgtm-loki:6 failed/ },
  { name: "a deployment of the same previous revision takes over the rollback (ECS's own, same moment) → followed, not foreign", from: "rollback-watching/peer", obs: snap(2500, svc([oldDep({ id: "ecs-svc/10", rolloutState: "IN_PROGRESS", runningCount: 0, createdAt: new Date(2400) }), oldDep({ id: "ecs-svc/8", status: "ACTIVE", rolloutState: "IN_PROGRESS" }), dep({ status: "ACTIVE", rolloutState: "FAILED" })])), phase: "rollback-watching", actions: [], says: /ecs-svc\/10 of lgtm-loki:6 took over/ },
  { name: "someone else's deployment replaces the rollback → exit 4", from: "rollback-watching", obs: snap(2500, svc([dep({ id: "ecs-svc/9", taskDefinition: ARN(9) })])), phase: "done", exit: 4 },
  { name: "rollback deadline → exit 4", from: "rollback-watching/peer", obs: { kind: "tick", now: 2000 + 300_001 }, phase: "done", exit: 4, says: /did not finish within --rollback-timeout 5m/ },
  { name: "rollback baked → exit 3", from: "rollback-baking", obs: snap(64_000, svc([oldDep({ id: "ecs-svc/8" })])), phase: "done", exit: 3, says: /lgtm-loki:6 is serving again/ },
  { name: "a failure of the previous revision during its bake → exit 4", from: "rollback-baking", obs: snap(4000, svc([oldDep({ id: "ecs-svc/8", runningCount: 1 })]), { tasks: [task("o3", "transient")] }), phase: "done", exit: 4 },
  // done
  { name: "done ignores everything", from: "released", obs: { kind: "finish", now: 1 }, phase: "done" },
];

describe("rollout state machine: phase × observation", () => {
  for (const c of CASES) {
    test(`${c.from}: ${c.name}`, () => {
      const spec = typeof c.spec === "function" ? c.spec(SPEC) : { ...SPEC, ...c.spec };
      const startSpec = spec.command === "rollback" ? spec : SPEC;
      const from = drive(TO[c.from]!, startSpec);
      if (c.from !== "planned") assert.equal(from.state.phase, c.from.split("/")[0], `setup reached ${from.state.phase}`);
      const { state, actions } = step(from.state, c.obs, spec);
      assert.equal(state.phase, c.phase, messages(actions));
      if (c.actions) assert.deepEqual(kinds(actions), c.actions);
      if (c.exit !== undefined) assert.equal(state.outcome?.exitCode, c.exit, state.outcome?.message);
      if (c.says) assert.match(messages(actions), c.says);
    });
  }
});

describe("rollout state machine: ECS re-activates the old deployment (same id) — telling it from a stale read", () => {
  const T0 = Date.parse("2026-01-01T00:00:00Z");
  const at = (ms: number) => new Date(T0 + ms);
  // Timestamps come from ECS: our deployment was created at T0 + 10 s.
  const ours = (d: Partial<Deployment> = {}) => dep({ createdAt: at(10_000), updatedAt: at(10_000), ...d });
  const old = (d: Partial<Deployment> = {}) => oldDep({ createdAt: at(0), updatedAt: at(1_000), ...d });
  const updated = svc([ours(), old({ status: "ACTIVE", updatedAt: at(10_000) })], { currentServiceDeployment: SD });
  const toWatching = [...TO.updating!, { kind: "updated", now: 4, service: updated } as Observation];

  test("the breaker re-activates ecs-svc/6 (updated after our release): adopted, judged, exit 3", () => {
    const reactivated = old({ rolloutState: "IN_PROGRESS", runningCount: 1, updatedAt: at(20_000) });
    let { state, actions } = drive([...toWatching, snap(100, svc([reactivated, ours({ status: "ACTIVE", rolloutState: "FAILED" })]), { deployments: [sd("ROLLBACK_IN_PROGRESS", { deploymentCircuitBreaker: { status: "TRIGGERED", failureCount: 2, threshold: 2 } })] })]);
    assert.equal(state.phase, "rollback-watching", messages(actions));
    assert.equal(state.rollback?.by, "ecs-circuit-breaker");
    assert.equal(state.rollback?.id, "ecs-svc/6");
    ({ state } = step(state, snap(200, svc([old({ updatedAt: at(25_000) })])), SPEC));
    assert.equal(state.phase, "rollback-baking");
    ({ state } = step(state, snap(61_000, svc([old({ updatedAt: at(25_000) })])), SPEC));
    assert.equal(state.outcome?.exitCode, 3);
  });

  test("a stale read of the same deployment (updated before our release) is not a rollback", () => {
    const { state, actions } = drive([...toWatching, snap(100, svc([old()]))]);
    assert.equal(state.phase, "watching", messages(actions));
  });

  test("after our StopServiceDeployment, a stale read showing our own deployment as PRIMARY is not someone else's", () => {
    let { state } = drive([...toWatching, { kind: "abort", now: 50 }]);
    assert.equal(state.phase, "rolling-back");
    ({ state } = step(state, { kind: "rollback-issued", now: 60, via: "stop-deployment" }, SPEC));
    const r = step(state, snap(100, svc([ours({ updatedAt: at(12_000) }), old({ status: "ACTIVE", updatedAt: at(10_000) })])), SPEC);
    assert.equal(r.state.phase, "rollback-watching", messages(r.actions));
  });
});

describe("rollout state machine: settings outside the service revision", () => {
  const spec: Spec = { ...SPEC, settings: { desiredCount: 3 } };
  test("after a rollback ECS carried out, they are put back only once it is verified (never during ECS's rollback)", () => {
    let { state, actions } = drive([...TO.updating!.slice(0, -1), { kind: "checked", now: 3, service: idle }, { kind: "updated", now: 4, service: afterUpdate }, { kind: "abort", now: 2000 }], spec);
    assert.deepEqual(state.restore, { desiredCount: 2 });
    ({ state, actions } = step(state, { kind: "rollback-issued", now: 2100, via: "stop-deployment" }, spec));
    assert.ok(!actions.some((a) => a.kind === "restore-settings"), "not while the rollback runs");
    ({ state } = step(state, snap(2500, svc([oldDep({ id: "ecs-svc/8" })])), spec));
    ({ state, actions } = step(state, snap(63_000, svc([oldDep({ id: "ecs-svc/8" })])), spec));
    assert.equal(state.outcome?.exitCode, 3);
    assert.deepEqual(actions.filter((a) => a.kind === "restore-settings"), [{ kind: "restore-settings", settings: { desiredCount: 2 } }]);
    // Its answer still reaches the report after the outcome.
    ({ state } = step(state, { kind: "settings-restored", now: 63_100, error: err("ServerException", false) }, spec));
    assert.match(state.failureReasons.join(), /could not all be put back/);
  });
});

describe("rollout state machine: after an abort that means leave, nothing more is changed", () => {
  const spec: Spec = { ...SPEC, settings: { desiredCount: 3 }, rules: { ...SPEC.rules, onAbort: "leave" } };
  test("ECS's rollback, adopted before the abort, completes: the settings are not put back, and the report says so (seed 424242 #132)", () => {
    let { state } = drive([...TO.updating!.slice(0, -1), { kind: "checked", now: 3, service: idle }, { kind: "updated", now: 4, service: afterUpdate }], spec);
    ({ state } = step(state, snap(1000, rolledBack, { deployments: [sd("ROLLBACK_IN_PROGRESS", { deploymentCircuitBreaker: { status: "TRIGGERED", failureCount: 2, threshold: 2 } })] }), spec));
    assert.equal(state.phase, "rollback-watching");
    ({ state } = step(state, { kind: "abort", now: 1500 }, spec));
    ({ state } = step(state, snap(2000, svc([oldDep({ id: "ecs-svc/8" })])), spec));
    const r = step(state, snap(63_000, svc([oldDep({ id: "ecs-svc/8" })])), spec);
    assert.equal(r.state.outcome?.exitCode, 3, r.state.outcome?.message);
    assert.deepEqual(r.actions.filter((a) => a.kind === "restore-settings"), []);
    assert.match(r.state.failureReasons.join("\n"), /desiredCount left as the release set them \(aborted: --on-abort leave\)/);
  });
});

describe("rollout state machine: our UpdateService rollback lands without its answer", () => {
  test("a deployment of the previous revision, no sign of ECS rolling back: ours — watched as ours, no retry (seed 2027 #120)", () => {
    const { state } = drive(TO["rolling-back/update"]!);
    assert.equal(state.rollbackCall, "update-rollback");
    const r = step(state, snap(2600, svc([oldDep({ id: "ecs-svc/8", rolloutState: "IN_PROGRESS", runningCount: 1, updatedAt: new Date(2500) }), dep({ status: "ACTIVE", rolloutState: "COMPLETED" })])), SPEC);
    assert.equal(r.state.phase, "rollback-watching", messages(r.actions));
    assert.deepEqual({ by: r.state.rollback?.by, via: r.state.rollback?.via, id: r.state.rollback?.id }, { by: "lgtm-deploy", via: "update-service", id: "ecs-svc/8" });
    assert.equal(r.state.retry, null);
    assert.deepEqual(kinds(r.actions), []);
  });

  test("the same, with ECS's breaker evidence: ECS's rollback, adopted as such", () => {
    const { state } = drive(TO["rolling-back/update"]!);
    const r = step(state, snap(2600, rolledBack, { deployments: [sd("ROLLBACK_IN_PROGRESS", { deploymentCircuitBreaker: { status: "TRIGGERED", failureCount: 2, threshold: 2 } })] }), SPEC);
    assert.equal(r.state.phase, "rollback-watching");
    assert.notEqual(r.state.rollback?.by, "lgtm-deploy");
  });
});

describe("rollout state machine: sequences", () => {
  test("the rollback call goes out before anything else; the report's last look at the release comes after it", () => {
    const { actions } = drive([...TO.watching!, { kind: "abort", now: 2000 }]);
    const order = actions.filter((a) => a.kind !== "emit").map((a) => a.kind);
    assert.deepEqual(order, ["stop-deployment", "record", "list-release-tasks"]);
  });

  test("the release's stopped tasks seen after the watch moved on are reported (not judged): the counts agree", () => {
    let { state } = drive(TO["rollback-watching"]!);
    ({ state } = step(state, { kind: "release-tasks", now: 2200, stoppedTasks: [task("late1", "transient"), task("late2", "deterministic")] }, SPEC));
    assert.equal(state.phase, "rollback-watching");
    assert.deepEqual(state.stoppedTasks.map((t) => t.taskId), ["late1", "late2"]);
    ({ state } = step(state, { kind: "release-tasks", now: 2300, stoppedTasks: [task("late1", "transient")] }, SPEC));
    assert.equal(state.stoppedTasks.length, 2, "each once");
  });

  test("max failed tasks: the second transient failure fails the release, the report counts agree", () => {
    let { state } = drive(TO.watching!);
    ({ state } = step(state, snap(1000, afterUpdate, { tasks: [task("a1", "transient")] }), SPEC));
    const r = step(state, snap(2000, afterUpdate, { tasks: [task("a1", "transient"), task("a2", "transient")] }), SPEC);
    assert.equal(r.state.phase, "rolling-back");
    assert.match(r.state.failureReasons.join(), /2 task\(s\) of lgtm-loki:7 failed \(--max-failed-tasks 2\): a1: a1 transient; a2: a2 transient/);
    assert.equal(r.state.stoppedTasks.length, 2, "each stopped task once");
  });

  test("the UpdateService answer names the revision that really served (target went stale during register)", () => {
    const answer = svc([dep({}), oldDep({ status: "ACTIVE", taskDefinition: ARN(8) })], { currentServiceDeployment: SD });
    const { state, actions } = drive([...TO.updating!, { kind: "updated", now: 4, service: answer }]);
    assert.equal(state.previous, ARN(8));
    assert.match(messages(actions), /ECS says lgtm-loki:8 was serving/);
  });

  test("rollback call failing: retried on ticks until it goes through", () => {
    let { state } = drive(TO["rolling-back/update"]!);
    ({ state } = step(state, { kind: "rollback-failed", now: 2100, via: "update-service", error: err("ThrottlingException", false) }, SPEC));
    let r = step(state, { kind: "tick", now: 2500 }, SPEC);
    assert.deepEqual(kinds(r.actions), [], "not before the backoff");
    r = step(r.state, { kind: "tick", now: 3200 }, SPEC);
    assert.deepEqual(kinds(r.actions), ["update-rollback"]);
    r = step(r.state, { kind: "rollback-issued", now: 3300, via: "update-service", service: svc([oldDep({ id: "ecs-svc/8", rolloutState: "IN_PROGRESS" }), dep({ status: "ACTIVE" })]) }, SPEC);
    assert.equal(r.state.phase, "rollback-watching");
    assert.equal(r.state.rollback?.id, "ecs-svc/8");
  });

  test("while a rollback call is being retried, ECS's own rollback is adopted instead", () => {
    let { state } = drive(TO["rolling-back/update"]!);
    ({ state } = step(state, { kind: "rollback-failed", now: 2100, via: "update-service", error: err("ThrottlingException", false) }, SPEC));
    // ECS's own word that it rolls back (its event); without it, the deployment is taken for our call that landed.
    const events = [{ id: "e1", createdAt: new Date(2150), message: "(service lgtm-loki) rolling back to deployment ecs-svc/8." }];
    const r = step(state, snap(2200, svc([oldDep({ id: "ecs-svc/8", rolloutState: "IN_PROGRESS" }), dep({ status: "ACTIVE" })], { events })), SPEC);
    assert.equal(r.state.phase, "rollback-watching");
    assert.equal(r.state.rollback?.via, "adopted");
    assert.equal(r.state.rollback?.by, "ecs");
  });

  test("ambiguous UpdateService failure that did happen: the restore is a real rollback, judged like one", () => {
    let { state } = drive([...TO.updating!, { kind: "update-failed", now: 4, error: err("TimeoutError", false) }]);
    ({ state } = step(state, { kind: "rollback-issued", now: 5, via: "update-service", service: svc([oldDep({ id: "ecs-svc/8", rolloutState: "IN_PROGRESS", runningCount: 0 }), dep({ status: "ACTIVE" })]) }, SPEC));
    ({ state } = step(state, snap(100, svc([oldDep({ id: "ecs-svc/8" })])), SPEC));
    const r = step(state, snap(70_000, svc([oldDep({ id: "ecs-svc/8" })])), SPEC);
    assert.equal(r.state.outcome?.exitCode, 3);
  });

  test("a stale read during the rollback (the pre-release deployment as PRIMARY) is not someone else's deployment", () => {
    const { state } = drive(TO["rollback-watching"]!);
    const r = step(state, snap(2500, idle), SPEC);
    assert.equal(r.state.phase, "rollback-watching");
  });

  test("listingFor: only when counts change, a listing is owed, or the bake is due", () => {
    let { state } = drive(TO.watching!);
    assert.equal(listingFor(state, afterUpdate, 1000, 60_000), "ecs-svc/7", "first look");
    ({ state } = step(state, snap(1000, afterUpdate), SPEC));
    assert.equal(listingFor(state, afterUpdate, 1500, 60_000), null, "nothing changed");
    const moved = svc([dep({ runningCount: 1, failedTasks: 1 })]);
    assert.equal(listingFor(state, moved, 2000, 60_000), "ecs-svc/7", "counts changed");
    ({ state } = step(state, snap(2000, moved, { listing: "failed" }), SPEC));
    assert.equal(listingFor(state, moved, 2500, 60_000), "ecs-svc/7", "owed after a failed listing");
    assert.equal(listingFor(state, idle, 2500, 60_000), null, "our deployment not visible: nothing to list");
  });

  test("listingFor: a released component waiting for the others lists only when something changed", () => {
    const { state } = drive(TO.released!);
    assert.equal(state.phase, "released");
    assert.equal(listingFor(state, completed, 120_000, 60_000), null, "bake long over, nothing changed");
    const crashed = svc([dep({ rolloutState: "COMPLETED", runningCount: 1, pendingCount: 1 })]);
    assert.equal(listingFor(state, crashed, 120_000, 60_000), "ecs-svc/7", "counts changed: a crash of the new revision is looked at");
  });

  test("listingFor: a listed task still STOPPING owes a listing though the counts stay put; judged once STOPPED", () => {
    let { state } = drive(TO.watching!);
    // The crash's count rose at the container's exit; the task is listed while still STOPPING (not judged yet).
    const crashed = svc([dep({ runningCount: 1, failedTasks: 1 }), oldDep({ status: "ACTIVE" })], { currentServiceDeployment: SD });
    ({ state } = step(state, { ...snap(2000, crashed), stopping: 1 } as Observation, SPEC));
    assert.equal(state.phase, "watching");
    assert.equal(listingFor(state, crashed, 3000, 60_000), "ecs-svc/7", "same counts, but a task is still stopping");
    const r = step(state, { ...snap(3000, crashed, { tasks: [task("d1", "deterministic")] }), stopping: 0 } as Observation, SPEC);
    assert.equal(r.state.phase, "rolling-back", "judged on the next poll, not at the next count change");
    assert.deepEqual(kinds(r.actions), ["stop-deployment"]);
    ({ state } = step(state, { ...snap(3000, crashed, { tasks: [task("t1", "transient")] }), stopping: 0 } as Observation, SPEC));
    assert.equal(listingFor(state, crashed, 4000, 60_000), null, "nothing left stopping, counts unchanged: no listing");
  });

  test("abort during the rollback: the deadline becomes the abort grace", () => {
    const { state } = drive([...TO["rollback-watching"]!]);
    assert.ok(state.deadline! <= 2000 + 3000);
    const r = step(state, { kind: "tick", now: 5001 }, SPEC);
    assert.equal(r.state.outcome?.exitCode, 4);
    assert.match(r.state.outcome!.message, /in progress .* no longer watched/);
  });
});

describe("rollout state machine: snapshots that arrive out of order (a listing that outlasted the next poll)", () => {
  // A snapshot that waited for its stopped-task listing carries the read it was polled with; the next poll's
  // snapshot (listing skipped) may already have been judged. Seed 20261130 #30 under load: the rollback's bake was
  // restarted by such an older read, the rollback deadline came first, and the record said "rolled back to: nothing".
  const at = (now: number, polledAt: number, service: Service | undefined, o: Parameters<typeof snap>[2] = {}) => ({ ...snap(now, service, o), polledAt }) as Observation;
  const back = svc([oldDep({ id: "ecs-svc/8" })]);
  const halfway = svc([oldDep({ id: "ecs-svc/8", rolloutState: "IN_PROGRESS", runningCount: 1 }), dep({ status: "ACTIVE", rolloutState: "FAILED", runningCount: 1 })]);
  const subject = { component: "loki", service: "lgtm-loki", image: null, digest: null, tag: null };
  const ctx = { runId: "r", command: "deploy" as const, environment: "local", cluster: "lgtm", startedAt: 0 };
  const calls = { calls: {}, attempts: 0, retries: 0, total: 0, mutating: 0 };

  test("an older read does not restart the rollback's bake: baked → exit 3", () => {
    let { state } = drive(TO["rollback-watching/peer"]!);
    ({ state } = step(state, at(3000, 2950, back), SPEC));
    assert.equal(state.phase, "rollback-baking");
    const r = step(state, at(4100, 2900, halfway), SPEC);
    assert.equal(r.state.phase, "rollback-baking", messages(r.actions));
    assert.equal(r.state.servingPrevious, true);
    ({ state } = step(r.state, at(63_100, 63_050, back), SPEC));
    assert.equal(state.outcome?.exitCode, 3, state.outcome?.message);
  });

  test("the rollback deadline right after an older read: the record still says what the service was rolled back to", () => {
    const spec = withRules({ rollbackTimeoutMs: 62_000 })(SPEC);
    let { state } = drive(TO["rollback-watching/peer"]!, spec);
    ({ state } = step(state, at(3000, 2950, back), spec));
    ({ state } = step(state, at(63_000, 2900, halfway), spec));
    ({ state } = step(state, { kind: "tick", now: 64_001 }, spec));
    assert.equal(state.outcome?.exitCode, 4);
    assert.equal(buildRecord(state, subject, ctx, 64_001, "finished", calls).taskDefinition.rolledBackTo, OLD);
    assert.match(failureReport(state).join("\n"), /rolled back to: lgtm-loki:6, COMPLETED again/);
  });

  test("an older read does not restart the release's bake", () => {
    let { state } = drive(TO.watching!);
    ({ state } = step(state, at(1000, 950, completed), SPEC));
    assert.equal(state.phase, "baking");
    const r = step(state, at(1500, 500, afterUpdate), SPEC);
    assert.equal(r.state.phase, "baking", messages(r.actions));
    assert.doesNotMatch(messages(r.actions), /bake starts again/);
    ({ state } = step(r.state, at(61_100, 61_050, completed), SPEC));
    assert.equal(state.phase, "released");
  });

  test("listings always overtaken by the next poll (a loaded machine): the bake still ends", () => {
    // Every listing's snapshot arrives after the next poll's: the steady read and the listing never come in one
    // snapshot. The bake needs both — the steady state now, and stopped tasks known past the bake's end.
    let { state } = drive(TO.watching!);
    ({ state } = step(state, at(1000, 990, completed, { listing: "skipped" }), SPEC));
    assert.equal(state.phase, "baking");
    for (let t = 1100; t < 70_000 && state.phase === "baking"; t += 100) {
      ({ state } = step(state, at(t, t - 10, completed, { listing: "skipped" }), SPEC));
      ({ state } = step(state, at(t + 5, t - 110, completed), SPEC));
    }
    assert.equal(state.phase, "released");
  });

  test("its stopped tasks still count: a crash it lists fails the release", () => {
    let { state } = drive(TO.baking!);
    ({ state } = step(state, at(2000, 1900, completed, { listing: "skipped" }), SPEC));
    const r = step(state, at(2100, 1500, completed, { tasks: [task("late", "transient")] }), SPEC);
    assert.equal(r.state.phase, "rolling-back");
  });

  test("an older read is not the look taken after StopServiceDeployment was refused", () => {
    let { state } = drive(TO["rolling-back/refused"]!);
    ({ state } = step(state, at(2300, 2250, undefined), SPEC));
    const r = step(state, at(2400, 2150, completed, { deployments: [sd("SUCCESSFUL")] }), SPEC);
    assert.deepEqual(kinds(r.actions), [], "no UpdateService on an older read");
  });
});

describe("rollout state machine: the look after a refused StopServiceDeployment", () => {
  test("it shows another client's deployment of another revision → exit 4, no UpdateService over it (seed 20261130 #62, #133)", () => {
    const { state } = drive(TO["rolling-back/refused"]!);
    const theirs = svc([dep({ id: "ecs-svc/9", taskDefinition: ARN(9), createdAt: new Date(2150) }), dep({ status: "ACTIVE", rolloutState: "COMPLETED", runningCount: 2 })]);
    const r = step(state, { ...snap(2300, theirs, { deployments: [sd("SUCCESSFUL")] }), polledAt: 2200 } as Observation, SPEC);
    assert.equal(r.state.outcome?.exitCode, 4, messages(r.actions));
    assert.deepEqual(kinds(r.actions), ["tag"]);
    assert.match(messages(r.actions), /does not undo a deployment it did not start/);
  });

  test("it did not return the service (eventual consistency): no decision on it", () => {
    const { state } = drive(TO["rolling-back/refused"]!);
    const r = step(state, { ...snap(2300, undefined, { deployments: [sd("SUCCESSFUL")] }), polledAt: 2200 } as Observation, SPEC);
    assert.equal(r.state.phase, "rolling-back");
    assert.deepEqual(kinds(r.actions), []);
  });
});

describe("rollout state machine: the last look at the service (for the report)", () => {
  const subject = { component: "loki", service: "lgtm-loki", image: null, digest: null, tag: null };
  const ctx = { runId: "r", command: "deploy" as const, environment: "local", cluster: "lgtm", startedAt: 0 };
  const calls = { calls: {}, attempts: 0, retries: 0, total: 0, mutating: 0 };
  const left = () => drive([...TO.watching!, { kind: "abort", now: 2000 }], withRules({ onAbort: "leave" })(SPEC)).state;

  test("a stale answer that predates the release (eventual consistency) is not the service's state, nor a rollback (seed 20261130 #98)", () => {
    const state = left();
    assert.equal(state.outcome?.exitCode, 4);
    const r = step(state, { kind: "service-now", now: 2300, service: idle }, SPEC);
    const rec = buildRecord(r.state, subject, ctx, 2300, "finished", calls);
    assert.equal(rec.taskDefinition.rolledBackTo, null);
    assert.doesNotMatch(rec.serviceState ?? "", /PRIMARY lgtm-loki:6 COMPLETED/);
  });

  test("an answer showing the previous revision back (a deployment ECS started since) is reported as such", () => {
    const r = step(left(), { kind: "service-now", now: 2300, service: svc([oldDep({ id: "ecs-svc/8" })]) }, SPEC);
    assert.equal(buildRecord(r.state, subject, ctx, 2300, "finished", calls).taskDefinition.rolledBackTo, OLD);
    assert.equal(r.state.serviceNow, "PRIMARY lgtm-loki:6 COMPLETED 2/2");
  });
});

describe("rollout state machine: the re-check finds the running revision empty", () => {
  const empty = svc([oldDep({ runningCount: 0 })]);
  const toChecking = TO.checking!;
  test("still empty after the grace (5 s of re-checks) → not a rollback target, exit 5, nothing changed", () => {
    let { state } = drive([...toChecking, { kind: "checked", now: 3, service: empty }]);
    let checks = 0;
    for (let now = 5_003; state.phase !== "done" && now < 60_000; now += 5_000) {
      let r = step(state, { kind: "tick", now }, SPEC);
      checks += kinds(r.actions).filter((k) => k === "check").length;
      r = step(r.state, { kind: "checked", now: now + 1, service: empty }, SPEC);
      state = r.state;
    }
    assert.equal(checks, 1, "one look again within the grace at a 5 s poll interval");
    assert.equal(state.outcome?.exitCode, 5, state.outcome?.message);
    assert.match(state.outcome!.message, /runs no task of lgtm-loki:6/);
  });

  test("a replacement task appears (AZ rebalancing; seed 20261130 #120) → the release goes on", () => {
    let { state } = drive([...toChecking, { kind: "checked", now: 3, service: empty }]);
    ({ state } = step(state, { kind: "tick", now: 5_003 }, SPEC));
    const r = step(state, { kind: "checked", now: 5_004, service: svc([oldDep({ runningCount: 0, pendingCount: 2 })]) }, SPEC);
    assert.equal(r.state.phase, "updating");
    assert.equal(r.state.previous, OLD);
  });
});

describe("rollout state machine: the two reads of a poll disagree (another client's update between them)", () => {
  const stopped = { deployments: [sd("STOPPED")] };
  test("service deployment STOPPED while DescribeServices still shows ours PRIMARY: look again, then judge the newer picture (seed 20261130 #124 loaded)", () => {
    let { state } = drive(TO.watching!);
    let r = step(state, snap(1000, afterUpdate, stopped), SPEC);
    assert.equal(r.state.phase, "watching", messages(r.actions));
    assert.deepEqual(kinds(r.actions), ["look"]);
    r = step(r.state, snap(1100, svc([dep({ id: "ecs-svc/9", taskDefinition: ARN(9) }), dep({ status: "ACTIVE" })]), stopped), SPEC);
    assert.equal(r.state.outcome?.exitCode, 4);
    assert.match(r.state.serviceNow ?? "", /PRIMARY lgtm-loki:9/);
  });

  test("the disagreement persists: decided after a few looks (exit 4, ECS's word)", () => {
    let { state } = drive(TO.watching!);
    for (let i = 0; i < 4; i++) ({ state } = step(state, snap(1000 + i * 100, afterUpdate, stopped), SPEC));
    assert.equal(state.outcome?.exitCode, 4);
    assert.match(state.outcome!.message, /STOPPED/);
  });
});

describe("rollout state machine: who rolled back, when DescribeServiceDeployments does not answer", () => {
  const back = (events: string[]) => svc([oldDep({ id: "ecs-svc/8" })], { events: events.map((message, i) => ({ id: `e${i}`, message })) });
  test("ECS's own event 'rolling back to deployment …' → by ECS, not someone else (seed 1267943855 #184)", () => {
    const { state } = drive(TO.watching!);
    const r = step(state, snap(1000, back(["(service lgtm-loki) rolling back to deployment ecs-svc/8."])), SPEC);
    assert.equal(r.state.phase, "rollback-watching");
    assert.equal(r.state.rollback?.by, "ecs");
  });
  test("no word from ECS → someone else", () => {
    const { state } = drive(TO.watching!);
    const r = step(state, snap(1000, back([])), SPEC);
    assert.equal(r.state.rollback?.by, "someone-else");
  });
});
