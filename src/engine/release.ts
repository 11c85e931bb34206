/**
 * The deploy engine: preflight (read-only), register, UpdateService with forceNewDeployment, one shared watch loop for
 * every component of the release, automatic rollback (or adopting ECS's own breaker rollback), abort handling and
 * release records. Decisions about a single snapshot live in core/verdict.ts; this file sequences I/O.
 */
import type { CreateServiceCommandInput, RegisterTaskDefinitionCommandInput, Service } from "@aws-sdk/client-ecs";
import type { AwsClients } from "../adapters/aws.js";
import type { Clock } from "../adapters/clock.js";
import * as ecs from "../adapters/ecs.js";
import type { ComponentName } from "../core/catalogue.js";
import type { Environment } from "../core/environment.js";
import { ExitCode, InvalidInputError, PreconditionError, type LgtmError } from "../core/errors.js";
import type { ParsedTag } from "../core/tag.js";
import { describeStoppedTask, initialWatchState, observe, toStoppedTask, type StoppedTask, type WatchRules, type WatchState } from "../core/verdict.js";
import { VERSION } from "../version.js";
import type { Emit } from "./progress.js";
import { RECORD_SCHEMA_VERSION, type RecordVerdict, type ReleaseRecord } from "./record.js";

export interface ComponentPlan {
  component: ComponentName;
  serviceName: string;
  /** Register this rendered task definition, or roll out an existing one (manual rollback). */
  target:
    | { kind: "register"; input: RegisterTaskDefinitionCommandInput; image: string; digest: string | null; tag: ParsedTag }
    | { kind: "existing"; taskDefinitionArn: string; image: string | null; tag: ParsedTag | null };
  /** Used only with --create-missing when the service does not exist yet. */
  createService?: CreateServiceCommandInput;
}

export interface EngineOptions {
  command: "deploy" | "rollback";
  env: Environment;
  clients: AwsClients;
  clock: Clock;
  signal: AbortSignal;
  emit: Emit;
  rules: WatchRules;
  pollMs: number;
  rollback: boolean;
  atomic: boolean;
  waitForIdle: boolean;
  onAbort: "rollback" | "leave";
  /** After an abort, how long to keep watching the rollback before reporting and exiting. */
  abortGraceMs: number;
  createMissing: boolean;
  reason?: string;
  triggeredBy?: string;
}

type Phase = "release" | "released" | "rollback" | "done";

interface Run {
  plan: ComponentPlan;
  previousTd: string | null;
  /** The service settings before the release changed them (restored with the previous revision on rollback). */
  previousShape: Record<string, unknown>;
  newTd: string | null;
  releaseDeploymentId: string | null;
  rollbackDeploymentId: string | null;
  rollbackBy: "lgtm-deploy" | "ecs-circuit-breaker" | null;
  watch: WatchState | null;
  phase: Phase;
  exitCode: number;
  verdict: RecordVerdict;
  failureReasons: string[];
  stoppedTasks: StoppedTask[];
  events: string[];
  /** Polls since the last stopped-task listing (listing is skipped when nothing changed, to spare the API). */
  lastCounts?: string;
  pollsSinceTaskList: number;
  lastService?: Service;
}

export interface ComponentOutcome {
  component: ComponentName;
  exitCode: number;
  record: ReleaseRecord;
}

/** Poll interval after the first failed task of a watched deployment (never slower than --poll-interval). */
const ALARMED_POLL_MS = 1_000;

const inFlight = (svc: Service): string | undefined => {
  const deps = svc.deployments ?? [];
  const primary = deps.find((d) => d.status === "PRIMARY");
  if (deps.length > 1 || primary?.rolloutState === "IN_PROGRESS") {
    const busy = deps.find((d) => d.rolloutState === "IN_PROGRESS") ?? primary ?? deps[0];
    return `${busy?.id} (${busy?.taskDefinition}, rollout ${busy?.rolloutState ?? "n/a"}, ${deps.length} deployment(s))`;
  }
  return undefined;
};

export async function runRelease(plans: readonly ComponentPlan[], o: EngineOptions): Promise<ComponentOutcome[]> {
  const { ecs: client } = o.clients;
  const cluster = o.env.cluster;
  const startedAt = o.clock.now();
  const say = (run: Run, phase: string, kind: string, message: string, level?: "info" | "warn" | "error", data?: Record<string, unknown>) =>
    o.emit({ component: run.plan.component, phase, kind, message, ...(level ? { level } : {}), ...(data ? { data } : {}) });
  const runs: Run[] = plans.map(newRun);

  const finish = (run: Run, exitCode: number, verdict: RecordVerdict, message: string): void => {
    run.exitCode = exitCode;
    run.verdict = verdict;
    run.phase = "done";
    say(run, "verdict", verdict === "succeeded" ? "success" : "failure", message, verdict === "succeeded" ? "info" : "error");
  };

  // ---- Preflight: read-only. Any problem here stops every component before anything changes.
  const clusterStatus = await ecs.clusterStatus(client, cluster);
  if (clusterStatus !== "ACTIVE") throw new PreconditionError(`cluster "${cluster}" ${clusterStatus === undefined ? "does not exist" : `is ${clusterStatus}`} (environment ${o.env.name}, region ${o.env.region})`);
  let services = await ecs.describeServices(client, cluster, runs.map((r) => r.plan.serviceName));
  const idleDeadline = o.clock.now() + o.rules.timeoutMs;
  for (;;) {
    const problems: string[] = [];
    const busy: string[] = [];
    for (const run of runs) {
      const svc = services.get(run.plan.serviceName);
      if (svc === undefined || svc.status !== "ACTIVE") {
        if (!(o.createMissing && run.plan.createService)) {
          problems.push(`service "${run.plan.serviceName}" does not exist in cluster "${cluster}"${svc ? ` (status ${svc.status})` : ""}; pass --create-missing for the first release`);
        }
        continue;
      }
      const flight = inFlight(svc);
      if (flight) busy.push(`${run.plan.serviceName}: deployment ${flight} is still in progress`);
    }
    if (problems.length > 0) throw new PreconditionError(problems.join("\n"));
    if (busy.length === 0) break;
    if (!o.waitForIdle) throw new PreconditionError(`${busy.join("\n")}\nwait for it to finish or pass --wait-for-idle`);
    if (o.clock.now() >= idleDeadline || o.signal.aborted) throw new PreconditionError(`gave up waiting for idle services:\n${busy.join("\n")}`);
    for (const b of busy) o.emit({ component: b.split(":")[0]!.replace(/^lgtm-/, ""), phase: "preflight", kind: "waiting", message: `waiting for idle: ${b}` });
    await o.clock.sleep(o.pollMs, o.signal);
    services = await ecs.describeServices(client, cluster, runs.map((r) => r.plan.serviceName));
  }

  // ---- Register every task definition first: if ECS rejects one, no service has been touched yet.
  for (const run of runs) {
    if (run.plan.target.kind !== "register") continue;
    try {
      run.newTd = await ecs.registerTaskDefinition(client, run.plan.target.input);
    } catch (error) {
      if ((error as Error).name === "ClientException" || (error as Error).name === "InvalidParameterException") {
        throw new InvalidInputError(`ECS rejected the task definition for ${run.plan.component}: ${(error as Error).message} (no service was changed)`);
      }
      throw error;
    }
    say(run, "register", "registered", `registered ${run.newTd} (image ${run.plan.target.image})`);
  }

  // ---- Update (or create) the services.
  if (o.signal.aborted) throw new PreconditionError("aborted (SIGINT/SIGTERM) before any service was changed");
  for (const run of runs) {
    if (o.signal.aborted) {
      // Services already updated are rolled back by the watch loop; this one was never touched.
      finish(run, ExitCode.Precondition, "not-started", "aborted before this service was changed");
      continue;
    }
    const svc = services.get(run.plan.serviceName);
    const exists = svc !== undefined && svc.status === "ACTIVE";
    run.previousTd = exists ? (svc.deployments?.find((d) => d.status === "PRIMARY")?.taskDefinition ?? svc.taskDefinition ?? null) : null;
    if (exists && run.plan.createService) run.previousShape = serviceShape(svc);
    const knownEvents = (svc?.events ?? []).map((e) => e.id!).filter(Boolean);
    let updated: Service;
    if (exists) {
      say(run, "update", "capture", `rollback target is the running revision ${run.previousTd}`);
      updated = await ecs.updateService(client, { cluster, service: run.plan.serviceName, taskDefinition: run.newTd!, forceNewDeployment: true, ...updateExtras(run.plan) });
    } else {
      say(run, "update", "create", `creating service ${run.plan.serviceName} (first release: there is no previous revision to roll back to)`, "warn");
      updated = await ecs.createService(client, { ...run.plan.createService!, taskDefinition: run.newTd! });
    }
    const dep = updated.deployments?.find((d) => d.status === "PRIMARY" && d.taskDefinition === run.newTd) ?? updated.deployments?.find((d) => d.status === "PRIMARY");
    if (dep?.id === undefined) throw new Error(`UpdateService for ${run.plan.serviceName} returned no PRIMARY deployment`);
    run.releaseDeploymentId = dep.id;
    run.watch = initialWatchState(dep.id, run.newTd!, o.clock.now(), knownEvents);
    say(run, "update", "deployment", `deployment ${dep.id} started: ${run.previousTd ?? "(none)"} -> ${run.newTd}`, undefined, { deploymentId: dep.id });
  }

  // ---- Watch every component in one loop: one DescribeServices per poll for up to 10 services.
  let abortDeadline: number | undefined;
  const graceSignal = new AbortController();
  let consecutiveErrors = 0;

  const startRollback = async (run: Run, why: string): Promise<void> => {
    run.failureReasons.push(why);
    // One last look at the release's stopped tasks, so the report names every failure seen so far.
    if (run.releaseDeploymentId !== null && run.watch !== null && run.phase === "release") {
      try {
        const seen = new Set(run.watch.seenStoppedTasks);
        for (const t of (await ecs.stoppedTasks(client, cluster, run.releaseDeploymentId, seen)).map(toStoppedTask)) {
          run.stoppedTasks.push(t);
          say(run, "watch", "stopped-task", describeStoppedTask(t), t.failed ? "warn" : undefined, { ...t });
        }
      } catch {
        // The report is best effort; the rollback is not.
      }
    }
    const breaker = run.watch?.verdict.kind === "failure" ? run.watch.verdict.breakerRollback : undefined;
    if (!o.rollback) {
      return finish(run, ExitCode.RollbackFailed, "failed", "rollback is off (--no-rollback): the service is left as it is and needs attention");
    }
    if (run.previousTd === null) {
      return finish(run, ExitCode.RollbackFailed, "failed", "cannot roll back: there is no previous revision (first deployment of this service); the service needs attention");
    }
    if (breaker !== undefined) {
      if (breaker.taskDefinition !== run.previousTd) {
        return finish(run, ExitCode.RollbackFailed, "failed", `another deployment ${breaker.deploymentId} (${breaker.taskDefinition}) replaced the release; not fighting it — the service needs attention`);
      }
      run.rollbackDeploymentId = breaker.deploymentId;
      run.rollbackBy = "ecs-circuit-breaker";
      say(run, "rollback", "adopt", `ECS's circuit breaker is already rolling back to ${run.previousTd} (deployment ${breaker.deploymentId}); waiting for it instead of issuing a second rollback`, "warn");
    } else {
      const updated = await ecs.updateService(client, { cluster, service: run.plan.serviceName, taskDefinition: run.previousTd, forceNewDeployment: true, ...run.previousShape });
      const dep = updated.deployments?.find((d) => d.status === "PRIMARY");
      if (dep?.id === undefined) return finish(run, ExitCode.RollbackFailed, "failed", "rollback UpdateService returned no PRIMARY deployment");
      run.rollbackDeploymentId = dep.id;
      run.rollbackBy = "lgtm-deploy";
      say(run, "rollback", "issued", `rolling back to ${run.previousTd} (deployment ${dep.id})`, "warn", { deploymentId: dep.id });
    }
    run.watch = initialWatchState(run.rollbackDeploymentId, run.previousTd, o.clock.now(), run.watch?.seenEventIds ?? []);
    run.lastCounts = undefined;
    run.phase = "rollback";
  };

  const rollbackRules: WatchRules = { ...o.rules, bakeMs: 0 };
  for (;;) {
    const active = runs.filter((r) => (r.phase === "release" || r.phase === "rollback") && r.watch?.verdict.kind === "pending");
    if (active.length === 0) break;

    if (o.signal.aborted && abortDeadline === undefined) {
      abortDeadline = o.clock.now() + o.abortGraceMs;
      setTimeoutUnref(() => graceSignal.abort(), o.abortGraceMs);
      for (const run of active.filter((r) => r.phase === "release")) {
        if (o.onAbort === "leave") {
          finish(run, ExitCode.RollbackFailed, "failed", `aborted: deployment ${run.releaseDeploymentId} was left in progress (--on-abort leave); the service needs attention`);
          run.failureReasons.push("release aborted (SIGINT/SIGTERM)");
        } else {
          say(run, "abort", "aborted", "aborted: rolling back", "warn");
          await startRollback(run, "release aborted (SIGINT/SIGTERM)");
        }
      }
      continue;
    }
    if (abortDeadline !== undefined && o.clock.now() >= abortDeadline) {
      for (const run of active) {
        const state = run.lastService ? describeState(run.lastService) : "unknown";
        finish(run, ExitCode.RollbackFailed, "failed", `stopped waiting after the abort; rollback deployment ${run.rollbackDeploymentId ?? "-"} still in progress. Service state: ${state}`);
      }
      break;
    }

    let snapshot: Map<string, Service | undefined>;
    try {
      snapshot = await ecs.describeServices(client, cluster, active.map((r) => r.plan.serviceName));
      consecutiveErrors = 0;
    } catch (error) {
      // The SDK already retried with backoff; keep the release alive through a throttling storm or an outage.
      consecutiveErrors += 1;
      const wait = Math.min(30_000, o.pollMs * 2 ** Math.min(consecutiveErrors, 5)) * (0.5 + Math.random() / 2);
      for (const run of active) say(run, "watch", "api-error", `DescribeServices failed (${(error as Error).name}: ${(error as Error).message}); retrying in ${Math.round(wait)}ms`, "warn");
      for (const run of active) {
        if (o.clock.now() - run.watch!.startedAt >= o.rules.timeoutMs) {
          if (run.phase === "release") await startRollback(run, `timed out: the ECS API kept failing (${(error as Error).message})`);
          else finish(run, ExitCode.RollbackFailed, "failed", `rollback watch timed out: the ECS API kept failing`);
        }
      }
      await o.clock.sleep(wait, abortDeadline === undefined ? o.signal : graceSignal.signal);
      continue;
    }

    for (const run of active) {
      const svc = snapshot.get(run.plan.serviceName);
      if (svc) run.lastService = svc;
      const dep = svc?.deployments?.find((d) => d.id === run.watch!.deploymentId);
      const counts = dep ? `${dep.runningCount}/${dep.pendingCount}/${dep.failedTasks}/${dep.rolloutState}/${svc?.events?.[0]?.id}` : "gone";
      let stopped: StoppedTask[] = [];
      run.pollsSinceTaskList += 1;
      if (counts !== run.lastCounts || run.pollsSinceTaskList >= 3) {
        try {
          const tasks = await ecs.stoppedTasks(client, cluster, run.watch!.deploymentId, new Set(run.watch!.seenStoppedTasks));
          stopped = tasks.map(toStoppedTask);
          run.pollsSinceTaskList = 0;
          run.lastCounts = counts;
        } catch (error) {
          say(run, "watch", "api-error", `listing stopped tasks failed (${(error as Error).name}); will retry`, "warn");
        }
      }
      const rules = run.phase === "rollback" ? rollbackRules : o.rules;
      const { state, events } = observe(run.watch!, { now: o.clock.now(), service: svc, stoppedTasks: stopped }, rules);
      run.watch = state;
      for (const e of events) {
        if (e.kind === "service-event") run.events.push(e.message);
        if (e.kind === "stopped-task") run.stoppedTasks.push(e.data as unknown as StoppedTask);
        if (e.kind !== "verdict") say(run, run.phase === "rollback" ? "rollback" : "watch", e.kind, e.message, e.kind === "stopped-task" && (e.data as { failed?: boolean })?.failed ? "warn" : undefined, e.data);
      }
    }

    // Decide, after every component has been observed in this poll.
    for (const run of active) {
      const v = run.watch!.verdict;
      if (v.kind === "pending") continue;
      if (run.phase === "release" && v.kind === "success") {
        run.phase = "released";
        run.verdict = "succeeded";
        say(run, "watch", "released", v.reason);
        continue;
      }
      if (run.phase === "release" && v.kind === "failure") {
        say(run, "watch", "failed", `release failed: ${v.reason}`, "error");
        await startRollback(run, v.reason);
        if (o.atomic) {
          for (const other of runs.filter((r) => r !== run && (r.phase === "release" || r.phase === "released"))) {
            say(other, "atomic", "atomic", `${run.plan.component} failed and the release is atomic: rolling ${other.plan.component} back too`, "warn");
            if (other.watch) other.watch = { ...other.watch, verdict: { kind: "failure", reason: `rolled back with the atomic release because ${run.plan.component} failed` } };
            await startRollback(other, `rolled back with the atomic release because ${run.plan.component} failed`);
          }
        }
        continue;
      }
      if (run.phase === "rollback") {
        if (v.kind === "success") finish(run, ExitCode.RolledBack, "rolled-back", `release failed and was rolled back: ${run.previousTd} is serving again`);
        else finish(run, ExitCode.RollbackFailed, "failed", `release failed and the rollback failed too (${v.reason}); the service needs attention`);
      }
    }
    const watching = runs.filter((r) => (r.phase === "release" || r.phase === "rollback") && r.watch?.verdict.kind === "pending");
    if (watching.length > 0) {
      // Once a task of a watched deployment has failed, the next failure decides the release: look closer.
      const alarmed = watching.some((r) => r.watch!.failedTaskArns.length > 0 || (r.lastService?.deployments?.find((d) => d.id === r.watch!.deploymentId)?.failedTasks ?? 0) > 0);
      await o.clock.sleep(alarmed ? Math.min(o.pollMs, ALARMED_POLL_MS) : o.pollMs, abortDeadline === undefined ? o.signal : graceSignal.signal);
    }
  }
  for (const run of runs) if (run.phase === "released") finish(run, ExitCode.Success, "succeeded", `released ${run.newTd}`);

  const finishedAt = o.clock.now();
  const apiCalls = o.clients.counter.snapshot();
  return runs.map((run) => {
    if (run.exitCode !== ExitCode.Success) printFailureReport(run, say);
    return { component: run.plan.component, exitCode: run.exitCode, record: toRecord(run, o, startedAt, finishedAt, apiCalls) };
  });
}

function newRun(plan: ComponentPlan): Run {
  return {
    plan,
    previousTd: null,
    previousShape: {},
    newTd: plan.target.kind === "existing" ? plan.target.taskDefinitionArn : null,
    releaseDeploymentId: null,
    rollbackDeploymentId: null,
    rollbackBy: null,
    watch: null,
    phase: "release",
    exitCode: ExitCode.Success,
    verdict: "not-started",
    failureReasons: [],
    stoppedTasks: [],
    events: [],
    pollsSinceTaskList: 0,
  };
}

/** The record of a release that preflight stopped: nothing was changed. */
export function notStartedRecord(plan: ComponentPlan, o: RecordContext, error: LgtmError, at: number, apiCalls: ReleaseRecord["apiCalls"]): ReleaseRecord {
  return toRecord({ ...newRun(plan), exitCode: error.exitCode, failureReasons: [error.message] }, o, at, at, apiCalls);
}

function updateExtras(plan: ComponentPlan): Record<string, unknown> {
  // Keep the service's shape in step with its template (desired count, deployment configuration, network...).
  if (plan.createService === undefined) return {};
  const c = plan.createService;
  return {
    desiredCount: c.desiredCount,
    deploymentConfiguration: c.deploymentConfiguration,
    networkConfiguration: c.networkConfiguration,
    ...(c.healthCheckGracePeriodSeconds === undefined ? {} : { healthCheckGracePeriodSeconds: c.healthCheckGracePeriodSeconds }),
    loadBalancers: c.loadBalancers,
    serviceRegistries: c.serviceRegistries,
    propagateTags: c.propagateTags,
    enableECSManagedTags: c.enableECSManagedTags,
  };
}

/** The settings a release may change through updateExtras, as the service had them. */
function serviceShape(svc: Service): Record<string, unknown> {
  const shape: Record<string, unknown> = {
    desiredCount: svc.desiredCount,
    deploymentConfiguration: svc.deploymentConfiguration,
    networkConfiguration: svc.networkConfiguration,
    loadBalancers: svc.loadBalancers ?? [],
    serviceRegistries: svc.serviceRegistries ?? [],
    healthCheckGracePeriodSeconds: svc.healthCheckGracePeriodSeconds,
    propagateTags: svc.propagateTags,
    enableECSManagedTags: svc.enableECSManagedTags,
  };
  return Object.fromEntries(Object.entries(shape).filter(([, v]) => v !== undefined));
}

function setTimeoutUnref(fn: () => void, ms: number): void {
  const t = setTimeout(fn, ms);
  t.unref?.();
}

function describeState(svc: Service): string {
  const deps = (svc.deployments ?? []).map((d) => `${d.status} ${d.id} ${d.taskDefinition?.split("/").pop()} rollout ${d.rolloutState ?? "n/a"} running ${d.runningCount}/${d.desiredCount}`);
  return `${svc.serviceName}: running ${svc.runningCount}/${svc.desiredCount}; ${deps.join("; ")}`;
}

function printFailureReport(run: Run, say: (run: Run, phase: string, kind: string, message: string, level?: "info" | "warn" | "error") => void): void {
  const lines: string[] = ["release report:"];
  for (const r of run.failureReasons) lines.push(`  why: ${r}`);
  const failed = run.stoppedTasks.filter((t) => t.failed);
  if (failed.length > 0) {
    lines.push(`  stopped tasks (${failed.length} failed):`);
    for (const t of failed.slice(-5)) lines.push(`    ${describeStoppedTask(t)}`);
  }
  if (run.events.length > 0) {
    lines.push("  last service events:");
    for (const e of run.events.slice(-5)) lines.push(`    ${e}`);
  }
  lines.push(
    run.verdict === "rolled-back"
      ? `  rolled back to: ${run.previousTd} (by ${run.rollbackBy}, deployment ${run.rollbackDeploymentId})`
      : `  rolled back to: nothing — ${run.previousTd ? `previous revision was ${run.previousTd}` : "there was no previous revision"}`,
  );
  if (run.lastService) lines.push(`  service now: ${describeState(run.lastService)}`);
  for (const l of lines) say(run, "summary", "report", l, "error");
}

type RecordContext = Pick<EngineOptions, "command" | "env" | "reason" | "triggeredBy">;

function toRecord(run: Run, o: RecordContext, startedAt: number, finishedAt: number, apiCalls: ReleaseRecord["apiCalls"]): ReleaseRecord {
  const t = run.plan.target;
  const tag = t.tag;
  return {
    schemaVersion: RECORD_SCHEMA_VERSION,
    tool: { name: "lgtm-deploy", version: VERSION },
    command: o.command,
    component: run.plan.component,
    environment: o.env.name,
    cluster: o.env.cluster,
    service: run.plan.serviceName,
    version: tag?.version ?? null,
    tag: tag?.tag ?? null,
    image: t.image,
    imageDigest: t.kind === "register" ? t.digest : null,
    taskDefinition: { new: run.newTd, previous: run.previousTd, rolledBackTo: run.verdict === "rolled-back" ? run.previousTd : null },
    deployments: { release: run.releaseDeploymentId, rollback: run.rollbackDeploymentId, rollbackBy: run.rollbackBy },
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    durationSeconds: Math.round((finishedAt - startedAt) / 100) / 10,
    verdict: run.verdict,
    exitCode: run.exitCode,
    failureReasons: run.failureReasons,
    stoppedTasks: run.stoppedTasks,
    lastEvents: run.events.slice(-10),
    apiCalls,
    reason: o.reason ?? null,
    triggeredBy: o.triggeredBy ?? null,
  };
}
