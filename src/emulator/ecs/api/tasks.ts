/** StopTask (ListTasks and DescribeTasks are reads: reads.ts). */
import { invalidParam } from "../../errors.js";
import { requireString, str } from "../../util.js";
import { stopTask as stop } from "../sim/task-lifecycle.js";
import { lastSegment, type EcsState } from "../state.js";
import { taskJson } from "../views.js";
import type { ApiCtx } from "./context.js";

/** The task stops with stopCode UserInitiated and the caller's reason; the service replaces it. */
export function stopTask(ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx): Record<string, unknown> {
  const cluster = ecs.clusterOf(input);
  const ref = requireString(input, "task");
  ecs.checkOwnArn(ref);
  const id = lastSegment(ref);
  const t = [...ecs.tasks.values()].find((x) => x.cluster === cluster && x.id === id);
  if (!t) throw invalidParam("The referenced task was not found.");
  stop(ecs, t, ctx.now, "UserInitiated", str(input.reason) ?? "Task stopped by user");
  return { task: taskJson(t, false) };
}
