/**
 * The failed tasks' container logs for the failure report and the record, read by the driver at the right moment:
 * only once a rollback is under way (our rollback call was answered, or ECS's own rollback was adopted) or the
 * component is decided without one — never before, so a log read can never delay the rollback call. Reads run in the
 * background (src/adapters/logs.ts: one GetLogEvents per container, each with its own timeout, never rejecting); the
 * driver awaits them, bounded, only when it writes the report.
 */
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import { readFailedTaskLogs } from "../adapters/logs.js";
import { DEFAULT_MAX_TASKS, type TaskLogs } from "../core/logs.js";
import type { State } from "../core/rollout.js";
import type { StoppedTask } from "../core/verdict.js";

/** A stopped task as the record keeps it: with its containers' last lines, or why there are none. */
export type ReportedTask = StoppedTask & { logLines?: string[]; logNote?: string };

export interface FailureLogsOptions {
  client: CloudWatchLogsClient;
  /** --log-lines; 0 turns reading off (no call at all). */
  lines: number;
  /** The region the Logs client talks to. */
  region: string;
  /** Failed tasks read per component over the whole run (the newest known when reading starts). Default DEFAULT_MAX_TASKS. */
  maxTasks?: number;
  /** Per GetLogEvents call (adapter default 5 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Whether the component's logs may be read now: a rollback is under way, or the component is decided without success. */
export function mayReadLogs(s: State): boolean {
  if (s.rollback !== null) return true;
  return s.phase === "done" && s.outcome !== null && s.outcome.verdict !== "succeeded" && s.outcome.verdict !== "not-started";
}

export class FailureLogs {
  private readonly requested = new Map<string, Set<string>>();
  private readonly reads = new Map<string, Array<Promise<void>>>();
  private readonly found = new Map<string, TaskLogs>();

  constructor(private readonly o: FailureLogsOptions) {}

  get enabled(): boolean {
    return this.o.lines > 0;
  }

  /**
   * Starts reading the failed tasks of `component` not read yet, up to the per-component budget, if the state allows
   * it (mayReadLogs). Returns at once; never throws.
   */
  consider(component: string, s: State, definitions: readonly ContainerDefinition[] | undefined): void {
    if (!this.enabled || !mayReadLogs(s)) return;
    const asked = this.requested.get(component) ?? new Set<string>();
    this.requested.set(component, asked);
    const budget = (this.o.maxTasks ?? DEFAULT_MAX_TASKS) - asked.size;
    if (budget <= 0) return;
    const fresh = s.stoppedTasks.filter((t) => t.failed && t.taskArn !== "" && !asked.has(t.taskArn)).slice(-budget);
    if (fresh.length === 0) return;
    for (const t of fresh) asked.add(t.taskArn);
    if (definitions === undefined || definitions.length === 0) {
      for (const t of fresh) this.found.set(t.taskArn, { taskArn: t.taskArn, taskId: t.taskId, logLines: [], logNote: "logs unavailable: the task definition's containers are not known to this run" });
      return;
    }
    const read = readFailedTaskLogs(this.o.client, fresh, definitions, {
      lines: this.o.lines,
      region: this.o.region,
      maxTasks: fresh.length,
      ...(this.o.timeoutMs !== undefined ? { timeoutMs: this.o.timeoutMs } : {}),
      ...(this.o.signal ? { signal: this.o.signal } : {}),
    }).then(
      (logs) => {
        for (const l of logs) this.found.set(l.taskArn, l);
      },
      () => {}, // readFailedTaskLogs never rejects; belt and braces for the release's sake
    );
    this.reads.set(component, [...(this.reads.get(component) ?? []), read]);
  }

  /**
   * Waits for every read in flight, at most `ms` (the caller's clock sleep). Reads still out then get a note saying so
   * when merged; they are not cancelled (their own timeout ends them).
   */
  async settle(sleep: (ms: number) => Promise<void>, ms: number): Promise<void> {
    const all = [...this.reads.values()].flat();
    if (all.length === 0) return;
    await Promise.race([Promise.all(all), sleep(ms)]);
  }

  /** The stopped tasks with what was read merged in (logLines, logNote); tasks not asked for are unchanged. */
  merge(component: string, tasks: readonly StoppedTask[], final = false): ReportedTask[] {
    const asked = this.requested.get(component);
    if (asked === undefined) return [...tasks];
    return tasks.map((t) => {
      const got = this.found.get(t.taskArn);
      if (got !== undefined) return { ...t, logLines: got.logLines, ...(got.logNote !== undefined ? { logNote: got.logNote } : {}) };
      if (final && asked.has(t.taskArn)) return { ...t, logLines: [], logNote: "logs unavailable: CloudWatch Logs had not answered when the report was written" };
      return t;
    });
  }
}
