import { readFileSync } from "node:fs";
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

z.config(en());
import { InvalidInputError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import { TimedActionSchema } from "./actions.js";

const ms = z.int().check(z.minimum(0), z.maximum(86_400_000));
const rate = z.number().check(z.minimum(0), z.maximum(1));

export const TimingSchema = z.strictObject({
  /** The base values: "default" (a demo in seconds) or "fargate" (realistic, sourced); the fields below override them. */
  profile: z.optional(z.enum(["default", "fargate"])),
  /** PROVISIONING → PENDING (ENI attach). */
  provisioningMs: z.optional(ms),
  /** PENDING → RUNNING (image pull + container start). */
  pendingMs: z.optional(ms),
  /** RUNNING → first health-check verdict (only for containers with a healthCheck, or failing-health images). */
  healthCheckMs: z.optional(ms),
  /** PENDING → STOPPED for a task whose image cannot be pulled (the pull is retried before it fails). */
  pullFailureMs: z.optional(ms),
  /** DEACTIVATING before a scheduler/user stop of a RUNNING task. */
  drainMs: z.optional(ms),
  /** Added to DEACTIVATING for services with a load balancer (the target group's deregistration delay). */
  deregistrationDelayMs: z.optional(ms),
  /** STOPPING → STOPPED. */
  stopMs: z.optional(ms),
  /** A deployment is COMPLETED only once its tasks have been healthy this long (crashes before that trip the breaker). */
  stabilizeMs: z.optional(ms),
  /** A RUNNING task without a container health check counts as healthy only after this long (ECS: 40 s). */
  healthyWithoutCheckMs: z.optional(ms),
  /** After a circuit-breaker rollback starts, the replaced deployment still shows IN_PROGRESS this long before FAILED. */
  failedStateLagMs: z.optional(ms),
  /** Service throttle logic: the first back-off after repeated start failures; it doubles up to 27 minutes. */
  launchBackoffMs: z.optional(ms),
  /** How long STOPPED tasks stay describable. */
  stoppedTaskRetentionMs: z.optional(ms),
  /** Simulation timer period; default derived from the other timings. */
  tickMs: z.optional(z.int().check(z.minimum(1), z.maximum(10_000))),
});

export const ImageBehaviorSchema = z.strictObject({
  behavior: z.enum(["healthy", "crash", "unhealthy", "slow", "flaky", "degrade"]),
  /** crash/flaky: exit code of the container (default 1). */
  exitCode: z.optional(z.int().check(z.minimum(0), z.maximum(255))),
  /** crash, flaky: ms after RUNNING until the container exits (crash default 1000); degrade: until it turns UNHEALTHY. */
  afterMs: z.optional(ms),
  /** flaky without afterMs: the uptime is uniform in [minUptimeMs, maxUptimeMs] (defaults 0 and minUptimeMs + 60000). */
  minUptimeMs: z.optional(ms),
  maxUptimeMs: z.optional(ms),
  /** flaky: the share of tasks that exit at all (default 1). */
  rate: z.optional(rate),
  /** extra ms spent in PENDING (any behavior; "slow" defaults to 5000). */
  startDelayMs: z.optional(ms),
  /** crash/flaky: the container `reason` ECS reports (e.g. "OutOfMemoryError: …"; default none, as for a plain exit). */
  reason: z.optional(z.string().check(z.maxLength(1024))),
  /** Lines the container prints to its awslogs stream, each afterMs after it starts RUNNING. */
  logs: z.optional(z.array(z.strictObject({ afterMs: ms, message: z.string().check(z.maxLength(262_144)) })).check(z.maxLength(1000))),
  /** crash/flaky: what the app prints when it exits (default 'panic: …'); degrade: when it starts failing. */
  exitLog: z.optional(z.union([z.string().check(z.maxLength(262_144)), z.array(z.string().check(z.maxLength(262_144))).check(z.maxLength(1000))])),
  /** Exit code when the container exits on SIGTERM (default 143). */
  sigtermExitCode: z.optional(z.int().check(z.minimum(0), z.maximum(255))),
  /** How long the container takes to exit after SIGTERM (default 0); at the container's stopTimeout it is SIGKILLed (137). */
  sigtermDelayMs: z.optional(ms),
  /** The container ignores SIGTERM: SIGKILL at stopTimeout, exit code 137. */
  ignoreSigterm: z.optional(z.boolean()),
});

export const ApiFaultSchema = z.strictObject({
  /** Probability 0..1 that a call answers ThrottlingException. */
  throttleRate: z.optional(rate),
  /** The next N calls answer ThrottlingException (counted down; reset when the scenario is set). */
  throttleBurst: z.optional(z.int().check(z.minimum(0), z.maximum(1_000_000))),
  /** Probability 0..1 of HTTP 500 ServerException. */
  errorRate: z.optional(rate),
  /** Added latency before answering. */
  latencyMs: z.optional(ms),
  /** Probability 0..1 that the connection is destroyed without an answer. */
  dropRate: z.optional(rate),
});

/** A targeted API fault (docs/emulator.md, "faults"). Rules are tried in order; the first one that fires decides. */
export const FaultRuleSchema = z.strictObject({
  /** Operation name (e.g. "UpdateService") or "*". */
  operation: z.string().check(z.minLength(1)),
  /** Only calls about this ECS service (name or ARN): service, serviceName, services[], serviceDeploymentArn(s), resourceArn. */
  service: z.optional(z.string().check(z.minLength(1))),
  /** Only calls naming this resource anywhere in the request: a value equal to it, or whose last "/" segment is it or starts with "<it>:". */
  resource: z.optional(z.string().check(z.minLength(1))),
  /** Let the first N matching calls through (default 0). */
  after: z.optional(z.int().check(z.minimum(0), z.maximum(1_000_000))),
  /** Fire at most N times (default: every matching call). */
  times: z.optional(z.int().check(z.minimum(1), z.maximum(1_000_000))),
  /** Probability 0..1 that an eligible call is hit (default 1). */
  rate: z.optional(rate),
  /** error: an AWS error; throttle: ThrottlingException; drop: connection reset; hang: no answer; latency: only delay. */
  fault: z.enum(["error", "throttle", "drop", "hang", "latency"]),
  /** error: the error type (default ServerException) and message. */
  errorType: z.optional(z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9]*$/))),
  message: z.optional(z.string().check(z.maxLength(1024))),
  /** error: HTTP status (default 500 for ServerException, else 400). */
  status: z.optional(z.int().check(z.minimum(400), z.maximum(599))),
  /** Wall-clock delay before the fault (or, for "latency", before the normal answer). */
  latencyMs: z.optional(ms),
  /** hang: destroy the connection after this long (wall clock); default: never answer (until the client gives up). */
  hangMs: z.optional(ms),
});

/** An eventual-consistency rule for a read (docs/emulator.md, "consistency"). */
export const ConsistencyRuleSchema = z.strictObject({
  /** How stale a read can be (simulated ms). */
  lagMs: ms,
  /** Probability 0..1 that a read is stale (default 1). */
  rate: z.optional(rate),
  /** Stale only within lagMs after one of these calls, and then it shows the state from just before the call. */
  after: z.optional(
    z.array(z.enum(["CreateService", "UpdateService", "DeleteService", "StopTask", "StopServiceDeployment", "RegisterTaskDefinition", "DeregisterTaskDefinition", "TagResource", "UntagResource"])),
  ),
});

export const ScenarioSchema = z.strictObject({
  timing: z.optional(TimingSchema),
  /** Key: exact image reference, "repo:tag" suffix, tag, or digest ("sha256:..."). */
  images: z.optional(z.record(z.string().check(z.minLength(1)), ImageBehaviorSchema)),
  /** Key: operation name (e.g. "DescribeServices") or "*" for every operation. */
  api: z.optional(z.record(z.string().check(z.minLength(1)), ApiFaultSchema)),
  /** Targeted faults, tried before `api`. */
  faults: z.optional(z.array(FaultRuleSchema)),
  /** Key: DescribeServices, ListTasks, DescribeTasks, ListServiceDeployments, DescribeServiceDeployments, or "*". */
  consistency: z.optional(z.partialRecord(z.enum(["DescribeServices", "ListTasks", "DescribeTasks", "ListServiceDeployments", "DescribeServiceDeployments", "*"]), ConsistencyRuleSchema)),
  /** Actions that happen by themselves, afterMs after the scenario (or the patch carrying them) is applied. */
  actions: z.optional(z.array(TimedActionSchema)),
  seed: z.optional(z.int()),
  /** Simulated milliseconds per wall-clock millisecond (default 1). The CLI's --time-scale and the programmatic option win. */
  timeScale: z.optional(z.number().check(z.positive(), z.maximum(10_000))),
});

export type Timing = z.infer<typeof TimingSchema>;
export type ImageBehavior = z.infer<typeof ImageBehaviorSchema>;
export type ApiFault = z.infer<typeof ApiFaultSchema>;
export type Scenario = z.infer<typeof ScenarioSchema>;
export type FaultRule = z.infer<typeof FaultRuleSchema>;
export type ConsistencyRule = z.infer<typeof ConsistencyRuleSchema>;

export { DEFAULT_TIMING, resolveTiming, type ResolvedTiming } from "./timing.js";

function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}

/** Validates an in-memory scenario; `where` names its origin in the error. */
export function parseScenario(value: unknown, where = "scenario"): Scenario {
  const r = z.safeParse(ScenarioSchema, value);
  if (!r.success) throw new InvalidInputError(`${where}: invalid scenario: ${describeIssues(r.error)}`);
  return r.data;
}

export function parsePartialScenario(value: unknown, where = "scenario"): Partial<Scenario> {
  return parseScenario(value, where);
}

export function loadScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new InvalidInputError(`${path}: cannot read scenario file: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = parseJson(text, path).value;
  } catch (error) {
    throw new InvalidInputError(`${path}: scenario file is not valid JSON: ${(error as Error).message}`);
  }
  return parseScenario(json, path);
}

/** PATCH semantics: timing merges field by field; images/api merge per key (a key's value replaces the old one); seed replaces. */
export function mergeScenarios(base: Scenario, patch: Partial<Scenario>): Scenario {
  const out: Scenario = { ...base };
  if (patch.timing) out.timing = { ...(base.timing ?? {}), ...patch.timing };
  if (patch.images) out.images = { ...(base.images ?? {}), ...patch.images };
  if (patch.api) out.api = { ...(base.api ?? {}), ...patch.api };
  if (patch.faults) out.faults = patch.faults;
  if (patch.actions) out.actions = patch.actions;
  if (patch.consistency) out.consistency = { ...(base.consistency ?? {}), ...patch.consistency };
  if (patch.seed !== undefined) out.seed = patch.seed;
  if (patch.timeScale !== undefined) out.timeScale = patch.timeScale;
  return out;
}
