import { readFileSync } from "node:fs";
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

z.config(en());
import { InvalidInputError } from "../core/errors.js";
import { parseJson } from "../core/json.js";

const ms = z.int().check(z.minimum(0), z.maximum(86_400_000));
const rate = z.number().check(z.minimum(0), z.maximum(1));

export const TimingSchema = z.strictObject({
  /** PROVISIONING → PENDING (ENI attach). */
  provisioningMs: z.optional(ms),
  /** PENDING → RUNNING (image pull + container start). */
  pendingMs: z.optional(ms),
  /** RUNNING → first health-check verdict (only for containers with a healthCheck, or failing-health images). */
  healthCheckMs: z.optional(ms),
  /** DEACTIVATING (load-balancer drain) before a scheduler/user stop. */
  drainMs: z.optional(ms),
  /** STOPPING → STOPPED. */
  stopMs: z.optional(ms),
  /** A deployment is COMPLETED only once its tasks have been healthy this long (crashes before that trip the breaker). */
  stabilizeMs: z.optional(ms),
  /** How long STOPPED tasks stay describable. */
  stoppedTaskRetentionMs: z.optional(ms),
  /** Simulation timer period; default derived from the other timings. */
  tickMs: z.optional(z.int().check(z.minimum(1), z.maximum(10_000))),
});

export const ImageBehaviorSchema = z.strictObject({
  behavior: z.enum(["healthy", "crash", "unhealthy", "slow"]),
  /** crash: exit code of the essential container (default 1). */
  exitCode: z.optional(z.int().check(z.minimum(0), z.maximum(255))),
  /** crash: ms after RUNNING until the container exits (default 1000). */
  afterMs: z.optional(ms),
  /** extra ms spent in PENDING (any behavior; "slow" defaults to 5000). */
  startDelayMs: z.optional(ms),
  /** crash: container `reason` text (default none). */
  reason: z.optional(z.string().check(z.maxLength(1024))),
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

export const ScenarioSchema = z.strictObject({
  timing: z.optional(TimingSchema),
  /** Key: exact image reference, "repo:tag" suffix, tag, or digest ("sha256:..."). */
  images: z.optional(z.record(z.string().check(z.minLength(1)), ImageBehaviorSchema)),
  /** Key: operation name (e.g. "DescribeServices") or "*" for every operation. */
  api: z.optional(z.record(z.string().check(z.minLength(1)), ApiFaultSchema)),
  seed: z.optional(z.int()),
});

export type Timing = z.infer<typeof TimingSchema>;
export type ImageBehavior = z.infer<typeof ImageBehaviorSchema>;
export type ApiFault = z.infer<typeof ApiFaultSchema>;
export type Scenario = z.infer<typeof ScenarioSchema>;

/** Defaults "feel real" for a demo (seconds); tests pass tens of ms. */
/** `stabilizeMs` defaults to 2 × (provisioningMs + pendingMs); `tickMs` to a quarter of the smallest step. */
export const DEFAULT_TIMING: Required<Omit<Timing, "tickMs" | "stabilizeMs">> = {
  provisioningMs: 1000,
  pendingMs: 2000,
  healthCheckMs: 3000,
  drainMs: 2000,
  stopMs: 1000,
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
  const stabilizeMs = t?.stabilizeMs ?? 2 * (merged.provisioningMs + merged.pendingMs);
  return { ...merged, stabilizeMs, tickMs };
}

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
  if (patch.seed !== undefined) out.seed = patch.seed;
  return out;
}
