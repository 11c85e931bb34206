/**
 * The default bake: how long a release must stay COMPLETED, with no failed task of the new revision, before it
 * counts as a success. ECS's circuit breaker stops watching once a deployment is COMPLETED, so a build that crashes a
 * little later is caught only by this window.
 *
 * - 40 s: a task without a container health check counts as healthy 40 s after it reaches RUNNING (ECS developer
 *   guide, DeploymentConfiguration.minimumHealthyPercent: "the service scheduler will wait for 40 seconds after a task
 *   reaches a RUNNING state before the task is counted towards the minimum healthy percent total");
 * - plus one health-check cycle: for a container health check, the time from the first failing check to UNHEALTHY
 *   (interval × retries); without one, the 30 s default interval of a load-balancer or container health check.
 */
import type { ContainerDefinition } from "@aws-sdk/client-ecs";

export const ECS_HEALTHY_WITHOUT_CHECK_MS = 40_000;
export const DEFAULT_CHECK_CYCLE_MS = 30_000;

export function defaultBakeMs(td: { containerDefinitions?: ContainerDefinition[] } | undefined): number {
  const checks = (td?.containerDefinitions ?? []).filter((c) => c.essential !== false && c.healthCheck !== undefined).map((c) => c.healthCheck!);
  const cycle = Math.max(DEFAULT_CHECK_CYCLE_MS, ...checks.map((h) => (h.interval ?? 30) * 1000 * (h.retries ?? 3)));
  return ECS_HEALTHY_WITHOUT_CHECK_MS + cycle;
}
