/**
 * How the internal load balancer routes each component, and the numbers behind it. The environment says which
 * components are routed (its loadBalancers input); this table says how. A routed component missing here is an error.
 */
import type { ComponentName } from "../../src/core/catalogue.js";

export interface Route {
  /** Listener rule priority: lower wins; the catch-all comes last. */
  priority: number;
  /** ALB path patterns (at most five per rule). */
  paths: string[];
  /** Seconds the ALB drains a deregistered task before ECS sends it SIGTERM (ALB default: 300). */
  deregistrationDelaySeconds: number;
}

export const ROUTES: Partial<Record<ComponentName, Route>> = {
  // Hybrid agents' pushes (Prometheus remote write, OTLP metrics) and the Prometheus API. Grafana reaches Mimir by
  // Cloud Map, so ALB traffic is pushes: sub-second requests that remote-write clients retry on failure. 20 s lets
  // in-flight pushes finish; the default 300 s would add 5 minutes per task to Mimir's one-at-a-time rolling update.
  mimir: { priority: 10, paths: ["/api/v1/push", "/otlp/v1/metrics", "/prometheus/*"], deregistrationDelaySeconds: 20 },
  // Log pushes (Loki push API, OTLP logs) and the Loki API: the same reasoning as Mimir.
  loki: { priority: 20, paths: ["/loki/*", "/otlp/v1/logs"], deregistrationDelaySeconds: 20 },
  // People's browsers. A dashboard query proxied by Grafana runs up to its data proxy timeout (30 s by default):
  // 35 s lets it finish. Grafana deploys with maximumPercent 200, so the new task serves while the old one drains.
  grafana: { priority: 100, paths: ["/*"], deregistrationDelaySeconds: 35 },
};

/** Target group health checks: quicker than the ALB defaults (30 s × 5 healthy) so a rolling update is not slowed. */
export const HEALTH_CHECK = { intervalSeconds: 10, timeoutSeconds: 5, healthyThresholdCount: 2, unhealthyThresholdCount: 3 } as const;

/**
 * Deployment alarms per routed component (ECS rolls a deployment back when one fires). They must mean "this release
 * is really hurting", never "a task is being replaced": a rolling Mimir or Loki release keeps its new task failing
 * /ready on purpose for min_ready_duration (11m, 2m), so "any unhealthy target" would roll back every healthy release.
 *
 * - target5xx: targets answered 5xx, at least 10 a minute for two minutes: what clients feel. No requests, no
 *   datapoint: not breaching.
 * - healthyHostsLow: fewer healthy targets than the service's minimum healthy count (desired x minimumHealthyPercent,
 *   rounded up, at least 1) while at least one target is unhealthy, for longer than one replacement may take (the
 *   component's healthCheckGracePeriodSeconds, the longest ECS lets a new task stay unready, plus one period). ECS
 *   itself never takes a service below that count in a release, so falling under it for that long is damage, not
 *   pacing. "While one is unhealthy" keeps an empty target group (before the first release, scaled to zero) out of
 *   ALARM: ALB reports HealthyHostCount 0 then, and an alarm already firing would fail the first release. Missing
 *   datapoints are filled with 0 (no healthy, no unhealthy: not breaching).
 */
export const ALARMS = {
  target5xx: { suffix: "target-5xx", threshold: 10, periodSeconds: 60, evaluationPeriods: 2 },
  healthyHostsLow: { suffix: "healthy-hosts-low", periodSeconds: 60 },
} as const;

/** The minimum healthy count ECS keeps during a deployment (API_DeploymentConfiguration: rounded up), at least 1. */
export function minimumHealthyHosts(desiredCount: number, minimumHealthyPercent: number): number {
  return Math.max(1, Math.ceil((desiredCount * minimumHealthyPercent) / 100));
}

/** Periods of healthyHostsLow: one replacement (the grace period) plus one, so a normal replacement never fires it. */
export function healthyHostsLowPeriods(gracePeriodSeconds: number): number {
  return Math.ceil(gracePeriodSeconds / ALARMS.healthyHostsLow.periodSeconds) + 1;
}
