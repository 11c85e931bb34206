/**
 * CloudWatch Logs: the last lines of a failed task's containers, for the failure report and the release record.
 * Bounded and harmless by construction: only failed tasks, at most a few per component, one GetLogEvents call per
 * container, all in parallel, each with its own timeout and the caller's abort signal. Never throws: whatever goes
 * wrong becomes the task's one-line logNote.
 */
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import {
  DEFAULT_MAX_TASKS,
  eventsToLines,
  logsErrorNote,
  logTargets,
  taskIdFromArn,
  type ApiErrorLike,
  type FailedTaskLike,
  type LogTarget,
  type TaskLogs,
} from "../core/logs.js";
import { logsSdk } from "./sdk.js";

export type { TaskLogs } from "../core/logs.js";

export interface ReadLogsOptions {
  /** Last lines per task (--log-lines). 0 turns it off: no API call, empty result. */
  lines: number;
  /** The region the client talks to. A log group in another region gets a note instead of a call. */
  region: string;
  /** Failed tasks read per call (the last ones given, i.e. the newest). Default DEFAULT_MAX_TASKS (3). */
  maxTasks?: number;
  /** Per GetLogEvents call. Default 5 s. */
  timeoutMs?: number;
  /** Aborts every call in flight (a second SIGINT, the abort grace running out). */
  signal?: AbortSignal;
}

export const DEFAULT_LOGS_TIMEOUT_MS = 5_000;

/**
 * Reads the last `lines` lines of each failed task's essential or crashed containers. `tasks` are the component's
 * failed tasks in the order they were seen (tasks with `failed: false` are ignored); `definitions` are the container
 * definitions of their task definition (the rendered RegisterTaskDefinition input, or DescribeTaskDefinition's).
 * Resolves with one entry per task read, in the order given; never rejects.
 */
export async function readFailedTaskLogs(
  client: CloudWatchLogsClient,
  tasks: ReadonlyArray<FailedTaskLike & { failed?: boolean }>,
  definitions: readonly ContainerDefinition[],
  o: ReadLogsOptions,
): Promise<TaskLogs[]> {
  if (o.lines <= 0) return [];
  const max = o.maxTasks ?? DEFAULT_MAX_TASKS;
  const chosen = tasks.filter((t) => t.failed !== false && t.taskArn !== undefined);
  return Promise.all(chosen.slice(Math.max(0, chosen.length - max)).map((t) => readTaskLogs(client, t, definitions, o)));
}

/** The last lines of one task's essential or crashed containers. Never rejects. */
export async function readTaskLogs(client: CloudWatchLogsClient, task: FailedTaskLike, definitions: readonly ContainerDefinition[], o: ReadLogsOptions): Promise<TaskLogs> {
  const taskArn = task.taskArn ?? "";
  const base = { taskArn, taskId: taskIdFromArn(taskArn) };
  if (o.lines <= 0) return { ...base, logLines: [] };
  const { targets, skipped } = logTargets(task, definitions, o.region);
  const notes = skipped.map((s) => s.note);
  const results = await Promise.all(targets.map((t) => readTarget(client, t, o)));
  const several = targets.length > 1;
  const logLines: string[] = [];
  for (const [i, r] of results.entries()) {
    if (r.note !== undefined) notes.push(r.note);
    logLines.push(...r.lines.map((l) => (several ? `[${targets[i]!.container}] ${l}` : l)));
  }
  if (targets.length === 0 && notes.length === 0) notes.push("logs unavailable: the task definition names no container to read");
  return { ...base, logLines, ...(notes.length > 0 ? { logNote: notes.join("; ") } : {}) };
}

async function readTarget(client: CloudWatchLogsClient, target: LogTarget, o: ReadLogsOptions): Promise<{ lines: string[]; note?: string }> {
  if (target.region !== o.region) {
    return { lines: [], note: `logs unavailable: log group ${target.group} is in ${target.region}, the helper reads CloudWatch Logs in ${o.region}` };
  }
  try {
    const out = await withDeadline(o.timeoutMs ?? DEFAULT_LOGS_TIMEOUT_MS, o.signal, async (abortSignal) => {
      const { GetLogEventsCommand } = await logsSdk();
      // startFromHead false: the newest page, i.e. the last `limit` events (returned oldest first).
      return client.send(new GetLogEventsCommand({ logGroupName: target.group, logStreamName: target.stream, startFromHead: false, limit: o.lines }), { abortSignal });
    });
    const lines = eventsToLines(out.events ?? [], o.lines);
    return lines.length > 0 ? { lines } : { lines, note: `no log lines in ${target.group} (stream ${target.stream}): the container wrote nothing before it stopped` };
  } catch (error) {
    return { lines: [], note: logsErrorNote(error as ApiErrorLike, target) };
  }
}

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/**
 * Runs fn with an abort signal that fires after ms or when `outer` aborts, and settles by then whatever fn does (the
 * SDK may be sleeping between retries, where an abort signal is not looked at).
 */
async function withDeadline<T>(ms: number, outer: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    const fail = (e: Error) => {
      ctl.abort(e);
      reject(e);
    };
    if (outer?.aborted) return fail(named("AbortError", "aborted"));
    timer = setTimeout(() => fail(named("LgtmLogsTimeout", `${Math.round(ms / 100) / 10}s`)), ms);
    onAbort = () => fail(named("AbortError", "aborted"));
    outer?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    if (ctl.signal.aborted) return await deadline;
    return await Promise.race([fn(ctl.signal), deadline]);
  } finally {
    clearTimeout(timer);
    if (onAbort) outer?.removeEventListener("abort", onAbort);
  }
}
