/**
 * What a backend would actually run in an environment: its baked config (dockerfiles/<component>/) expanded with the
 * rendered task definition's environment, exactly as `-config.expand-env=true` does at start-up. Pure (the caller
 * reads the file and parses the YAML).
 */
import type { CreateServiceCommandInput, RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import type { Environment } from "./environment.js";
import { expandEnv, type ExpandDialect } from "./expand.js";
import type { DataComponent } from "./migration.js";
import type { RollingContext } from "./rolling.js";

/** The stack's target-group health check (infra/lib/routes.ts HEALTH_CHECK; test/configs.test.ts keeps them equal). */
export const TARGET_HEALTH_CHECK = { intervalSeconds: 10, healthyThresholdCount: 2 } as const;

/** The config file each image bakes, relative to dockerfiles/<component>/. */
export const BAKED_CONFIG: Readonly<Record<DataComponent, string>> = { mimir: "mimir.yaml", loki: "config.yaml", tempo: "tempo.yaml", pyroscope: "config.yaml" };
export const DIALECT: Readonly<Record<DataComponent, ExpandDialect>> = { mimir: "mimir", loki: "envsubst", tempo: "envsubst", pyroscope: "envsubst" };

type Container = NonNullable<RegisterTaskDefinitionCommandInput["containerDefinitions"]>[number];

export function componentContainer(component: string, td: RegisterTaskDefinitionCommandInput): Container | undefined {
  return (td.containerDefinitions ?? []).find((c) => c.name === component);
}

/** The variables the container starts with (secrets stand in as a marker: their values are never read here). */
export function containerEnvironment(container: Container | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of container?.environment ?? []) if (kv.name !== undefined) env[kv.name] = kv.value ?? "";
  for (const s of container?.secrets ?? []) if (s.name !== undefined) env[s.name] = "<secret>";
  return env;
}

export function expandBakedConfig(component: DataComponent, text: string, td: RegisterTaskDefinitionCommandInput): string {
  return expandEnv(text, DIALECT[component], containerEnvironment(componentContainer(component, td)));
}

/** The rolling-safety inputs from the parsed effective config and the rendered task and service definitions. */
export function rollingContext(component: DataComponent, config: unknown, env: Environment, td: RegisterTaskDefinitionCommandInput, svc: CreateServiceCommandInput): RollingContext {
  const container = componentContainer(component, td);
  const lb = (svc.loadBalancers ?? []).length > 0 ? env.loadBalancers[component] : undefined;
  return {
    component,
    config,
    desiredCount: svc.desiredCount ?? 1,
    stopTimeout: container?.stopTimeout,
    healthCheck: container?.healthCheck === undefined ? undefined : { interval: container.healthCheck.interval },
    gracePeriodSeconds: svc.healthCheckGracePeriodSeconds,
    loadBalancer:
      lb === undefined
        ? undefined
        : { intervalSeconds: lb.healthCheckIntervalSeconds ?? TARGET_HEALTH_CHECK.intervalSeconds, healthyThresholdCount: lb.healthyThresholdCount ?? TARGET_HEALTH_CHECK.healthyThresholdCount },
  };
}
