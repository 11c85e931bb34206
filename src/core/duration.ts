/**
 * Durations as the LGTM binaries write them: Go's time.Duration ("90s", "1h30m", "250ms") plus the Prometheus model
 * units Mimir, Loki and Pyroscope accept for retention ("30d", "2w", "1y"). "0" alone means zero. Pure.
 */

const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;
export const DURATION_PATTERN = /^(?:0|(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+)$/;

/** Seconds in a duration string, or undefined when it is not one. Numbers are taken as seconds (YAML `0`). */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (!DURATION_PATTERN.test(text)) return undefined;
  if (text === "0") return 0;
  let total = 0;
  for (const m of text.matchAll(PART)) total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return total;
}

/** A compact human form: 0s, 45s, 11m, 1h30m, 14d. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "forever";
  if (seconds === 0) return "0s";
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds % 86400 === 0 && seconds >= 86400) return `${seconds / 86400}d`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return `${h > 0 ? `${h}h` : ""}${m > 0 ? `${m}m` : ""}${s > 0 ? `${s}s` : ""}`;
}
