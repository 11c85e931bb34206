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
 * Deployment alarms per routed component (ECS rolls a deployment back when one fires). One-minute periods, two
 * breaching minutes in a row: a single restart's blip does not roll a release back, a broken one does within ~2 min.
 */
export const ALARMS = {
  target5xx: { suffix: "target-5xx", threshold: 10, periodSeconds: 60, evaluationPeriods: 2 },
  unhealthyHosts: { suffix: "unhealthy-hosts", threshold: 1, periodSeconds: 60, evaluationPeriods: 2 },
} as const;
