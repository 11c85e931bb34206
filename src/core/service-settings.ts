/**
 * The service settings a release manages besides the task definition, and what a rollback puts back: only the settings
 * this release changed, with the values the service had. DescribeServices echoes defaults ECS would reject if sent back
 * (a health-check grace period on a service without a load balancer, empty alarm blocks), so nothing is echoed blindly.
 */
import type { CreateServiceCommandInput, Service } from "@aws-sdk/client-ecs";

export type Settings = Record<string, unknown>;

/** The settings a release sends with UpdateService: the template's, and the desired count only when the environment sets one. */
export function releaseSettings(create: CreateServiceCommandInput, desiredFromEnvironment: number | undefined): Settings {
  const out: Settings = {
    deploymentConfiguration: create.deploymentConfiguration,
    networkConfiguration: create.networkConfiguration,
    loadBalancers: create.loadBalancers ?? [],
    serviceRegistries: create.serviceRegistries ?? [],
    propagateTags: create.propagateTags,
    enableECSManagedTags: create.enableECSManagedTags,
  };
  if (create.healthCheckGracePeriodSeconds !== undefined) out.healthCheckGracePeriodSeconds = create.healthCheckGracePeriodSeconds;
  if (desiredFromEnvironment !== undefined) out.desiredCount = desiredFromEnvironment;
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** A canonical form for comparison: sorted keys, sorted string arrays, no undefined, ECS defaults folded away. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = v.map(canonical);
    return items.every((i) => typeof i === "string") ? [...(items as string[])].sort() : items;
  }
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const k of Object.keys(v).sort()) {
    const c = canonical(v[k]);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

/** The deployment configuration as ECS means it: an alarm block with no alarms and disabled is no alarm block. */
function deploymentConfiguration(v: unknown): Obj | undefined {
  if (!isObj(v)) return undefined;
  const out: Obj = { ...v };
  const alarms = out.alarms;
  if (isObj(alarms) && (!Array.isArray(alarms.alarmNames) || alarms.alarmNames.length === 0) && alarms.enable !== true) delete out.alarms;
  const breaker = out.deploymentCircuitBreaker;
  if (isObj(breaker) && breaker.enable !== true && breaker.rollback !== true) delete out.deploymentCircuitBreaker;
  return out;
}

function described(svc: Service, key: string): unknown {
  switch (key) {
    case "deploymentConfiguration":
      return deploymentConfiguration(svc.deploymentConfiguration);
    case "loadBalancers":
      return svc.loadBalancers ?? [];
    case "serviceRegistries":
      return svc.serviceRegistries ?? [];
    case "healthCheckGracePeriodSeconds":
      return svc.healthCheckGracePeriodSeconds ?? 0;
    default:
      return (svc as Obj)[key];
  }
}

function wanted(settings: Settings, key: string): unknown {
  return key === "deploymentConfiguration" ? deploymentConfiguration(settings[key]) : settings[key];
}

/** Which of `settings` differ from the service as described. */
export function changedKeys(settings: Settings, svc: Service): string[] {
  return Object.keys(settings).filter((k) => JSON.stringify(canonical(wanted(settings, k))) !== JSON.stringify(canonical(described(svc, k))));
}

/**
 * What to send on rollback to undo `settings`: the service's own values for the keys the release changed. A release
 * that adds alarms is undone with a disabled alarm block; a grace period is never sent to a service without a load
 * balancer (ECS rejects it).
 */
export function restoreSettings(settings: Settings, svc: Service): Settings {
  const out: Settings = {};
  for (const key of changedKeys(settings, svc)) {
    if (key === "healthCheckGracePeriodSeconds") continue;
    let value = described(svc, key);
    if (key === "deploymentConfiguration" && isObj(value) && isObj(wanted(settings, key)) && (wanted(settings, key) as Obj).alarms !== undefined && value.alarms === undefined) {
      value = { ...value, alarms: { alarmNames: [], enable: false, rollback: false } };
    }
    if (value !== undefined) out[key] = value;
  }
  const lbs = svc.loadBalancers ?? [];
  if (changedKeys(settings, svc).includes("healthCheckGracePeriodSeconds") && lbs.length > 0 && svc.healthCheckGracePeriodSeconds !== undefined) {
    out.healthCheckGracePeriodSeconds = svc.healthCheckGracePeriodSeconds;
  }
  return out;
}

/**
 * A service revision holds the task definition, network configuration, load balancers and service registries (ECS
 * developer guide, "Properties included in an Amazon ECS service revision"); a rollback by ECS (circuit breaker,
 * alarms, StopServiceDeployment) restores those and nothing else. The rest of what a release changed must be put back
 * with a plain UpdateService, which starts no deployment.
 */
const REVISION_KEYS = new Set(["taskDefinition", "networkConfiguration", "loadBalancers", "serviceRegistries"]);

export function outsideRevision(settings: Settings): Settings {
  return Object.fromEntries(Object.entries(settings).filter(([k]) => !REVISION_KEYS.has(k)));
}
