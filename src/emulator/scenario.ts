import { readFileSync } from "node:fs";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";

const ms = z.number().int().min(0).max(86_400_000);
const rate = z.number().min(0).max(1);

export const TimingSchema = z.strictObject({
  /** PROVISIONING → PENDING (ENI attach). */
  provisioningMs: ms.optional(),
  /** PENDING → RUNNING (image pull + container start). */
  pendingMs: ms.optional(),
  /** RUNNING → first health-check verdict (only for containers with a healthCheck, or failing-health images). */
  healthCheckMs: ms.optional(),
  /** DEACTIVATING (load-balancer drain) before a scheduler/user stop. */
  drainMs: ms.optional(),
  /** STOPPING → STOPPED. */
  stopMs: ms.optional(),
  /** A deployment is COMPLETED only once its tasks have been healthy this long (crashes before that trip the breaker). */
  stabilizeMs: ms.optional(),
  /** How long STOPPED tasks stay describable. */
  stoppedTaskRetentionMs: ms.optional(),
  /** Simulation timer period; default derived from the other timings. */
  tickMs: z.number().int().min(1).max(10_000).optional(),
});

export const ImageBehaviorSchema = z.strictObject({
  behavior: z.enum(["healthy", "crash", "unhealthy", "slow"]),
  /** crash: exit code of the essential container (default 1). */
  exitCode: z.number().int().min(0).max(255).optional(),
  /** crash: ms after RUNNING until the container exits (default 1000). */
  afterMs: ms.optional(),
  /** extra ms spent in PENDING (any behavior; "slow" defaults to 5000). */
  startDelayMs: ms.optional(),
  /** crash: container `reason` text (default none). */
  reason: z.string().max(1024).optional(),
});

export const ApiFaultSchema = z.strictObject({
  /** Probability 0..1 that a call answers ThrottlingException. */
  throttleRate: rate.optional(),
  /** The next N calls answer ThrottlingException (counted down; reset when the scenario is set). */
  throttleBurst: z.number().int().min(0).max(1_000_000).optional(),
  /** Probability 0..1 of HTTP 500 ServerException. */
  errorRate: rate.optional(),
  /** Added latency before answering. */
  latencyMs: ms.optional(),
  /** Probability 0..1 that the connection is destroyed without an answer. */
  dropRate: rate.optional(),
});

export const ScenarioSchema = z.strictObject({
  timing: TimingSchema.optional(),
  /** Key: exact image reference, "repo:tag" suffix, tag, or digest ("sha256:..."). */
  images: z.record(z.string().min(1), ImageBehaviorSchema).optional(),
  /** Key: operation name (e.g. "DescribeServices") or "*" for every operation. */
  api: z.record(z.string().min(1), ApiFaultSchema).optional(),
  seed: z.number().int().optional(),
});

export type Timing = z.infer<typeof TimingSchema>;
export type ImageBehavior = z.infer<typeof ImageBehaviorSchema>;
export type ApiFault = z.infer<typeof ApiFaultSchema>;
export type Scenario = z.infer<typeof ScenarioSchema>;

/** Defaults "feel real" for a demo (seconds); tests pass tens of ms. */
export const DEFAULT_TIMING: Required<Omit<Timing, "tickMs">> = {
  provisioningMs: 1000,
  pendingMs: 2000,
  healthCheckMs: 3000,
  drainMs: 2000,
  stopMs: 1000,
  stabilizeMs: 5000,
  stoppedTaskRetentionMs: 3_600_000,
};

export type ResolvedTiming = Required<Timing>;

export function resolveTiming(t: Timing | undefined): ResolvedTiming {
  const merged = { ...DEFAULT_TIMING, ...(t ?? {}) };
  const positives = [merged.provisioningMs, merged.pendingMs, merged.healthCheckMs, merged.drainMs, merged.stopMs].filter(
    (v) => v > 0,
  );
  const smallest = positives.length > 0 ? Math.min(...positives) : 20;
  const tickMs = t?.tickMs ?? Math.max(2, Math.min(100, Math.floor(smallest / 4)));
  return { ...merged, tickMs };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}

/** Validates an in-memory scenario; `where` names its origin in the error. */
export function parseScenario(value: unknown, where = "scenario"): Scenario {
  const r = ScenarioSchema.safeParse(value);
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
    json = JSON.parse(text);
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
  if (patch.seed !== undefined) out.seed = patch.seed;
  return out;
}
