/**
 * Flags and plumbing shared by `deploy` and `rollback`: the watch flags and the one place that decides whether they
 * are sane together, record paths, clients, the engine's options and the combined exit code.
 */
import path from "node:path";
import { Command, Option } from "commander";
import type { AwsClients } from "../adapters/aws.js";
import { CallAborted, bounded } from "../adapters/ecs.js";
import { systemClock } from "../adapters/clock.js";
import type { Environment } from "../core/environment.js";
import { ExitCode, InvalidInputError, PreconditionError, type LgtmError } from "../core/errors.js";
import { seconds, wrap } from "../core/names.js";
import { DEFAULT_MAX_FAILED_TASKS, type Rules } from "../core/rollout.js";
import type { ComponentOutcome, EngineOptions } from "../engine/driver.js";
import { CONSOLE_WIDTH, makeEmitter, withEventsFile } from "../engine/progress.js";
import { randomUUID } from "node:crypto";
import { initialState } from "../core/rollout.js";
import { checkRecordPath, writeRecord } from "../engine/record.js";
import { buildRecord, type RecordSubject } from "../engine/report.js";
import { awsClients, type GlobalOptions, type Io } from "./context.js";
import { parseDuration, parseNonNegativeInt } from "./options.js";

export interface WatchFlags {
  /** undefined: each component's default (core/release-timeout.ts, docs/rollout-timeouts.md). */
  timeout?: number;
  /** undefined: each component's default (40 s + one health-check cycle, see core/bake.ts). */
  bake?: number;
  pollInterval: number;
  maxFailedTasks: number;
  failFast: boolean;
  rollback: boolean;
  /** undefined: each component's default, the same figure as its --timeout default. */
  rollbackTimeout?: number;
  waitForIdle: boolean;
  onAbort: "rollback" | "leave";
  abortGrace: number;
  allowZeroDesired: boolean;
  record?: string;
  eventsFile?: string;
  verbose: boolean;
}

/** The watch flags with the timeouts in force for one component (given, or its default). */
export type ResolvedWatchFlags = WatchFlags & { timeout: number; rollbackTimeout: number };

/**
 * Jenkins aborts a `sh` step with SIGTERM and kills what is left SoftKillWaitSeconds later (5 s by default:
 * hudson.util.ProcessTree, JENKINS-17116). The default abort grace leaves room to write the records before that.
 */
export const DEFAULT_ABORT_GRACE_MS = 3_000;

export function addWatchOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--timeout <duration>", "give up on the rollout after this long (default: per component, from its rollout; in prod mimir 1h16m, loki 33m, the others 20m: docs/rollout-timeouts.md)").argParser(parseDuration("--timeout")))
    .addOption(new Option("--bake <duration>", "how long the new revision must stay healthy after COMPLETED (default: 40s + one health-check cycle per component)").argParser(parseDuration("--bake")))
    .addOption(new Option("--poll-interval <duration>", "how often to poll ECS (200ms..60s)").default(5_000, "5s").argParser(parseDuration("--poll-interval")))
    .addOption(new Option("--max-failed-tasks <n>", "fail after this many failed tasks of the new revision (1..200; also the service's circuit breaker threshold)").default(DEFAULT_MAX_FAILED_TASKS).argParser(parseNonNegativeInt("--max-failed-tasks")))
    .option("--no-fail-fast", "count a deterministic first failure like any other instead of failing at once")
    .option("--no-rollback", "do not roll back on failure (exit 4 instead)")
    .addOption(new Option("--rollback-timeout <duration>", "how long the rollback may take to be healthy again (default: the component's --timeout default)").argParser(parseDuration("--rollback-timeout")))
    .option("--wait-for-idle", "wait for an in-flight deployment to finish instead of exiting 5", false)
    .addOption(new Option("--on-abort <action>", "what SIGINT/SIGTERM does during the watch").choices(["rollback", "leave"]).default("rollback"))
    .addOption(new Option("--abort-grace <duration>", "after an abort, watch the rollback this long before exiting (0s..10m)").default(DEFAULT_ABORT_GRACE_MS, "3s").argParser(parseDuration("--abort-grace")))
    .option("--allow-zero-desired", "release a service whose desired count is 0 (nothing runs, so nothing is verified)", false)
    .option("--record <file>", "release record path ({component} is replaced); default lgtm-release-<component>.json")
    .option("--events-file <file>", "also write every progress event to this file, one JSON object per line (times in ms)")
    .option("--verbose", "full ARNs, digests and untruncated lines in the progress output", false);
}

export const LOOPBACK_URL = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/;

/** The endpoint the ECS client will use (the emulator when it is a loopback address). */
export function ecsEndpoint(g: GlobalOptions, io: Io): string | undefined {
  return g.endpointUrl ?? io.env.AWS_ENDPOINT_URL_ECS ?? io.env.AWS_ENDPOINT_URL;
}

/** Every watch flag on its own and together, before anything else happens. Throws naming the flag. */
export function validateWatchFlags(f: WatchFlags, o: { loopback: boolean }): void {
  const bad = (flag: string, why: string) => {
    throw new InvalidInputError(`${flag} ${why}`);
  };
  if (f.eventsFile !== undefined) {
    if (f.eventsFile.trim() === "") bad("--events-file", "is empty");
    const problem = checkRecordPath(path.resolve(f.eventsFile));
    if (problem !== undefined) bad(`--events-file ${f.eventsFile}:`, problem);
  }
  const HOUR = 3_600_000;
  if (f.timeout !== undefined && f.timeout <= 0) bad("--timeout", "must be longer than 0s");
  if (f.timeout !== undefined && f.timeout > 24 * HOUR) bad("--timeout", `must be at most 24h, got ${seconds(f.timeout)}`);
  const minPoll = o.loopback ? 10 : 200;
  if (f.pollInterval < minPoll) bad("--poll-interval", `must be at least ${seconds(minPoll)}${o.loopback ? "" : " (the ECS API is rate-limited)"}, got ${seconds(f.pollInterval)}`);
  if (f.pollInterval > 60_000) bad("--poll-interval", `must be at most 60s, got ${seconds(f.pollInterval)}`);
  if (f.timeout !== undefined && f.pollInterval >= f.timeout) bad("--poll-interval", `(${seconds(f.pollInterval)}) must be shorter than --timeout (${seconds(f.timeout)})`);
  if (f.maxFailedTasks < 1) bad("--max-failed-tasks", "must be at least 1 (the first failed task already fails the release at 1)");
  if (f.maxFailedTasks > 200) bad("--max-failed-tasks", `must be at most 200 (ECS's circuit breaker limit), got ${f.maxFailedTasks}`);
  if (f.rollbackTimeout !== undefined && f.rollbackTimeout <= 0) bad("--rollback-timeout", "must be longer than 0s");
  if (f.rollbackTimeout !== undefined && f.rollbackTimeout > 24 * HOUR) bad("--rollback-timeout", `must be at most 24h, got ${seconds(f.rollbackTimeout)}`);
  // With a default timeout the bake is checked per component, against that component's default.
  if (f.bake !== undefined && f.timeout !== undefined && f.rollbackTimeout !== undefined) checkBake(f.bake, { timeout: f.timeout, rollbackTimeout: f.rollbackTimeout }, "--bake");
  if (f.abortGrace > 10 * 60_000) bad("--abort-grace", `must be at most 10m, got ${seconds(f.abortGrace)}`);
}

/** A bake must end before the timeout (or it can never succeed), and the rollback's bake before the rollback's deadline. */
export function checkBake(bake: number, f: Pick<ResolvedWatchFlags, "timeout" | "rollbackTimeout">, what: string): void {
  if (bake >= f.timeout) throw new InvalidInputError(`${what} (${seconds(bake)}) must be shorter than --timeout (${seconds(f.timeout)}), or the release can never succeed`);
  if (bake >= f.rollbackTimeout) throw new InvalidInputError(`${what} (${seconds(bake)}) must be shorter than --rollback-timeout (${seconds(f.rollbackTimeout)}): a rollback is judged with the same bake`);
}

export function rulesFor(f: ResolvedWatchFlags, bakeMs: number): Rules {
  return {
    maxFailedTasks: f.maxFailedTasks,
    failFast: f.failFast,
    timeoutMs: f.timeout,
    bakeMs,
    rollback: f.rollback,
    rollbackTimeoutMs: f.rollbackTimeout,
    rollbackBakeMs: bakeMs,
    onAbort: f.onAbort,
    abortGraceMs: f.abortGrace,
    allowZeroDesired: f.allowZeroDesired,
    waitForIdle: f.waitForIdle,
    recheckMs: f.pollInterval,
  };
}

export function recordPath(flag: string | undefined, component: string, many: boolean): string {
  if (flag === undefined) return path.resolve(`lgtm-release-${component}.json`);
  if (flag.includes("{component}")) return path.resolve(flag.replaceAll("{component}", component));
  return path.resolve(many ? flag.replace(/(\.json)?$/, `-${component}.json`) : flag);
}

/** Record paths for the components, each proven writable (a file is created and removed) before anything changes. */
export function recordPaths(flag: string | undefined, components: readonly string[], events?: string): Map<string, string> {
  const paths = new Map(components.map((c) => [c, recordPath(flag, c, components.length > 1)]));
  const distinct = new Set(paths.values());
  if (events !== undefined && distinct.has(path.resolve(events))) throw new InvalidInputError(`--events-file ${events}: it is also a record path; give it a file of its own`);
  if (distinct.size < paths.size) throw new InvalidInputError(`--record ${flag}: several components would write the same file; put {component} in the path`);
  for (const file of distinct) {
    const problem = checkRecordPath(file);
    if (problem !== undefined) throw new InvalidInputError(`--record${flag === undefined ? " (default)" : ` ${flag}`}: ${problem}`);
  }
  return paths;
}

/** Severity order for "the worst of the components". */
const SEVERITY: number[] = [ExitCode.Success, ExitCode.Precondition, ExitCode.InvalidInput, ExitCode.RolledBack, ExitCode.Unexpected, ExitCode.RollbackFailed];
export function worstExitCode(codes: readonly number[]): number {
  return codes.reduce((worst, c) => (SEVERITY.indexOf(c) > SEVERITY.indexOf(worst) ? c : worst), ExitCode.Success as number);
}

export function clientsFor(g: GlobalOptions, env: Environment, io: Io): Promise<AwsClients> {
  return awsClients(g, env, io);
}

export function engineOptions(command: "deploy" | "rollback", g: GlobalOptions, env: Environment, io: Io, f: WatchFlags, clients: AwsClients, extra: Partial<EngineOptions> = {}): EngineOptions {
  const clock = io.clock ?? systemClock;
  return {
    command,
    environment: env.name,
    cluster: env.cluster,
    clients,
    clock,
    signal: io.signal,
    ...(io.hardStop ? { hardStop: io.hardStop } : {}),
    emit: withEventsFile(makeEmitter(io, { json: g.json, now: clock.now, verbose: f.verbose }), f.eventsFile === undefined ? undefined : path.resolve(f.eventsFile), io, clock.now),
    pollMs: f.pollInterval,
    atomic: false,
    triggeredBy: io.env.BUILD_URL ?? io.env.USER ?? undefined,
    ...extra,
  };
}

export function finishRelease(outcomes: readonly ComponentOutcome[], paths: ReadonlyMap<string, string>, io: Io, json: boolean): number {
  const calls = outcomes[0]?.record.apiCalls;
  const code = worstExitCode(outcomes.map((o) => o.exitCode));
  if (json) {
    io.out(JSON.stringify({ kind: "result", exitCode: code, components: outcomes.map((o) => ({ component: o.component, verdict: o.record.verdict, exitCode: o.exitCode, record: paths.get(o.component) })), apiCalls: calls }));
    return code;
  }
  // The very last lines name where each service that needs a look was left: with several components, one report
  // (and its failed tasks' log lines) can push another's "service now" far up the console (seed 9090 #55).
  for (const o of outcomes) {
    const now = o.exitCode !== 0 && o.record.serviceState ? `; service now: ${o.record.serviceState}` : "";
    for (const line of wrap(`${o.component}: ${o.record.verdict} (exit ${o.exitCode})${now}; record: ${paths.get(o.component)}`, CONSOLE_WIDTH)) io.out(line);
  }
  if (calls) for (const line of wrap(`API calls: ${calls.total} (${calls.mutating} mutating, ${calls.retries} retried attempts) ${Object.entries(calls.calls).map(([k, v]) => `${k}=${v}`).join(" ")}`, CONSOLE_WIDTH)) io.out(line);
  return code;
}

/** The plan stopped the command: nothing changed. Still, every record path gets this run's record (never an older one). */
export function writeNotStarted(error: LgtmError, subjects: ReadonlyArray<RecordSubject & { recordPath: string }>, o: EngineOptions, reason?: string): void {
  const now = o.clock.now();
  const ctx = { runId: randomUUID(), command: o.command, environment: o.environment, cluster: o.cluster, startedAt: now, reason, triggeredBy: o.triggeredBy };
  const state = { ...initialState(), outcome: { verdict: "not-started" as const, exitCode: error.exitCode, message: error.message.split("\n")[0]! } };
  for (const subject of subjects) {
    try {
      writeRecord(subject.recordPath, { ...buildRecord(state, subject, ctx, now, "finished", o.clients.counter.snapshot()), failureReasons: [error.message] });
    } catch {
      // The plan checked the path; if it became unwritable since, the error below is what matters.
    }
  }
}

/**
 * The plan (read-only) under the same wall clock as the release: abandoned on SIGINT/SIGTERM or after --timeout,
 * whatever the API does meanwhile (it changes nothing, so abandoning it is safe). Exit 5, nothing changed.
 */
export async function boundedPlan<T>(fn: () => Promise<T>, io: Io, timeoutMs: number): Promise<T> {
  try {
    return await bounded("the plan", () => fn(), { signal: io.signal, timeoutMs });
  } catch (error) {
    if (!(error instanceof CallAborted)) throw error;
    if (io.signal.aborted) throw new PreconditionError("aborted (SIGINT/SIGTERM) while checking the plan: nothing was changed");
    throw new PreconditionError(`the plan could not be completed (${error.message}; --timeout ${seconds(timeoutMs)}): ECS or ECR did not answer in time; nothing was changed`);
  }
}
