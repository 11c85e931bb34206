/**
 * Fault schedules: what the new images do, what the API does, who else acts and when the operator aborts.
 * Events are tied to the tool's own call sequence through the proxy ("before the tool's 2nd UpdateService of
 * lgtm-loki reaches ECS") rather than to wall-clock offsets, so a schedule replays the same way from its seed.
 */
import fc from "fast-check";
import { COMPONENT_NAMES, type ComponentName } from "../../../src/core/catalogue.js";
import type { FaultAction } from "./proxy.js";

export type Behaviour =
  | { kind: "healthy" }
  /** Crashes before ECS counts the deployment COMPLETED (the breaker's window). */
  | { kind: "earlyCrash"; afterMs: number; exitCode: number }
  /** Runs, ECS declares COMPLETED, then crashes (outside the breaker's watch: only a bake catches it). */
  | { kind: "lateCrash"; afterMs: number; exitCode: number }
  /** Fails its health check. */
  | { kind: "unhealthy" }
  | { kind: "slow"; startDelayMs: number }
  /** The tag was never pushed: preflight must stop with exit 5, nothing changed. */
  | { kind: "missing" }
  /** Pushed and resolved at preflight, then expired from ECR before the tasks pull it. */
  | { kind: "expired" }
  /** Runs, then a share `rate` of the tasks exit after a random uptime in [min, max] (emulator `flaky`). */
  | { kind: "flaky"; minUptimeMs: number; maxUptimeMs: number; rate: number }
  /** Turns unhealthy after `afterMs` (emulator `degrade`): noticed by ECS only with a health check or a load balancer. */
  | { kind: "degrade"; afterMs: number };

/** A call of the tool, counted by the proxy: the n-th `op` (about `component` when given). */
export interface CallPoint {
  op: "UpdateService" | "DescribeServices" | "RegisterTaskDefinition" | "ListTasks" | "DescribeTasks";
  component?: ComponentName;
  nth: number;
  when: "before" | "after";
}

export interface Schedule {
  components: ComponentName[];
  behaviours: Partial<Record<ComponentName, Behaviour>>;
  /** The previous revision's image now crashes too: a rollback cannot become healthy (exit 4 expected). */
  previousBroken?: ComponentName;
  /** How the new image's containers answer SIGTERM when ECS stops them: exit 143 (default), 0, or never (killed: 137). */
  sigterm?: "exit0" | "ignore";
  /** Fargate maintenance during the release: a task retired, or AZ rebalancing, at this point of the tool's calls. */
  maintenance?: { component: ComponentName; action: "retireTask" | "rebalance"; at: CallPoint };
  /** A service's desired count was changed (autoscaling) after the baseline and before the release. */
  autoscaled?: { component: ComponentName; desired: number };
  api: {
    /** Emulator-wide faults (every operation): probabilities and latency. */
    throttleRate: number;
    errorRate: number;
    dropRate: number;
    latencyMs: number;
    /** The next N DescribeServices answer ThrottlingException. */
    describeBurst: number;
    /** Reads of a service answered from before the latest write for this long (eventual consistency, proxy). */
    staleMs: number;
    /** The emulator's own eventual consistency for every read (DescribeServices, ListTasks, DescribeTasks, service deployments). */
    consistency?: { lagMs: number; rate: number; afterWrites: boolean };
  };
  /** A fault on exact calls of the tool (proxy). */
  targeted?: {
    op: "UpdateService" | "StopServiceDeployment" | "DescribeServices" | "DescribeServiceDeployments" | "ListTasks" | "DescribeTasks" | "RegisterTaskDefinition";
    component?: ComponentName;
    fromNth: number;
    count: number;
    action: FaultAction;
  };
  /** Another client deploys revision "C" of a component at this point of the tool's calls. */
  thirdParty?: { component: ComponentName; at: CallPoint };
  /** SIGTERM (the Io signal aborted) at this point of the tool's calls, or after this many ms. */
  abort?: { at: CallPoint } | { afterMs: number };
  flags: { timeoutMs: number; bakeMs: number; maxFailedTasks: number; atomic: boolean; abortGraceMs: number; onAbort: "rollback" | "leave" };
  seed: number;
}

const componentSet = fc.uniqueArray(fc.constantFrom(...COMPONENT_NAMES), { minLength: 1, maxLength: 6 });

/** `arb` with probability p, else undefined (shrinks towards undefined: minimal schedules drop what they can). */
function maybe<T>(arb: fc.Arbitrary<T>, p: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: Math.round((1 - p) * 100), arbitrary: fc.constant(undefined) }, { weight: Math.round(p * 100), arbitrary: arb });
}

/** A rate that is usually 0. */
const rate = (p: number, max: number): fc.Arbitrary<number> => maybe(fc.double({ min: 0.02, max, noNaN: true }), p).map((v) => v ?? 0);

const misbehaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  fc.record({ kind: fc.constant("earlyCrash" as const), afterMs: fc.integer({ min: 0, max: 40 }), exitCode: fc.constantFrom(1, 2, 137, 139) }),
  // The world's stabilizeMs is 70: anything above completes first, then crashes.
  fc.record({ kind: fc.constant("lateCrash" as const), afterMs: fc.integer({ min: 120, max: 900 }), exitCode: fc.constantFrom(1, 2, 139) }),
  fc.constant<Behaviour>({ kind: "unhealthy" }),
  fc.record({ kind: fc.constant("slow" as const), startDelayMs: fc.integer({ min: 50, max: 4000 }) }),
  fc.constant<Behaviour>({ kind: "expired" }),
  fc.record({ kind: fc.constant("flaky" as const), minUptimeMs: fc.integer({ min: 0, max: 400 }), maxUptimeMs: fc.integer({ min: 400, max: 3000 }), rate: fc.constantFrom(0.3, 0.5, 1) }),
  fc.record({ kind: fc.constant("degrade" as const), afterMs: fc.integer({ min: 50, max: 1500 }) }),
);

/** About half the schedules release only healthy images; the rest give one or two components a misbehaviour. */
function behaviours(components: ComponentName[]): fc.Arbitrary<Schedule["behaviours"]> {
  const healthy = Object.fromEntries(components.map((c) => [c, { kind: "healthy" }])) as Schedule["behaviours"];
  return fc.oneof(
    { weight: 10, arbitrary: fc.constant(healthy) },
    { weight: 10, arbitrary: fc.tuple(fc.uniqueArray(fc.constantFrom(...components), { minLength: 1, maxLength: Math.min(2, components.length) }), fc.array(misbehaviour, { minLength: 2, maxLength: 2 })).map(([bad, bs]) => ({
      ...healthy,
      ...Object.fromEntries(bad.map((c, i) => [c, bs[i]!])),
    })) },
    // A missing image: preflight must stop everything.
    { weight: 1, arbitrary: fc.constantFrom(...components).map((c) => ({ ...healthy, [c]: { kind: "missing" } as Behaviour })) },
  );
}

const action: fc.Arbitrary<FaultAction> = fc.oneof(
  fc.constant<FaultAction>({ kind: "error500" }),
  fc.constant<FaultAction>({ kind: "throttle" }),
  fc.constant<FaultAction>({ kind: "drop" }),
  fc.constant<FaultAction>({ kind: "hangBefore" }),
  fc.constant<FaultAction>({ kind: "hangAfter" }),
  fc.constant<FaultAction>({ kind: "client", type: "ClientException", message: "TaskDefinition is inactive" }),
  fc.record({ kind: fc.constant("delay" as const), ms: fc.integer({ min: 100, max: 2000 }) }),
);

function callPoint(components: ComponentName[]): fc.Arbitrary<CallPoint> {
  return fc.record({
    op: fc.constantFrom("UpdateService" as const, "DescribeServices" as const, "RegisterTaskDefinition" as const),
    component: fc.option(fc.constantFrom(...components), { nil: undefined }),
    nth: fc.integer({ min: 1, max: 6 }),
    when: fc.constantFrom("before" as const, "after" as const),
  }).map((p) => (p.op === "RegisterTaskDefinition" ? { ...p, component: undefined, nth: Math.min(p.nth, components.length) } : p.op === "UpdateService" ? { ...p, nth: Math.min(p.nth, 3) } : p));
}

export function scheduleArb(): fc.Arbitrary<Schedule> {
  return componentSet.chain((components) =>
    fc.record({
      components: fc.constant(components),
      behaviours: behaviours(components),
      previousBroken: maybe(fc.constantFrom(...components), 0.08),
      autoscaled: maybe(fc.record({ component: fc.constantFrom(...components), desired: fc.integer({ min: 1, max: 4 }) }), 0.12),
      sigterm: maybe(fc.constantFrom("exit0" as const, "ignore" as const), 0.15),
      maintenance: maybe(fc.record({ component: fc.constantFrom(...components), action: fc.constantFrom("retireTask" as const, "rebalance" as const), at: callPoint(components) }), 0.15),
      api: fc.record({
        throttleRate: rate(0.15, 0.25),
        errorRate: rate(0.2, 0.25),
        dropRate: rate(0.15, 0.12),
        latencyMs: maybe(fc.integer({ min: 1, max: 40 }), 0.2).map((v) => v ?? 0),
        describeBurst: maybe(fc.integer({ min: 1, max: 6 }), 0.12).map((v) => v ?? 0),
        staleMs: maybe(fc.integer({ min: 50, max: 1500 }), 0.2).map((v) => v ?? 0),
        consistency: maybe(fc.record({ lagMs: fc.integer({ min: 50, max: 1500 }), rate: fc.constantFrom(0.3, 1), afterWrites: fc.boolean() }), 0.15),
      }),
      targeted: maybe(
        fc.record({
          op: fc.constantFrom(
            "UpdateService" as const,
            "UpdateService" as const,
            "StopServiceDeployment" as const,
            "DescribeServices" as const,
            "DescribeServiceDeployments" as const,
            "ListTasks" as const,
            "DescribeTasks" as const,
            "RegisterTaskDefinition" as const,
          ),
          component: fc.option(fc.constantFrom(...components), { nil: undefined }),
          fromNth: fc.integer({ min: 1, max: 3 }),
          count: fc.constantFrom(1, 2, 3, Infinity),
          action,
        }),
        0.25,
      ),
      thirdParty: maybe(fc.record({ component: fc.constantFrom(...components), at: callPoint(components) }), 0.15),
      abort: maybe(fc.oneof(fc.record({ at: callPoint(components) }), fc.record({ afterMs: fc.integer({ min: 0, max: 3000 }) })), 0.2),
      flags: fc.record({
        timeoutMs: fc.integer({ min: 2000, max: 4500 }),
        bakeMs: fc.integer({ min: 100, max: 600 }),
        maxFailedTasks: fc.constantFrom(1, 2, 2, 3),
        atomic: fc.boolean(),
        abortGraceMs: fc.integer({ min: 1500, max: 3000 }),
        onAbort: fc.constantFrom("rollback" as const, "rollback" as const, "rollback" as const, "leave" as const),
      }),
      seed: fc.integer({ min: 1, max: 1_000_000 }),
    }),
  );
}

/** One line a person can read, and paste back with LGTM_SCHEDULE. */
export function describeSchedule(s: Schedule): string {
  return JSON.stringify(s, (_k, v) => (v === Infinity ? "Infinity" : v));
}

export function parseSchedule(text: string): Schedule {
  return JSON.parse(text, (_k, v) => (v === "Infinity" ? Infinity : v)) as Schedule;
}
