/**
 * API fault injection (docs/emulator.md, "api"): per-operation latency, dropped connections, throttling bursts and
 * rates, and 5xx errors. Faults are wall-clock: they describe what the client sees, not the simulation.
 */
import { AwsApiError } from "./errors.js";
import type { Rng } from "./rng.js";
import type { ApiFault, Scenario } from "./scenario.js";

export type FaultDecision =
  | { kind: "none"; latencyMs: number }
  | { kind: "drop"; latencyMs: number }
  | { kind: "hang"; latencyMs: number; hangMs?: number }
  | { kind: "error"; latencyMs: number; error: AwsApiError; rule?: number };

export const throttled = (): AwsApiError => new AwsApiError("ThrottlingException", "Rate exceeded");
export const serverError = (): AwsApiError => new AwsApiError("ServerException", "Service unavailable (injected fault).", 500);

export class FaultInjector {
  private bursts = new Map<string, number>();

  constructor(
    private scenario: () => Scenario,
    private readonly rng: () => Rng,
  ) {
    this.resetBursts();
  }

  /** Restarts the `throttleBurst` countdowns (all, or only the patched keys). */
  resetBursts(keys?: string[]): void {
    if (keys === undefined) this.bursts = new Map();
    for (const [k, f] of Object.entries(this.scenario().api ?? {})) {
      if (keys !== undefined && !keys.includes(k)) continue;
      if (f.throttleBurst !== undefined) this.bursts.set(k, f.throttleBurst);
      else this.bursts.delete(k);
    }
  }

  /** The legacy per-operation faults: the fields of `*` and of the operation merged, the operation's own winning. */
  private legacy(op: string): FaultDecision {
    const api = this.scenario().api ?? {};
    const fault: ApiFault = { ...(api["*"] ?? {}), ...(api[op] ?? {}) };
    const latencyMs = fault.latencyMs ?? 0;
    const rng = this.rng();
    if (fault.dropRate && rng.next() < fault.dropRate) return { kind: "drop", latencyMs };
    const burstKey = (this.bursts.get(op) ?? 0) > 0 ? op : (this.bursts.get("*") ?? 0) > 0 ? "*" : undefined;
    if (burstKey !== undefined) {
      this.bursts.set(burstKey, (this.bursts.get(burstKey) ?? 1) - 1);
      return { kind: "error", latencyMs, error: throttled() };
    }
    if (fault.throttleRate && rng.next() < fault.throttleRate) return { kind: "error", latencyMs, error: throttled() };
    if (fault.errorRate && rng.next() < fault.errorRate) return { kind: "error", latencyMs, error: serverError() };
    return { kind: "none", latencyMs };
  }

  decide(op: string): FaultDecision {
    return this.legacy(op);
  }
}
