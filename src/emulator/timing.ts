/** Lifecycle timings: the profiles and their resolution (simulated milliseconds). docs/emulator.md, "timing". */
import type { Timing } from "./scenario.js";

type Base = Required<Omit<Timing, "profile" | "tickMs" | "stabilizeMs" | "healthyWithoutCheckMs" | "launchBackoffMs" | "pullFailureMs">>;

/** The default profile "feels real" in a demo (seconds); tests pass tens of ms. */
export const DEFAULT_TIMING: Base = {
  provisioningMs: 1000,
  pendingMs: 2000,
  healthCheckMs: 3000,
  drainMs: 2000,
  deregistrationDelayMs: 0,
  stopMs: 1000,
  stoppedTaskRetentionMs: 3_600_000,
  failedStateLagMs: 0,
};

/**
 * Realistic Fargate dynamics, each value with its source (docs/emulator.md, "The fargate profile"). Run it with a
 * time scale (e.g. 20) to see minutes of ECS in seconds.
 */
export const FARGATE_TIMING: Required<Omit<Timing, "profile" | "tickMs">> = {
  provisioningMs: 8_000,
  pendingMs: 15_000,
  pullFailureMs: 120_000,
  healthCheckMs: 30_000,
  healthyWithoutCheckMs: 40_000,
  drainMs: 1_000,
  deregistrationDelayMs: 300_000,
  stopMs: 5_000,
  stabilizeMs: 10_000,
  failedStateLagMs: 60_000,
  launchBackoffMs: 60_000,
  stoppedTaskRetentionMs: 3_600_000,
};

export type ResolvedTiming = Required<Omit<Timing, "profile">>;

/** `scale` (simulated ms per wall ms) only shortens the derived wall-clock tick period. */
export function resolveTiming(t: Timing | undefined, scale = 1): ResolvedTiming {
  const { profile, ...own } = t ?? {};
  const base: Partial<ResolvedTiming> = profile === "fargate" ? FARGATE_TIMING : DEFAULT_TIMING;
  const merged = { ...DEFAULT_TIMING, ...base, ...own };
  const positives = [merged.provisioningMs, merged.pendingMs, merged.healthCheckMs, merged.drainMs, merged.stopMs].filter((v) => v > 0);
  const smallest = positives.length > 0 ? Math.min(...positives) : 20;
  const tickMs = own.tickMs ?? Math.max(2, Math.min(100, Math.floor(smallest / 4 / scale)));
  const stabilizeMs = own.stabilizeMs ?? base.stabilizeMs ?? 2 * (merged.provisioningMs + merged.pendingMs);
  const healthyWithoutCheckMs = own.healthyWithoutCheckMs ?? base.healthyWithoutCheckMs ?? stabilizeMs;
  const launchBackoffMs = own.launchBackoffMs ?? base.launchBackoffMs ?? merged.provisioningMs + merged.pendingMs;
  const pullFailureMs = own.pullFailureMs ?? base.pullFailureMs ?? merged.pendingMs;
  return { ...merged, stabilizeMs, healthyWithoutCheckMs, launchBackoffMs, pullFailureMs, tickMs };
}
