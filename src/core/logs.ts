/**
 * Container log lines for the failure report: which awslogs streams to read for a failed task, how to print what came
 * back, and how to say in one line why nothing came back. Pure: no I/O (src/adapters/logs.ts reads the streams).
 */
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import { InvalidInputError } from "./errors.js";

/** Lines per task when --log-lines is not given; 0 turns the feature off. */
export const DEFAULT_LOG_LINES = 20;
/** Upper bound for --log-lines: the report is for a CI console, not a log viewer. */
export const MAX_LOG_LINES = 200;
/** Failed tasks whose logs are read per component (the newest ones): bounded API use. */
export const DEFAULT_MAX_TASKS = 3;
/** Containers read per task (essential or crashed ones only). */
export const MAX_CONTAINERS_PER_TASK = 3;
/** Characters of one log line kept in the record and printed in the report. */
export const MAX_LINE_CHARS = 200;

/** What the record keeps per task (added to each stopped task by the engine). */
export interface TaskLogs {
  taskArn: string;
  taskId: string;
  /** The container's last lines, oldest first, escaped and truncated (formatLogLine). Empty when unavailable. */
  logLines: string[];
  /** One line saying why there are no (or fewer) lines: missing stream, access denied, timeout... */
  logNote?: string;
}

/** One awslogs stream to read. */
export interface LogTarget {
  container: string;
  group: string;
  region: string;
  /** <awslogs-stream-prefix>/<container name>/<task id> (the awslogs driver's naming on Fargate). */
  stream: string;
}

/** The fields of an ECS Task (or the engine's StoppedTask) this module looks at. */
export interface FailedTaskLike {
  taskArn?: string;
  stopCode?: string;
  containers?: ReadonlyArray<{ name?: string; exitCode?: number }>;
}

/** A container that cannot be read, with the reason (becomes part of the task's logNote). */
export interface SkippedContainer {
  container: string;
  note: string;
}

export function taskIdFromArn(taskArn: string): string {
  return taskArn.split("/").pop() ?? taskArn;
}

/** Validates --log-lines: a whole number 0..MAX_LOG_LINES (0 = off). */
export function parseLogLines(value: string | number | undefined, flag = "--log-lines"): number {
  if (value === undefined) return DEFAULT_LOG_LINES;
  const text = String(value).trim();
  if (!/^\d{1,6}$/.test(text) || Number(text) > MAX_LOG_LINES) {
    throw new InvalidInputError(`invalid ${flag} "${String(value)}": expected a whole number from 0 (off) to ${MAX_LOG_LINES}`);
  }
  return Number(text);
}

/**
 * The containers of a failed task worth reading: the ones that exited non-zero plus the essential ones (ECS treats a
 * container without `essential` as essential), in task definition order, at most MAX_CONTAINERS_PER_TASK.
 */
export function containersToRead(task: FailedTaskLike, definitions: readonly ContainerDefinition[]): string[] {
  const crashed = new Set((task.containers ?? []).filter((c) => c.name !== undefined && c.exitCode !== undefined && c.exitCode !== 0).map((c) => c.name!));
  const names = definitions.filter((d) => d.name !== undefined && (d.essential !== false || crashed.has(d.name))).map((d) => d.name!);
  for (const name of crashed) if (!names.includes(name)) names.push(name);
  return names.slice(0, MAX_CONTAINERS_PER_TASK);
}

/** Where each chosen container of a failed task logs to, or why it cannot be read. */
export function logTargets(task: FailedTaskLike, definitions: readonly ContainerDefinition[], defaultRegion: string): { targets: LogTarget[]; skipped: SkippedContainer[] } {
  const targets: LogTarget[] = [];
  const skipped: SkippedContainer[] = [];
  if (task.taskArn === undefined) return { targets, skipped: [{ container: "?", note: "logs unavailable: the task has no ARN" }] };
  const taskId = taskIdFromArn(task.taskArn);
  // No container ran (image pull, ENI, secrets...): there is no stream to read, so spare the call.
  if (task.stopCode === "TaskFailedToStart" && !(task.containers ?? []).some((c) => c.exitCode !== undefined)) {
    return { targets, skipped: [{ container: "*", note: "logs unavailable: the task failed to start (TaskFailedToStart), so no container wrote logs" }] };
  }
  for (const name of containersToRead(task, definitions)) {
    const def = definitions.find((d) => d.name === name);
    const log = def?.logConfiguration;
    if (def === undefined) {
      skipped.push({ container: name, note: `logs unavailable: container ${name} is not in the task definition` });
    } else if (log?.logDriver !== "awslogs") {
      skipped.push({ container: name, note: `logs unavailable: container ${name} logs with ${log?.logDriver ?? "no log driver"}, not awslogs` });
    } else if (!log.options?.["awslogs-group"]) {
      skipped.push({ container: name, note: `logs unavailable: container ${name} has no awslogs-group` });
    } else if (!log.options["awslogs-stream-prefix"]) {
      skipped.push({ container: name, note: `logs unavailable: container ${name} has no awslogs-stream-prefix, so its stream name is unknown` });
    } else {
      const o = log.options;
      targets.push({ container: name, group: o["awslogs-group"]!, region: o["awslogs-region"] || defaultRegion, stream: `${o["awslogs-stream-prefix"]}/${name}/${taskId}` });
    }
  }
  return { targets, skipped };
}

// C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text (bidi overrides, isolates,
// zero-width joiners, BOM): a log line must not move the cursor, colour the console or disguise itself.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/gu;

/** Tabs become two spaces, other control characters \xNN / \u{NNNN}. Idempotent. */
export function escapeControls(line: string): string {
  return line.replace(/\r$/, "").replace(/\t/g, "  ").replace(/\n/g, "\\n").replace(UNSAFE, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

/** One printable line: control characters escaped (escapeControls), cut after maxChars characters. */
export function formatLogLine(line: string, maxChars = MAX_LINE_CHARS): string {
  const safe = escapeControls(line);
  const chars = [...safe];
  if (chars.length <= maxChars) return safe;
  return `${chars.slice(0, maxChars).join("")}… (+${chars.length - maxChars} chars)`;
}

/**
 * CloudWatch events to report lines, oldest first: each event may hold several lines (a multi-line pattern, a stack
 * trace); the last `limit` lines are kept. Events are sorted by timestamp (stable, so equal timestamps keep the
 * order the API returned).
 */
export function eventsToLines(events: ReadonlyArray<{ timestamp?: number; message?: string }>, limit: number): string[] {
  const sorted = events.map((e, i) => ({ e, i })).sort((a, b) => (a.e.timestamp ?? 0) - (b.e.timestamp ?? 0) || a.i - b.i);
  const lines = sorted.flatMap(({ e }) => (e.message ?? "").replace(/\r?\n$/, "").split(/\r?\n/));
  return lines.slice(Math.max(0, lines.length - limit)).map((l) => formatLogLine(l));
}

export interface ApiErrorLike {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Why GetLogEvents gave nothing, in one line an operator can act on. */
export function logsErrorNote(error: ApiErrorLike, target: LogTarget): string {
  const name = error.name ?? "Error";
  const where = `${target.group} (stream ${target.stream})`;
  const firstLine = (error.message ?? "").split("\n")[0]!.slice(0, 160);
  switch (name) {
    case "AccessDeniedException":
    case "UnauthorizedOperation":
    case "AccessDenied":
      return `logs unavailable: AccessDeniedException on logs:GetLogEvents for ${target.group} — add it to the Jenkins role (iam/jenkins-deploy-policy.json)`;
    case "ResourceNotFoundException":
      return /group/i.test(firstLine)
        ? `logs unavailable: log group ${target.group} does not exist in ${target.region}`
        : `logs unavailable: no log stream ${target.stream} in ${target.group} (the container may never have started)`;
    case "ThrottlingException":
    case "TooManyRequestsException":
    case "LimitExceededException":
      return `logs unavailable: CloudWatch Logs throttled the request (${name}) for ${where}`;
    case "LgtmLogsTimeout":
      return `logs unavailable: CloudWatch Logs did not answer within ${firstLine} for ${where}`;
    case "AbortError":
      return `logs unavailable: aborted before CloudWatch Logs answered for ${where}`;
    default:
      return `logs unavailable: ${name}${firstLine ? `: ${firstLine}` : ""} for ${where}`;
  }
}

/** The report lines for one task's logs, indented under the task line. */
export function formatTaskLogs(logs: Pick<TaskLogs, "logLines" | "logNote">, indent = "      "): string[] {
  const out: string[] = [];
  if (logs.logLines.length > 0) {
    out.push(`${indent}last ${logs.logLines.length} log line(s):`);
    // Already formatted when read; escaping again is harmless and keeps hand-made records safe to print.
    for (const l of logs.logLines) out.push(`${indent}  | ${escapeControls(l)}`);
  }
  if (logs.logNote) out.push(`${indent}${formatLogLine(logs.logNote, 400)}`);
  return out;
}
