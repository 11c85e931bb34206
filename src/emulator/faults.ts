/**
 * API fault injection (docs/emulator.md, "faults" and "api"): targeted rules (one service or resource, after N calls,
 * N times, hang), then per-operation latency, dropped connections, throttling bursts and rates, and 5xx errors.
 * Faults are wall-clock: they describe what the client sees, not the simulation.
 */
import { AwsApiError } from "./errors.js";
import type { Rng } from "./rng.js";
import type { ApiFault, FaultRule, Scenario } from "./scenario.js";

export type FaultDecision =
  | { kind: "none"; latencyMs: number; rule?: number }
  | { kind: "drop"; latencyMs: number; rule?: number }
  | { kind: "hang"; latencyMs: number; hangMs?: number; rule?: number }
  | { kind: "error"; latencyMs: number; error: AwsApiError; rule?: number };

export const throttled = (): AwsApiError => new AwsApiError("ThrottlingException", "Rate exceeded");
/** A 5xx as the service names it: CloudWatch Logs has ServiceUnavailableException, ECS and ECR ServerException. */
export const serverError = (service = "ecs"): AwsApiError =>
  new AwsApiError(service === "logs" ? "ServiceUnavailableException" : "ServerException", "Service unavailable (injected fault).", 500);

const last = (s: string): string => s.slice(s.lastIndexOf("/") + 1);

/** The ECS service names a request is about, from the fields that name one. */
export function servicesOf(input: Record<string, unknown>): string[] {
  const out: string[] = [];
  const add = (v: unknown, kind: "name" | "deployment" | "resource"): void => {
    if (typeof v !== "string" || v === "") return;
    if (kind === "deployment") {
      const m = /:service-deployment\/[^/]+\/([^/]+)\/[^/]+$/.exec(v);
      if (m) out.push(m[1]!);
    } else if (kind === "resource") {
      if (/:service\//.test(v)) out.push(last(v));
    } else {
      out.push(last(v));
    }
  };
  add(input.service, "name");
  add(input.serviceName, "name");
  for (const v of Array.isArray(input.services) ? input.services : []) add(v, "name");
  add(input.serviceDeploymentArn, "deployment");
  for (const v of Array.isArray(input.serviceDeploymentArns) ? input.serviceDeploymentArns : []) add(v, "deployment");
  add(input.resourceArn, "resource");
  return out;
}

/** Whether any string in the request is the resource: equal, or its last "/" segment is it or starts with "<it>:". */
export function namesResource(value: unknown, resource: string): boolean {
  if (typeof value === "string") {
    const seg = last(value);
    return value === resource || seg === resource || seg.startsWith(`${resource}:`);
  }
  if (Array.isArray(value)) return value.some((v) => namesResource(v, resource));
  if (typeof value === "object" && value !== null) return Object.values(value).some((v) => namesResource(v, resource));
  return false;
}

function matches(rule: FaultRule, op: string, input: Record<string, unknown>): boolean {
  if (rule.operation !== "*" && rule.operation !== op) return false;
  if (rule.service !== undefined && !servicesOf(input).includes(last(rule.service))) return false;
  if (rule.resource !== undefined && !namesResource(input, rule.resource)) return false;
  return true;
}

function ruleError(rule: FaultRule, service: string): AwsApiError {
  if (rule.fault === "throttle") return throttled();
  if (rule.errorType === undefined) return serverError(service);
  const type = rule.errorType;
  return new AwsApiError(type, rule.message ?? `Injected fault (${type}).`, rule.status ?? (type === "ServerException" || type === "ServiceUnavailableException" ? 500 : 400));
}

export class FaultInjector {
  private bursts = new Map<string, number>();
  /** Per `faults` rule: matching calls seen, times fired. */
  private counters: { seen: number; fired: number }[] = [];

  constructor(
    private scenario: () => Scenario,
    private readonly rng: () => Rng,
  ) {
    this.resetBursts();
  }

  /** Restarts the `faults` rules' counters (after and times). */
  resetRules(): void {
    this.counters = (this.scenario().faults ?? []).map(() => ({ seen: 0, fired: 0 }));
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
  private legacy(op: string, service: string): FaultDecision {
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
    if (fault.errorRate && rng.next() < fault.errorRate) return { kind: "error", latencyMs, error: serverError(service) };
    return { kind: "none", latencyMs };
  }

  /** The first targeted rule that fires for this call, if any. */
  private targeted(op: string, service: string, input: Record<string, unknown>): FaultDecision | undefined {
    const rules = this.scenario().faults ?? [];
    if (this.counters.length !== rules.length) this.resetRules();
    for (const [i, rule] of rules.entries()) {
      if (!matches(rule, op, input)) continue;
      const c = this.counters[i]!;
      c.seen += 1;
      if (c.seen <= (rule.after ?? 0)) continue;
      if (rule.times !== undefined && c.fired >= rule.times) continue;
      if (rule.rate !== undefined && this.rng().next() >= rule.rate) continue;
      c.fired += 1;
      const latencyMs = rule.latencyMs ?? 0;
      switch (rule.fault) {
        case "drop":
          return { kind: "drop", latencyMs, rule: i };
        case "hang":
          return { kind: "hang", latencyMs, rule: i, ...(rule.hangMs !== undefined ? { hangMs: rule.hangMs } : {}) };
        case "latency":
          return { kind: "none", latencyMs, rule: i };
        default:
          return { kind: "error", latencyMs, error: ruleError(rule, service), rule: i };
      }
    }
    return undefined;
  }

  decide(op: string, service: string, input: Record<string, unknown>): FaultDecision {
    const hit = this.targeted(op, service, input);
    if (!hit || hit.kind === "none") {
      const legacy = this.legacy(op, service);
      return hit ? { ...legacy, latencyMs: legacy.latencyMs + hit.latencyMs, rule: hit.rule } : legacy;
    }
    return hit;
  }
}
