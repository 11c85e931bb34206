/**
 * Stopped-task classification: is a stopped task a failure, and if so, will it repeat on every launch?
 *
 *   none           not a failure: the scheduler (scale-in, a deployment replacing the task, rebalancing, Fargate task
 *                  retirement), a user or a Spot interruption stopped it — unless the reason is a health check;
 *   deterministic  the next launch fails the same way (image missing, wrong CPU architecture, a secret that does not
 *                  exist or cannot be read, a command that does not exist, a crash seconds after start that was
 *                  never healthy), so a release can fail without waiting for a second launch;
 *   transient      a failure that may not repeat (capacity, network interfaces, platform errors, throttling, pull
 *                  timeouts, out of memory, a crash after the task had run a while, failed health checks): it counts
 *                  toward --max-failed-tasks.
 *
 * "deterministic" needs positive evidence in the AWS text or the task's own timestamps; anything else that is a failure
 * is transient, because calling a transient failure deterministic aborts a release that would have succeeded, while
 * the opposite mistake only costs one more launch. Pure: no I/O and no clock — durations come from the task's
 * timestamps. The table, with the AWS pages each pattern comes from: docs/failure-classification.md.
 */
import type { Container, Task } from "@aws-sdk/client-ecs";

export type FailureKind = "none" | "transient" | "deterministic";

export interface Classification {
  kind: FailureKind;
  /** The AWS error or stop code the decision rests on: "CannotPullContainerError", "EssentialContainerExited", ... */
  code: string;
  /** Which rule decided (a key of CAUSES): stable for tests, records and the docs table. */
  cause: Cause;
  /** One line of at most SUMMARY_MAX characters: what happened, with the AWS text truncated in the middle. */
  summary: string;
  /** The container the decision is about (a crash), when there is one. */
  container?: string;
  exitCode?: number;
  /** How long that container ran, in ms, when the task's timestamps tell (an upper bound). */
  ranMs?: number;
}

/** What the caller knows beyond the Task itself. Everything is optional. */
export interface ClassifyContext {
  /** The watcher saw this task HEALTHY (or, without a health check, RUNNING long enough) before it stopped. */
  seenHealthy?: boolean;
  /** Names of the essential containers (from the task definition); a crash is looked for among these first. */
  essentialContainers?: readonly string[];
  /** A non-zero exit this soon after start, never healthy, is deterministic. Default DEFAULT_QUICK_EXIT_MS. */
  quickExitMs?: number;
}

/** Long enough for a bad flag, a config the binary rejects, a missing file or a wrong-architecture binary to exit;
 * short enough that a dependency that is slow or down right now (S3, a database) usually is not yet reported. */
export const DEFAULT_QUICK_EXIT_MS = 10_000;
export const SUMMARY_MAX = 200;
/** How much of an AWS message a summary keeps (head and tail, "…" in the middle). */
const AWS_TEXT_MAX = 150;

/** Every rule: its class and the words a summary starts with. The docs table lists the same keys. */
export const CAUSES = {
  "image-not-found": { kind: "deterministic", label: "image not found" },
  "wrong-architecture": { kind: "deterministic", label: "image built for another CPU architecture" },
  "image-access-denied": { kind: "deterministic", label: "image cannot be read" },
  "invalid-image-reference": { kind: "deterministic", label: "invalid image reference" },
  "secret-not-found": { kind: "deterministic", label: "secret or parameter does not exist" },
  "secret-access-denied": { kind: "deterministic", label: "secret, parameter or registry auth cannot be read" },
  "log-config": { kind: "deterministic", label: "log group missing or not writable" },
  "env-file-missing": { kind: "deterministic", label: "environment file missing or not readable" },
  "command-not-found": { kind: "deterministic", label: "command not found in the image" },
  "command-not-executable": { kind: "deterministic", label: "command cannot be executed" },
  "quick-crash": { kind: "deterministic", label: "crashed right after start, never healthy" },
  "pull-throttled": { kind: "transient", label: "image pull throttled" },
  "pull-timeout": { kind: "transient", label: "image pull timed out" },
  "pull-network": { kind: "transient", label: "image pull network error" },
  "pull-server-error": { kind: "transient", label: "registry server error" },
  "pull-failed": { kind: "transient", label: "image pull failed" },
  "secrets-throttled": { kind: "transient", label: "secrets retrieval throttled" },
  "secrets-timeout": { kind: "transient", label: "secrets retrieval timed out" },
  "secrets-network": { kind: "transient", label: "secrets retrieval network error" },
  "secrets-server-error": { kind: "transient", label: "secrets retrieval server error" },
  "resource-init-failed": { kind: "transient", label: "task resources failed to initialize" },
  "start-failed": { kind: "transient", label: "container failed to start" },
  "runtime-timeout": { kind: "transient", label: "container runtime timed out" },
  "platform-error": { kind: "transient", label: "platform error" },
  "out-of-memory": { kind: "transient", label: "out of memory" },
  capacity: { kind: "transient", label: "no capacity" },
  "network-interface": { kind: "transient", label: "network interface error" },
  crash: { kind: "transient", label: "essential container exited" },
  "elb-health-check": { kind: "transient", label: "failed load balancer health checks" },
  "container-health-check": { kind: "transient", label: "failed container health checks" },
  unhealthy: { kind: "transient", label: "stopped while UNHEALTHY" },
  "failed-to-start": { kind: "transient", label: "task failed to start" },
  "unknown-stop": { kind: "transient", label: "stopped for an unrecognised reason" },
  "scale-in": { kind: "none", label: "stopped by the scheduler (scaling or deployment)" },
  retirement: { kind: "none", label: "stopped for infrastructure maintenance (task retirement)" },
  rebalancing: { kind: "none", label: "stopped to rebalance Availability Zones" },
  "scheduler-stop": { kind: "none", label: "stopped by the service scheduler" },
  "user-stop": { kind: "none", label: "stopped by a user" },
  "spot-interruption": { kind: "none", label: "Spot interruption" },
  "termination-notice": { kind: "none", label: "termination notice" },
} as const satisfies Record<string, { kind: FailureKind; label: string }>;
export type Cause = keyof typeof CAUSES;

/* ------------------------------------------------------------------------------------------------ patterns */

const HEALTH_REASON = /health ?checks?/i;
const ELB_HEALTH = /\b(?:ELB|load ?balancer|target ?group)\b/i;
const ESSENTIAL_EXITED = /essential container in task exited/i;
/** Exits caused by a signal from outside the process (SIGTERM, SIGKILL): never proof of a bad build on their own. */
const SIGNAL_EXITS = new Set([137, 143]);

/** Transient markers, tried before a family's deterministic patterns: a timeout that mentions "not found" is a timeout. */
const TRANSIENT_MARKERS: ReadonlyArray<[suffix: "throttled" | "timeout" | "network" | "server-error", RegExp]> = [
  ["throttled", /throttl|rate exceeded|too ?many ?requests|pull rate limit/i],
  ["timeout", /i\/o timeout|timed? ?out|timeout|deadline exceeded|context cancel+ed|request cancel+ed/i],
  ["network", /connection (?:reset|refused)|broken pipe|no such host|TLS handshake|network is unreachable|send request failed|RequestError/i],
  ["server-error", /status ?code:? ?5\d\d|API error \(5\d\d\)|service ?unavailable|internal ?server ?error|InternalFailure/i],
];

type Pattern = readonly [Cause, RegExp];

const PULL_DETERMINISTIC: readonly Pattern[] = [
  ["wrong-architecture", /descriptor matching platform|no matching manifest for|no match for platform|exec format error/i],
  ["invalid-image-reference", /invalid reference format/i],
  ["image-not-found", /not found|manifest unknown|name unknown|does not exist/i],
  ["image-access-denied", /pull access denied|access ?denied|not authorized|forbidden|\b403\b/i],
];
const SECRETS_DETERMINISTIC: readonly Pattern[] = [
  ["secret-not-found", /ResourceNotFoundException|can'?t find the specified secret|ParameterNotFound|invalid parameters?\b|does not exist|not found/i],
  ["secret-access-denied", /access ?denied|not authorized|\bKMS\b|decrypt|forbidden|\b403\b/i],
];
const LOGGING_DETERMINISTIC: readonly Pattern[] = [["log-config", /ResourceNotFoundException|does not exist|access ?denied|not authorized/i]];
const ENV_FILE_DETERMINISTIC: readonly Pattern[] = [["env-file-missing", /NoSuch(?:Key|Bucket)|access ?denied|forbidden|\b403\b|not found|does not exist/i]];
const START_DETERMINISTIC: readonly Pattern[] = [
  ["wrong-architecture", /exec format error/i],
  // Only the runtime's words about the command itself: "no such file" elsewhere in a runtime error can be transient.
  ["command-not-found", /executable file not found|not found in \$PATH|exec:? "?[^":]*"?: (?:stat [^:]*: )?no such file or directory/i],
  ["command-not-executable", /exec:? "?[^":]*"?: (?:permission denied|is a directory|not a directory)|invalid command/i],
];

interface Family {
  code: string;
  test: RegExp;
  deterministic: readonly Pattern[];
  /** Prefix of the transient causes for the markers (e.g. "pull" → "pull-timeout"); none: always `fallback`. */
  markers?: "pull" | "secrets";
  fallback: Cause;
}

/** Error families by the AWS error name that starts the message (stopped-task-error-codes.html), most specific first. */
const FAMILIES: readonly Family[] = [
  { code: "OutOfMemoryError", test: /OutOfMemoryError|killed due to memory usage/i, deterministic: [], fallback: "out-of-memory" },
  { code: "CannotPullContainerError", test: /CannotPullContainerError/i, deterministic: PULL_DETERMINISTIC, markers: "pull", fallback: "pull-failed" },
  // Before ResourceInitializationError: Fargate wraps runtime start failures as "CannotStartContainerError:
  // ResourceInitializationError: failed to create new container runtime task: ... OCI runtime create failed: ...".
  { code: "CannotStartContainerError", test: /CannotStartContainerError|OCI runtime create failed|failed to create (?:containerd|shim) task/i, deterministic: START_DETERMINISTIC, fallback: "start-failed" },
  {
    code: "ResourceInitializationError",
    test: /ResourceInitializationError[^|]*(?:secrets|registry auth|\bssm\b|\basm\b)/i,
    deterministic: SECRETS_DETERMINISTIC,
    markers: "secrets",
    fallback: "resource-init-failed",
  },
  { code: "ResourceInitializationError", test: /ResourceInitializationError[^|]*(?:logging driver|logger|log group|log stream)/i, deterministic: LOGGING_DETERMINISTIC, fallback: "resource-init-failed" },
  { code: "ResourceInitializationError", test: /ResourceInitializationError[^|]*env ?files?/i, deterministic: ENV_FILE_DETERMINISTIC, fallback: "resource-init-failed" },
  { code: "ResourceInitializationError", test: /ResourceInitializationError[^|]*(?:network interface|\bENI\b)/i, deterministic: [], fallback: "network-interface" },
  { code: "ResourceInitializationError", test: /ResourceInitializationError/i, deterministic: [], fallback: "resource-init-failed" },
  { code: "ContainerRuntimeTimeoutError", test: /ContainerRuntimeTimeoutError|DockerTimeoutError/i, deterministic: [], fallback: "runtime-timeout" },
  { code: "PlatformError", test: /Cannot(?:Stop|Inspect|Create)Container(?:Error)?|CannotCreateVolumeError|ContainerRuntimeError|\bInternalError\b/i, deterministic: [], fallback: "platform-error" },
  // A wrong-architecture binary can also surface only as the container's reason.
  { code: "ExecFormatError", test: /exec format error/i, deterministic: [], fallback: "wrong-architecture" },
];

/** Task-level reasons without an AWS error name (placement, ENIs): matched against stoppedReason only. */
const PLATFORM_REASONS: readonly Pattern[] = [
  ["capacity", /RESOURCE:\w+|insufficient capacity|capacity is unavailable|no capacity/i],
  ["network-interface", /network interface|\bENI\b/i],
];

/* ------------------------------------------------------------------------------------------------ classify */

/** Classifies a STOPPED task as DescribeTasks returns it. Never throws, whatever subset of fields is present. */
export function classifyStoppedTask(task: Task, ctx: ClassifyContext = {}): Classification {
  const reason = oneLine(task.stoppedReason);
  const containers = Array.isArray(task.containers) ? task.containers.filter((c): c is Container => typeof c === "object" && c !== null) : [];
  const stopCode = typeof task.stopCode === "string" ? task.stopCode : undefined;

  const health = healthStop(task, reason, stopCode);
  if (health) return health;
  switch (stopCode) {
    case "UserInitiated":
      return result("user-stop", stopCode, reason);
    case "SpotInterruption":
      return result("spot-interruption", stopCode, reason);
    case "TerminationNotice":
      return result("termination-notice", stopCode, reason);
    case "ServiceSchedulerInitiated":
      return schedulerStop(stopCode, reason);
  }

  const text = [...new Set([reason, ...containers.map((c) => oneLine(c.reason))])].filter((s) => s !== "").join(" | ");
  const family = matchFamily(text);
  if (family) return family;
  if (stopCode === "EssentialContainerExited" || ESSENTIAL_EXITED.test(reason)) return crash(task, containers, ctx);
  for (const [cause, re] of PLATFORM_REASONS) if (re.test(reason)) return result(cause, stopCode ?? "TaskFailedToStart", reason);
  if (stopCode === "TaskFailedToStart") return result("failed-to-start", stopCode, text);
  // No or an unknown stop code: the scheduler's own texts are still recognised; anything else counts.
  if (stopCode === undefined && /Scaling activity initiated by|maintenance on the underlying infrastructure/i.test(reason)) {
    return schedulerStop("ServiceSchedulerInitiated", reason);
  }
  return result("unknown-stop", stopCode ?? "NoStopCode", text);
}

function healthStop(task: Task, reason: string, stopCode: string | undefined): Classification | undefined {
  if (HEALTH_REASON.test(reason)) {
    const elb = ELB_HEALTH.test(reason);
    return result(elb ? "elb-health-check" : "container-health-check", stopCode ?? "HealthCheck", reason);
  }
  // The scheduler stopping a task that reports UNHEALTHY is a health-check failure whatever the reason text says.
  if (task.healthStatus === "UNHEALTHY" && (stopCode === "ServiceSchedulerInitiated" || stopCode === undefined)) {
    return result("unhealthy", stopCode ?? "HealthCheck", reason);
  }
  return undefined;
}

function schedulerStop(code: string, reason: string): Classification {
  if (/rebalanc/i.test(reason)) return result("rebalancing", code, reason);
  if (/maintenance on the underlying infrastructure|retire/i.test(reason)) return result("retirement", code, reason);
  if (/Scaling activity initiated by|scal(?:e|ing)[ -]in|deployment/i.test(reason)) return result("scale-in", code, reason);
  return result("scheduler-stop", code, reason);
}

function matchFamily(text: string): Classification | undefined {
  if (text === "") return undefined;
  for (const f of FAMILIES) {
    if (!f.test.test(text)) continue;
    if (f.markers) {
      for (const [suffix, re] of TRANSIENT_MARKERS) if (re.test(text)) return result(`${f.markers}-${suffix}` as const, f.code, text);
    }
    for (const [cause, re] of f.deterministic) if (re.test(text)) return result(cause, f.code, text);
    return result(f.fallback, f.code, text);
  }
  return undefined;
}

/** An essential container exited: deterministic only when it ran for seconds, exited non-zero by itself and was never healthy. */
function crash(task: Task, containers: readonly Container[], ctx: ClassifyContext): Classification {
  const c = culprit(containers, ctx.essentialContainers);
  const name = typeof c?.name === "string" ? c.name : undefined;
  const exitCode = typeof c?.exitCode === "number" && Number.isFinite(c.exitCode) ? c.exitCode : undefined;
  const ranMs = runtimeMs(task);
  const quick = Number.isFinite(ctx.quickExitMs) ? (ctx.quickExitMs as number) : DEFAULT_QUICK_EXIT_MS;
  const healthy = ctx.seenHealthy === true || task.healthStatus === "HEALTHY" || c?.healthStatus === "HEALTHY";
  const deterministic = exitCode !== undefined && exitCode !== 0 && !SIGNAL_EXITS.has(exitCode) && ranMs !== undefined && ranMs <= quick && !healthy;
  const what = [
    `${name ?? "container"} exited ${exitCode ?? "(no exit code)"}`,
    ranMs !== undefined ? `${formatMs(ranMs)} after start` : undefined,
    healthy ? "after being healthy" : deterministic ? "never healthy" : undefined,
  ]
    .filter((s) => s !== undefined)
    .join(", ");
  const cause: Cause = deterministic ? "quick-crash" : "crash";
  return {
    kind: CAUSES[cause].kind,
    code: "EssentialContainerExited",
    cause,
    summary: bound(`${CAUSES[cause].label}: ${what}`),
    ...(name !== undefined ? { container: name } : {}),
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(ranMs !== undefined ? { ranMs } : {}),
  };
}

/** The container whose exit explains the stop: an essential one that failed by itself, before ones ECS then stopped. */
function culprit(containers: readonly Container[], essential: readonly string[] | undefined): Container | undefined {
  const named = essential && essential.length > 0 ? containers.filter((c) => typeof c.name === "string" && essential.includes(c.name)) : [];
  const pool = named.length > 0 ? named : containers;
  const code = (c: Container): number | undefined => (typeof c.exitCode === "number" ? c.exitCode : undefined);
  return (
    pool.find((c) => code(c) !== undefined && code(c) !== 0 && !SIGNAL_EXITS.has(code(c)!)) ??
    pool.find((c) => code(c) !== undefined && code(c) !== 0) ??
    pool.find((c) => code(c) !== undefined) ??
    pool[0]
  );
}

/** From the start of the container (startedAt, else the end of the image pull) to the earliest stop timestamp. Every
 * stop timestamp is at or after the exit, so this is an upper bound: it can only make a crash look less quick. */
function runtimeMs(task: Task): number | undefined {
  const start = [task.startedAt, task.pullStoppedAt].map(ms).find((t) => t !== undefined);
  const stops = [task.stoppingAt, task.executionStoppedAt, task.stoppedAt].map(ms).filter((t): t is number => t !== undefined);
  if (start === undefined || stops.length === 0) return undefined;
  const ran = Math.min(...stops) - start;
  return ran >= 0 ? ran : undefined;
}

function ms(d: unknown): number | undefined {
  const t = d instanceof Date ? d.getTime() : typeof d === "number" ? d : NaN;
  return Number.isFinite(t) ? t : undefined;
}

function result(cause: Cause, code: string, awsText: string): Classification {
  const { kind, label } = CAUSES[cause];
  return { kind, code, cause, summary: bound(awsText ? `${label}: ${truncateMiddle(awsText, AWS_TEXT_MAX)}` : label) };
}

/* ------------------------------------------------------------------------------------------------ printing */

/** The release engine's line for a failure it acts on, e.g. "first failure is deterministic: CannotPullContainerError
 * (image not found: …) — not waiting for a second launch". */
export function describeClassification(c: Classification): string {
  switch (c.kind) {
    case "deterministic":
      return `first failure is deterministic: ${c.code} (${c.summary}) — not waiting for a second launch`;
    case "transient":
      return `failure may be transient: ${c.code} (${c.summary}) — counts toward --max-failed-tasks`;
    default:
      return `not a failure: ${c.code} (${c.summary})`;
  }
}

const KIND_WORDS: Record<FailureKind, string> = { none: "not a failure", transient: "transient failure", deterministic: "deterministic failure" };

/** A per-task progress line: "task 1a2b… stopped [EssentialContainerExited]: deterministic failure — …". */
export function describeStop(task: Task, c: Classification): string {
  const id = (typeof task.taskArn === "string" ? oneLine(task.taskArn.split("/").pop()) : "") || "?";
  const stopCode = typeof task.stopCode === "string" && (task.stopCode as string) !== "" ? task.stopCode : "no stopCode";
  const code = c.code !== task.stopCode ? `${c.code}: ` : "";
  return `task ${truncateMiddle(id, 40)} stopped [${stopCode}]: ${KIND_WORDS[c.kind]} — ${code}${c.summary}`;
}

/** One line: control characters and runs of whitespace become one space. */
export function oneLine(s: unknown): string {
  return typeof s === "string" ? s.replace(/[\s\p{Cc}\u2028\u2029]+/gu, " ").trim() : "";
}

/** Keeps the head (the error name) and the tail (where AWS puts the root cause), with "…" between. */
export function truncateMiddle(s: string, max: number): string {
  const chars = Array.from(s);
  if (chars.length <= max) return s;
  const head = Math.ceil((max - 1) * 0.6);
  const tail = max - 1 - head;
  return `${chars.slice(0, head).join("").trimEnd()}…${chars.slice(chars.length - tail).join("").trimStart()}`;
}

function bound(s: string): string {
  return truncateMiddle(oneLine(s), SUMMARY_MAX);
}

function formatMs(n: number): string {
  return n < 120_000 ? `${Math.round(n / 1000)}s` : `${Math.round(n / 60_000)}m`;
}
