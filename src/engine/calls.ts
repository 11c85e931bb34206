/**
 * The calls behind the state machine's actions (core/rollout.ts): each is one bounded AWS call whose answer becomes
 * an observation. Release changes go through the `ecsWrites` client (its own retry state: a throttled poll never
 * delays them); reads through the polling client.
 */
import type { AwsClients } from "../adapters/aws.js";
import * as ecs from "../adapters/ecs.js";
import type { Action, CallError, Observation } from "../core/rollout.js";
import type { ComponentPlan } from "./driver.js";
import { toStoppedTask } from "./stopped.js";

export const CALL_TIMEOUT_MS = 15_000;
export const MUTATION_TIMEOUT_MS = 30_000;
export const ROLLBACK_CALL_TIMEOUT_MS = 5_000;

export interface Call {
  run: Promise<unknown>;
  ok: (value: never) => Observation | undefined;
  fail: (error: CallError) => Observation | undefined;
}

interface Context {
  clients: AwsClients;
  cluster: string;
  now: () => number;
  /** The timeout of one rollback attempt (short, and never past the rollback deadline). */
  rollbackTimeoutMs: number;
  /** The timeout of RegisterTaskDefinition/UpdateService/CreateService (never far past --timeout). */
  mutationTimeoutMs: number;
  seenTasks: ReadonlySet<string>;
  /** Aborts the reads still out when the run ends (engine/poller.ts). */
  readSignal?: AbortSignal;
}

type CallAction = Exclude<Action, { kind: "emit" | "record" | "check" | "tag" | "look" }>;

/** The AWS call for an action, and how its answer (or failure) is observed. */
export function callFor(a: CallAction, plan: ComponentPlan, c: Context): Call {
  const w = c.clients.ecsWrites;
  const service = plan.spec.service;
  const now = c.now;
  switch (a.kind) {
    case "register":
      return { run: ecs.registerTaskDefinition(w, plan.register!, { timeoutMs: c.mutationTimeoutMs }), ok: (arn: string) => ({ kind: "registered", now: now(), taskDefinitionArn: arn }), fail: (error) => ({ kind: "register-failed", now: now(), error }) } as Call;
    case "update": {
      const run = a.create
        ? ecs.createService(w, { ...plan.create!, taskDefinition: a.taskDefinition }, { timeoutMs: c.mutationTimeoutMs })
        : ecs.updateService(w, { cluster: c.cluster, service, taskDefinition: a.taskDefinition, forceNewDeployment: true, ...a.settings }, { timeoutMs: c.mutationTimeoutMs });
      return { run, ok: (svc) => ({ kind: "updated", now: now(), service: svc }), fail: (error) => ({ kind: "update-failed", now: now(), error }) } as Call;
    }
    case "stop-deployment":
      return { run: ecs.stopServiceDeployment(w, a.serviceDeploymentArn, { timeoutMs: c.rollbackTimeoutMs }), ok: () => ({ kind: "rollback-issued", now: now(), via: "stop-deployment" }), fail: (error) => ({ kind: "rollback-failed", now: now(), via: "stop-deployment", error }) };
    case "update-rollback": {
      const input = { cluster: c.cluster, service, taskDefinition: a.taskDefinition, forceNewDeployment: a.force, ...a.settings };
      return { run: ecs.updateService(w, input, { timeoutMs: c.rollbackTimeoutMs }), ok: (svc) => ({ kind: "rollback-issued", now: now(), via: "update-service", service: svc }), fail: (error) => ({ kind: "rollback-failed", now: now(), via: "update-service", error }) } as Call;
    }
    case "restore-settings":
      return { run: ecs.updateService(w, { cluster: c.cluster, service, ...a.settings }, { timeoutMs: ROLLBACK_CALL_TIMEOUT_MS }), ok: () => ({ kind: "settings-restored", now: now() }), fail: (error) => ({ kind: "settings-restored", now: now(), error }) };
    case "list-release-tasks": {
      const run = ecs.stoppedTasks(c.clients.ecs, c.cluster, a.deploymentId, c.seenTasks, { timeoutMs: CALL_TIMEOUT_MS, ...(c.readSignal ? { signal: c.readSignal } : {}) });
      const ok = (tasks: Parameters<typeof toStoppedTask>[0][]) => ({ kind: "release-tasks", now: now(), stoppedTasks: tasks.map((t) => toStoppedTask(t, { essentialContainers: plan.essentialContainers })) });
      return { run, ok, fail: () => undefined } as Call;
    }
  }
}
