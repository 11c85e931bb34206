/**
 * Stopped tasks as the verdict sees them: described, then classified by core/classify.ts (none / transient /
 * deterministic, docs/failure-classification.md). This is the one place the classifier is called.
 */
import type { Task } from "@aws-sdk/client-ecs";
import { classifyStoppedTask, type ClassifyContext } from "../core/classify.js";
import type { StoppedTask } from "../core/verdict.js";

export function toStoppedTask(task: Task, ctx: ClassifyContext = {}): StoppedTask {
  const classification = classifyStoppedTask(task, ctx);
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
    failed: classification.kind !== "none",
    classification,
  };
}
