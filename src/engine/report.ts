/**
 * What a finished component says: the record (record.ts) built from its state, and the failure report printed at the
 * end. The report's counts agree with its lists ("2 failed" lists two).
 */
import type { ApiCallCounts } from "../adapters/aws.js";
import type { State } from "../core/rollout.js";
import { shortTd } from "../core/names.js";
import type { ParsedTag } from "../core/tag.js";
import { VERSION } from "../version.js";
import { formatTaskLogs } from "../core/logs.js";
import type { ReportedTask } from "./failure-logs.js";
import { RECORD_SCHEMA_VERSION, type RecordStatus, type ReleaseRecord } from "./record.js";

export interface RecordContext {
  runId: string;
  command: "deploy" | "rollback";
  environment: string;
  cluster: string;
  reason?: string;
  triggeredBy?: string;
  startedAt: number;
}

export interface RecordSubject {
  component: string;
  service: string;
  image: string | null;
  digest: string | null;
  tag: ParsedTag | null;
}

export function buildRecord(s: State, subject: RecordSubject, c: RecordContext, at: number, status: RecordStatus, apiCalls: ApiCallCounts): ReleaseRecord {
  const o = s.outcome;
  const finished = status !== "in-progress";
  return {
    schemaVersion: RECORD_SCHEMA_VERSION,
    tool: { name: "lgtm-deploy", version: VERSION },
    runId: c.runId,
    status,
    inProgress: status === "in-progress",
    phase: s.phase,
    command: c.command,
    component: subject.component,
    environment: c.environment,
    cluster: c.cluster,
    service: subject.service,
    version: subject.tag?.version ?? null,
    tag: subject.tag?.tag ?? null,
    image: subject.image,
    imageDigest: subject.digest,
    taskDefinition: { new: s.newTd, previous: s.previous, rolledBackTo: o?.verdict === "rolled-back" || (o?.verdict !== "succeeded" && s.servingPrevious) ? s.previous : null },
    deployments: {
      release: s.release?.id ?? null,
      rollback: s.rollback?.id ?? null,
      rollbackBy: s.rollback?.by ?? null,
      releaseServiceDeployment: s.release?.arn ?? null,
      rollbackServiceDeployment: s.rollback?.via === "update-service" ? s.rollback.arn : null,
    },
    startedAt: new Date(c.startedAt).toISOString(),
    finishedAt: finished ? new Date(at).toISOString() : null,
    durationSeconds: Math.round((at - c.startedAt) / 100) / 10,
    verdict: o?.verdict ?? "in-progress",
    exitCode: o?.exitCode ?? null,
    message: o?.message ?? null,
    nextStep: o?.nextStep ?? null,
    serviceState: s.serviceNow ?? null,
    failureReasons: s.failureReasons,
    stoppedTasks: s.stoppedTasks,
    circuitBreaker: s.breaker ?? null,
    alarms: s.alarms ?? null,
    lastEvents: s.events.slice(-10),
    apiCalls,
    reason: c.reason ?? null,
    triggeredBy: c.triggeredBy ?? null,
    annotation: { id: null, state: "off" },
  };
}

/** The record of a component the second signal caught mid-flight: what is known, and that it is not over. */
export function interruptedOutcome(s: State): NonNullable<State["outcome"]> {
  if (!s.changed) return { verdict: "not-started", exitCode: 5, message: "interrupted by a second signal before the service was changed" };
  const where = s.phase.startsWith("rollback") || s.phase === "rolling-back" ? `while rolling back to ${shortTd(s.previous)}` : `while releasing ${shortTd(s.newTd)} (phase ${s.phase})`;
  return { verdict: "failed", exitCode: 4, message: `interrupted by a second signal ${where}; service state: ${s.serviceNow ?? "unknown"}`, nextStep: "lgtm-deploy status <component> --env <env>" };
}

/** The failure report: why, the failed tasks, the last events, the breaker and alarms, where the service is. */
export function failureReport(s: State): string[] {
  const lines: string[] = ["release report:"];
  for (const r of s.failureReasons) lines.push(`  why: ${r}`);
  if (s.failureReasons.length === 0 && s.outcome) lines.push(`  why: ${s.outcome.message}`);
  const failed = s.stoppedTasks.filter((t) => t.failed);
  if (failed.length > 0) {
    const shown = failed.slice(-10);
    lines.push(`  ${failed.length} failed task(s)${shown.length < failed.length ? ` (the last ${shown.length})` : ""}:`);
    for (const t of shown as ReportedTask[]) {
      lines.push(`    ${t.taskId}: ${t.classification.summary} (${t.classification.kind})`);
      // The container's own last lines (read after the rollback call went out), or one line saying why there are none.
      if (t.logLines !== undefined || t.logNote !== undefined) lines.push(...formatTaskLogs({ logLines: t.logLines ?? [], logNote: t.logNote }, "      "));
    }
  }
  const ignored = s.stoppedTasks.length - failed.length;
  if (ignored > 0) lines.push(`  ${ignored} other stopped task(s) were not failures (scheduler or user stops)`);
  if (s.breaker) lines.push(`  circuit breaker: ${s.breaker.failureCount}/${s.breaker.threshold} failed${s.breaker.status ? ` (${s.breaker.status})` : ""}`);
  if (s.alarms && s.alarms.triggered.length > 0) lines.push(`  alarms fired: ${s.alarms.triggered.join(", ")}`);
  if (s.events.length > 0) {
    lines.push("  last service events:");
    for (const e of s.events.slice(-5)) lines.push(`    ${e}`);
  }
  lines.push(...rolledBackLine(s));
  if (s.serviceNow) lines.push(`  service now: ${s.serviceNow}`);
  if (s.outcome?.nextStep) lines.push(`  next: ${s.outcome.nextStep}`);
  return lines;
}

/** Where the rollback stood when the outcome was decided: never "nothing" for a rollback that is under way. */
function rolledBackLine(s: State): string[] {
  const by = `by ${s.rollback?.by ?? "lgtm-deploy"}${s.rollback?.id ? `, deployment ${s.rollback.id}` : ""}`;
  if (s.outcome?.verdict === "rolled-back") return [`  rolled back to: ${shortTd(s.previous)} (${by})`];
  if (!s.changed) return [];
  if (s.servingPrevious && s.endedIn !== "rollback-baking") return [`  rolled back to: ${shortTd(s.previous)}, the only deployment and COMPLETED at the last look (${by}), not baked`];
  if (s.endedIn === "rollback-baking") return [`  rolled back to: ${shortTd(s.previous)}, COMPLETED again (${by}) but not yet through its bake`];
  if (s.endedIn === "rollback-watching") return [`  rolled back to: not yet — the rollback to ${shortTd(s.previous)} is under way (${by})`];
  if (s.endedIn === "rolling-back") return [`  rolled back to: nothing confirmed — the rollback call to ${shortTd(s.previous)} did not go through`];
  return [`  rolled back to: nothing${s.previous ? ` (the previous revision is ${shortTd(s.previous)})` : " (there was no previous revision)"}`];
}
