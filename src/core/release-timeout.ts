/**
 * The default --timeout and --rollback-timeout of a component, from its own rollout: how ECS replaces its tasks
 * (waves, from desired count and the deployment percentages) and what one replacement takes (drain, stop, start-up,
 * the ring's min-ready wait, health detection, and the health-check grace period ECS tolerates). Rolling-safe Mimir
 * holds every replacement back 11 minutes on purpose, so one timeout for every component would either roll back a
 * healthy Mimir release or wait far too long for a stuck Grafana. Pure; docs/rollout-timeouts.md has the figures.
 *
 * - minimum: the release cannot finish sooner: every wave waits the ring's min_ready_duration before its tasks can be
 *   healthy, and the bake follows. An explicit --timeout below it is refused (exit 2) against AWS.
 * - expected: nominal waves (stop budget, start-up allowance, min-ready, detection) plus the bake: an explicit
 *   --timeout below it gets a warning.
 * - default: the longest a release may take while ECS still calls every task healthy (a task may stay unready for
 *   the whole grace period), plus 10 % (at least 5 minutes) and never under 20 minutes (Fargate's slow days: capacity
 *   retries, large image pulls).
 */
import type { ComponentName } from "./catalogue.js";
import { formatDuration } from "./duration.js";
import { STARTUP_ALLOWANCE_SECONDS as START_UP_ALLOWANCE_SECONDS } from "./rolling.js";

/** A task without a health check counts as healthy 40 s after RUNNING (ECS developer guide, minimumHealthyPercent). */
export const NO_CHECK_HEALTHY_SECONDS = 40;
/**
 * The target groups' deregistration delay, an upper bound: the stack sets 20 s (Mimir, Loki) and 35 s (Grafana) in
 * infra/lib/routes.ts (test/release-timeout.test.ts keeps this at least as long).
 */
export const DEREGISTRATION_DELAY_BOUND_SECONDS = 35;
/** The old single default: the floor of every component's default. */
export const DEFAULT_TIMEOUT_FLOOR_SECONDS = 20 * 60;
export const MARGIN_FRACTION = 0.1;
export const MIN_MARGIN_SECONDS = 5 * 60;

export interface RolloutShape {
  component: ComponentName;
  desiredCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
  /** The container's stopTimeout (ECS default 30 s): SIGTERM to SIGKILL, the flush on shutdown inside it. */
  stopTimeoutSeconds: number;
  /** 0 without a load balancer. */
  deregistrationDelaySeconds: number;
  /** The ring's min_ready_duration behind /ready (0 for components without one or not gated by it). */
  minReadySeconds: number;
  /** From ready to healthy in ECS's eyes: ALB interval × healthy threshold, a container check's interval, or 40 s. */
  detectionSeconds: number;
  /** healthCheckGracePeriodSeconds (0 without a load balancer). */
  gracePeriodSeconds: number;
}

export interface ReleaseTimeouts {
  component: ComponentName;
  /** Rounds of replacements ECS needs (API_DeploymentConfiguration: minimum rounds up, maximum rounds down). */
  waves: number;
  /** One wave, nominal and as long as ECS tolerates, in seconds. */
  nominalWaveSeconds: number;
  toleratedWaveSeconds: number;
  bakeSeconds: number;
  minimumSeconds: number;
  expectedSeconds: number;
  defaultSeconds: number;
  /** One line: the math behind the default. */
  math: string;
}

/** How many rounds of replacements ECS makes: at most maximum - minimumHealthy tasks are replaced at once. */
export function waves(s: Pick<RolloutShape, "desiredCount" | "minimumHealthyPercent" | "maximumPercent">): number {
  if (s.desiredCount <= 0) return 0;
  const minHealthy = Math.ceil((s.desiredCount * s.minimumHealthyPercent) / 100);
  const maxRunning = Math.floor((s.desiredCount * s.maximumPercent) / 100);
  return Math.ceil(s.desiredCount / Math.max(1, maxRunning - minHealthy));
}

export function releaseTimeouts(s: RolloutShape, bakeMs: number): ReleaseTimeouts {
  const n = waves(s);
  const bake = bakeMs / 1000;
  const ready = START_UP_ALLOWANCE_SECONDS + s.minReadySeconds + s.detectionSeconds;
  const away = s.deregistrationDelaySeconds + s.stopTimeoutSeconds;
  const nominal = away + ready;
  const tolerated = away + Math.max(ready, s.gracePeriodSeconds);
  const worst = n * tolerated + bake;
  const withMargin = worst + Math.max(MIN_MARGIN_SECONDS, MARGIN_FRACTION * worst);
  const defaultSeconds = Math.max(DEFAULT_TIMEOUT_FLOOR_SECONDS, Math.ceil(withMargin / 60) * 60);
  const parts = [
    s.deregistrationDelaySeconds > 0 ? `drain ${formatDuration(s.deregistrationDelaySeconds)}` : "",
    `stop ${formatDuration(s.stopTimeoutSeconds)}`,
    s.gracePeriodSeconds > ready ? `grace ${formatDuration(s.gracePeriodSeconds)}` : `start-up ${formatDuration(START_UP_ALLOWANCE_SECONDS)}${s.minReadySeconds > 0 ? ` + min-ready ${formatDuration(s.minReadySeconds)}` : ""} + detection ${formatDuration(s.detectionSeconds)}`,
  ].filter((p) => p !== "");
  const computed = Math.ceil(withMargin / 60) * 60;
  const result = computed < DEFAULT_TIMEOUT_FLOOR_SECONDS ? `${formatDuration(computed)}, raised to the ${formatDuration(DEFAULT_TIMEOUT_FLOOR_SECONDS)} floor` : formatDuration(defaultSeconds);
  return {
    component: s.component,
    waves: n,
    nominalWaveSeconds: nominal,
    toleratedWaveSeconds: tolerated,
    bakeSeconds: bake,
    minimumSeconds: n * s.minReadySeconds + bake,
    expectedSeconds: n * nominal + bake,
    defaultSeconds,
    math: `${n} x (${parts.join(" + ")}) + bake ${formatDuration(bake)} + margin = ${result}`,
  };
}

export interface TimeoutChoice {
  ms: number;
  /** "default" or the flag that set it. */
  source: "default" | "flag";
  /** A refusal (exit 2): the flag is certainly too short. */
  error?: string;
  warning?: string;
}

/**
 * The timeout in force: the flag when given, else the component's default. A flag below the minimum is refused and
 * one below the expected rollout warned about - against AWS. Against the emulator (a loopback endpoint) neither: its
 * tasks do not run the ring's wait and its timings are scaled, so short explicit timeouts are what tests want.
 */
export function chooseTimeout(flag: "--timeout" | "--rollback-timeout", given: number | undefined, t: ReleaseTimeouts, o: { loopback: boolean }): TimeoutChoice {
  if (given === undefined) return { ms: t.defaultSeconds * 1000, source: "default" };
  if (o.loopback) return { ms: given, source: "flag" };
  const s = given / 1000;
  const why = `${t.waves} replacement round(s), each held back by the ring's min-ready wait, + bake ${formatDuration(t.bakeSeconds)}`;
  if (s < t.minimumSeconds && t.minimumSeconds > t.bakeSeconds) {
    return { ms: given, source: "flag", error: `${flag} ${formatDuration(s)} is certainly too short for ${t.component}: its rollout cannot finish before ${formatDuration(t.minimumSeconds)} (${why}); leave ${flag} out for its default ${formatDuration(t.defaultSeconds)} (${t.math})` };
  }
  if (s < t.expectedSeconds) {
    return { ms: given, source: "flag", warning: `${flag} ${formatDuration(s)} is shorter than ${t.component}'s expected rollout of ${formatDuration(t.expectedSeconds)} (${t.waves} x ${formatDuration(t.nominalWaveSeconds)} + bake ${formatDuration(t.bakeSeconds)}): a healthy release may be rolled back; its default is ${formatDuration(t.defaultSeconds)}` };
  }
  return { ms: given, source: "flag" };
}

type Container = { name?: string; essential?: boolean; stopTimeout?: number; healthCheck?: { interval?: number } };
export interface ServiceShape {
  desiredCount?: number;
  deploymentConfiguration?: { minimumHealthyPercent?: number; maximumPercent?: number };
  loadBalancers?: unknown[];
  healthCheckGracePeriodSeconds?: number;
}

/**
 * The rollout shape from a task definition (rendered, or the rollback target's) and a service (rendered or described).
 * ECS's defaults where a field is absent: stopTimeout 30 s, minimumHealthyPercent 100, maximumPercent 200
 * (API_ContainerDefinition, API_DeploymentConfiguration). The min-ready wait counts only behind a health gate (a load
 * balancer or a container check): without one ECS does not wait for /ready.
 */
export function rolloutShape(
  component: ComponentName,
  td: { containerDefinitions?: Container[] },
  svc: ServiceShape,
  o: { minReadySeconds: number; desiredCount?: number; targetCheck: { intervalSeconds: number; healthyThresholdCount: number } },
): RolloutShape {
  const containers = (td.containerDefinitions ?? []).filter((c) => c.essential !== false);
  const main = containers.find((c) => c.name === component);
  const stop = Math.max(0, ...containers.map((c) => c.stopTimeout ?? 30));
  const routed = (svc.loadBalancers ?? []).length > 0;
  const check = main?.healthCheck;
  const gated = routed || check !== undefined;
  const detection = gated ? Math.max(routed ? o.targetCheck.intervalSeconds * o.targetCheck.healthyThresholdCount : 0, check ? (check.interval ?? 30) : 0) : NO_CHECK_HEALTHY_SECONDS;
  return {
    component,
    desiredCount: o.desiredCount ?? svc.desiredCount ?? 1,
    minimumHealthyPercent: svc.deploymentConfiguration?.minimumHealthyPercent ?? 100,
    maximumPercent: svc.deploymentConfiguration?.maximumPercent ?? 200,
    stopTimeoutSeconds: containers.length === 0 ? 30 : stop,
    deregistrationDelaySeconds: routed ? DEREGISTRATION_DELAY_BOUND_SECONDS : 0,
    minReadySeconds: gated ? o.minReadySeconds : 0,
    detectionSeconds: detection,
    gracePeriodSeconds: routed ? (svc.healthCheckGracePeriodSeconds ?? 0) : 0,
  };
}
