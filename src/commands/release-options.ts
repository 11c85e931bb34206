/** Flags and plumbing shared by `deploy` and `rollback`: watch rules, clients, records, the combined exit code. */
import path from "node:path";
import { Command, Option } from "commander";
import type { AwsClients } from "../adapters/aws.js";
import { systemClock, type Clock } from "../adapters/clock.js";
import type { Environment } from "../core/environment.js";
import { ExitCode } from "../core/errors.js";
import type { ComponentOutcome, EngineOptions } from "../engine/release.js";
import { makeEmitter } from "../engine/progress.js";
import { writeRecord } from "../engine/record.js";
import { awsClients, type GlobalOptions, type Io } from "./context.js";
import { parseDuration, parseNonNegativeInt } from "./options.js";

export interface WatchFlags {
  timeout: number;
  bake: number;
  pollInterval: number;
  maxFailedTasks: number;
  rollback: boolean;
  waitForIdle: boolean;
  onAbort: "rollback" | "leave";
  abortGrace: number;
  record?: string;
}

export function addWatchOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--timeout <duration>", "give up on the rollout after this long (e.g. 20m)").default(20 * 60_000, "20m").argParser(parseDuration("--timeout")))
    .addOption(new Option("--bake <duration>", "the new deployment must stay healthy this long before success").default(0, "0s").argParser(parseDuration("--bake")))
    .addOption(new Option("--poll-interval <duration>", "how often to poll ECS").default(5_000, "5s").argParser(parseDuration("--poll-interval")))
    .addOption(new Option("--max-failed-tasks <n>", "fail after this many stopped tasks of the new revision (ECS's breaker needs >= 3)").default(2).argParser(parseNonNegativeInt("--max-failed-tasks")))
    .option("--no-rollback", "do not roll back on failure (exit 4 instead)")
    .option("--wait-for-idle", "wait for an in-flight deployment to finish instead of exiting 5", false)
    .addOption(new Option("--on-abort <action>", "what SIGINT/SIGTERM does during the watch").choices(["rollback", "leave"]).default("rollback"))
    .addOption(new Option("--abort-grace <duration>", "after an abort, watch the rollback this long before exiting").default(20_000, "20s").argParser(parseDuration("--abort-grace")))
    .option("--record <file>", "release record path ({component} is replaced); default lgtm-release-<component>.json");
}

export function recordPath(flag: string | undefined, component: string, many: boolean): string {
  if (flag === undefined) return path.resolve(`lgtm-release-${component}.json`);
  if (flag.includes("{component}")) return path.resolve(flag.replaceAll("{component}", component));
  return path.resolve(many ? flag.replace(/(\.json)?$/, `-${component}.json`) : flag);
}

/** Severity order for "the worst of the components". */
const SEVERITY: number[] = [ExitCode.Success, ExitCode.Precondition, ExitCode.InvalidInput, ExitCode.RolledBack, ExitCode.Unexpected, ExitCode.RollbackFailed];
export function worstExitCode(codes: readonly number[]): number {
  return codes.reduce((worst, c) => (SEVERITY.indexOf(c) > SEVERITY.indexOf(worst) ? c : worst), ExitCode.Success as number);
}

export interface EngineDeps {
  clients?: AwsClients;
  clock?: Clock;
}

export function clientsFor(g: GlobalOptions, env: Environment, io: Io): Promise<AwsClients> {
  return awsClients(g, env, io);
}

export function engineOptions(command: "deploy" | "rollback", g: GlobalOptions, env: Environment, io: Io, flags: WatchFlags, clients: AwsClients, extra: Partial<EngineOptions> = {}): EngineOptions {
  const clock = systemClock;
  return {
    command,
    env,
    clients,
    clock,
    signal: io.signal,
    emit: makeEmitter(io, { json: g.json, now: clock.now }),
    rules: { maxFailedTasks: Math.max(1, flags.maxFailedTasks), timeoutMs: flags.timeout, bakeMs: flags.bake },
    pollMs: flags.pollInterval,
    rollback: flags.rollback,
    atomic: false,
    waitForIdle: flags.waitForIdle,
    onAbort: flags.onAbort,
    abortGraceMs: flags.abortGrace,
    createMissing: false,
    triggeredBy: io.env.BUILD_URL ?? io.env.USER ?? undefined,
    ...extra,
  };
}

export function finishRelease(outcomes: readonly ComponentOutcome[], flags: WatchFlags, io: Io, json: boolean): number {
  const many = outcomes.length > 1;
  for (const o of outcomes) {
    const file = recordPath(flags.record, o.component, many);
    writeRecord(file, o.record);
    if (!json) io.out(`record: ${file}`);
  }
  const calls = outcomes[0]?.record.apiCalls;
  const code = worstExitCode(outcomes.map((o) => o.exitCode));
  if (json) {
    io.out(JSON.stringify({ kind: "result", exitCode: code, components: outcomes.map((o) => ({ component: o.component, verdict: o.record.verdict, exitCode: o.exitCode })), apiCalls: calls }));
  } else {
    for (const o of outcomes) io.out(`${o.component}: ${o.record.verdict} (exit ${o.exitCode})`);
    if (calls) io.out(`API calls: ${calls.total} (${calls.mutating} mutating, ${calls.retries} retried attempts) ${Object.entries(calls.calls).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  }
  return code;
}
