/** Lifecycle timings: defaults and their resolution (simulated milliseconds). */
import type { Timing } from "./scenario.js";

/** Defaults "feel real" for a demo (seconds); tests pass tens of ms. */
/** `stabilizeMs` defaults to 2 × (provisioningMs + pendingMs); `tickMs` to a quarter of the smallest step. */
export const DEFAULT_TIMING: Required<Omit<Timing, "tickMs" | "stabilizeMs" | "healthyWithoutCheckMs" | "launchBackoffMs">> = {
  provisioningMs: 1000,
  pendingMs: 2000,
  healthCheckMs: 3000,
  drainMs: 2000,
  stopMs: 1000,
  stoppedTaskRetentionMs: 3_600_000,
  failedStateLagMs: 0,
};

export type ResolvedTiming = Required<Timing>;

/** `scale` (simulated ms per wall ms) only shortens the derived wall-clock tick period. */
export function resolveTiming(t: Timing | undefined, scale = 1): ResolvedTiming {
  const merged = { ...DEFAULT_TIMING, ...(t ?? {}) };
  const positives = [merged.provisioningMs, merged.pendingMs, merged.healthCheckMs, merged.drainMs, merged.stopMs].filter(
    (v) => v > 0,
  );
  const smallest = positives.length > 0 ? Math.min(...positives) : 20;
  const tickMs = t?.tickMs ?? Math.max(2, Math.min(100, Math.floor(smallest / 4 / scale)));
  const stabilizeMs = t?.stabilizeMs ?? 2 * (merged.provisioningMs + merged.pendingMs);
  const healthyWithoutCheckMs = t?.healthyWithoutCheckMs ?? stabilizeMs;
  const launchBackoffMs = t?.launchBackoffMs ?? merged.provisioningMs + merged.pendingMs;
  return { ...merged, stabilizeMs, healthyWithoutCheckMs, launchBackoffMs, tickMs };
}

