/**
 * Stopped tasks as the verdict sees them: described, then classified. This file is the one place the classifier is
 * called, so that the pure classifier (core/classify.ts, issue #14) is swapped in here and nowhere else.
 *
 * Until it lands, a small interim classifier with the same three answers:
 *   none          never counts: scale-in, AZ rebalancing, task retirement, deployment replacement, a user's StopTask;
 *   transient     counts toward --max-failed-tasks: a crash, a failed health check, capacity or network trouble;
 *   deterministic fails the release at once: it will fail the same way on every launch (image or manifest not found,
 *                 wrong CPU architecture, a missing secret, an essential container exiting within seconds).
 */
import type { Task } from "@aws-sdk/client-ecs";
import type { FailureKind, StoppedTask } from "../core/verdict.js";

interface Classification {
  kind: FailureKind;
  code: string;
  summary: string;
}

const HEALTH = /health ?check/i;
const NOT_FOUND = /not found|manifest unknown|does not exist|no such|ParameterNotFound|ResourceNotFoundException/i;
/** A container that exits before this uptime never had a chance to pass a health check: it will do it again. */
const EARLY_EXIT_MS = 30_000;

function exitSummary(task: Task): string {
  const exits = (task.containers ?? [])
    .filter((c) => c.exitCode !== undefined || c.reason)
    .map((c) => `${c.name ?? "?"} exit ${c.exitCode ?? "-"}${c.reason ? ` (${c.reason})` : ""}`);
  return exits.join(", ");
}

/** Interim classifier (see the header). Pure. */
export function classifyStoppedTask(task: Task): Classification {
  const reason = task.stoppedReason ?? "";
  const code = task.stopCode ?? "UnknownStopCode";
  const exits = exitSummary(task);
  const what = `${reason || "no reason given"} [${code}]${exits ? `; ${exits}` : ""}`;
  if (code === "UserInitiated") return { kind: "none", code, summary: what };
  if (code === "ServiceSchedulerInitiated" || code === "SpotInterruption" || code === "TerminationNotice") {
    return HEALTH.test(reason) || task.healthStatus === "UNHEALTHY" ? { kind: "transient", code: "FailedHealthCheck", summary: what } : { kind: "none", code, summary: what };
  }
  if (/CannotPullContainer|CannotStartContainerError|ResourceInitializationError/.test(reason)) {
    const name = /^(\w+)/.exec(reason)?.[1] ?? code;
    const repeats = NOT_FOUND.test(reason) || /exec format error/i.test(reason);
    return { kind: repeats ? "deterministic" : "transient", code: name, summary: what };
  }
  if (code === "EssentialContainerExited") {
    const uptime = task.startedAt && task.stoppedAt ? task.stoppedAt.getTime() - task.startedAt.getTime() : undefined;
    const neverHealthy = (task.containers ?? []).every((c) => c.healthStatus !== "HEALTHY") && task.healthStatus !== "HEALTHY";
    const early = uptime !== undefined && uptime < EARLY_EXIT_MS && neverHealthy;
    return { kind: early ? "deterministic" : "transient", code: early ? "EarlyExit" : code, summary: what };
  }
  return { kind: "transient", code, summary: what };
}

export function toStoppedTask(task: Task): StoppedTask {
  const c = classifyStoppedTask(task);
  return {
    taskArn: task.taskArn ?? "",
    taskId: (task.taskArn ?? "").split("/").pop() ?? "",
    taskDefinitionArn: task.taskDefinitionArn,
    stopCode: task.stopCode,
    stoppedReason: task.stoppedReason,
    healthStatus: task.healthStatus,
    startedAt: task.startedAt?.toISOString(),
    stoppedAt: task.stoppedAt?.toISOString(),
    containers: (task.containers ?? []).map((x) => ({ name: x.name, exitCode: x.exitCode, reason: x.reason, healthStatus: x.healthStatus })),
    failed: c.kind !== "none",
    kind: c.kind,
    code: c.code,
    summary: c.summary,
  };
}
