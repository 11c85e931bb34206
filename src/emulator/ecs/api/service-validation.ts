/**
 * What CreateService and UpdateService validate, before anything changes. Each rule cites the page it follows; where
 * AWS does not say which error a bad value gets, InvalidParameterException is used (the emulator's choice).
 */
import { AwsApiError, invalidParam } from "../../errors.js";
import { arr, bool, num, obj, str } from "../../util.js";
import type { CircuitBreakerConfig, DeploymentConfig, TaskDef } from "../model.js";
import type { EcsState } from "../state.js";

/** DeploymentConfiguration members in the API model (API_DeploymentConfiguration). */
const CONFIG_KEYS = new Set([
  "deploymentCircuitBreaker",
  "maximumPercent",
  "minimumHealthyPercent",
  "alarms",
  "strategy",
  "bakeTimeInMinutes",
  "lifecycleHooks",
  "linearConfiguration",
  "canaryConfiguration",
  "earlySuccessCriteria",
]);
const BREAKER_KEYS = new Set(["enable", "rollback", "resetOnHealthyTask", "thresholdConfiguration"]);
const THRESHOLD_TYPES = new Set(["COUNT", "BOUNDED_PERCENT", "UNBOUNDED_PERCENT"]);
const PLATFORM_VERSIONS = new Set(["LATEST", "1.4.0", "1.3.0"]);

function unknownKeys(o: Record<string, unknown>, known: Set<string>, where: string): void {
  for (const k of Object.keys(o)) if (!known.has(k)) throw invalidParam(`Unknown parameter in ${where}: "${k}", must be one of: ${[...known].join(", ")}`);
}

function requiredBool(o: Record<string, unknown>, key: string, where: string): boolean {
  const v = bool(o[key]);
  if (v === undefined) throw invalidParam(`${where}.${key} is required and must be a boolean.`);
  return v;
}

/** thresholdConfiguration {type, value}: both required (API_ThresholdConfiguration). */
function parseThreshold(raw: unknown): CircuitBreakerConfig["thresholdConfiguration"] {
  const o = obj(raw);
  if (!o) throw invalidParam("deploymentCircuitBreaker.thresholdConfiguration must be an object.");
  unknownKeys(o, new Set(["type", "value"]), "deploymentCircuitBreaker.thresholdConfiguration");
  const type = str(o.type);
  if (type === undefined || !THRESHOLD_TYPES.has(type)) {
    throw invalidParam("deploymentCircuitBreaker.thresholdConfiguration.type must be one of COUNT, BOUNDED_PERCENT, UNBOUNDED_PERCENT.");
  }
  const value = num(o.value);
  if (value === undefined || !Number.isInteger(value) || value < 1) {
    throw invalidParam("deploymentCircuitBreaker.thresholdConfiguration.value must be a positive integer.");
  }
  if (type !== "COUNT" && value > 100) throw invalidParam(`deploymentCircuitBreaker.thresholdConfiguration.value must be between 1 and 100 for ${type}.`);
  return { type: type as "COUNT" | "BOUNDED_PERCENT" | "UNBOUNDED_PERCENT", value };
}

/** deploymentCircuitBreaker {enable, rollback, resetOnHealthyTask?, thresholdConfiguration?} (API_DeploymentCircuitBreaker). */
function parseBreaker(raw: unknown): CircuitBreakerConfig {
  const o = obj(raw);
  if (!o) throw invalidParam("deploymentConfiguration.deploymentCircuitBreaker must be an object.");
  unknownKeys(o, BREAKER_KEYS, "deploymentConfiguration.deploymentCircuitBreaker");
  const cb: CircuitBreakerConfig = {
    enable: requiredBool(o, "enable", "deploymentCircuitBreaker"),
    rollback: requiredBool(o, "rollback", "deploymentCircuitBreaker"),
  };
  if (o.resetOnHealthyTask !== undefined) {
    const r = bool(o.resetOnHealthyTask);
    if (r === undefined) throw invalidParam("deploymentCircuitBreaker.resetOnHealthyTask must be a boolean.");
    cb.resetOnHealthyTask = r;
  }
  if (o.thresholdConfiguration !== undefined) cb.thresholdConfiguration = parseThreshold(o.thresholdConfiguration);
  return cb;
}

/** alarms {alarmNames, enable, rollback}, all required (API_DeploymentAlarms). */
function parseAlarms(raw: unknown): DeploymentConfig["alarms"] {
  const o = obj(raw);
  if (!o) throw invalidParam("deploymentConfiguration.alarms must be an object.");
  unknownKeys(o, new Set(["alarmNames", "enable", "rollback"]), "deploymentConfiguration.alarms");
  const names = arr(o.alarmNames);
  if (!names || names.some((n) => typeof n !== "string")) throw invalidParam("deploymentConfiguration.alarms.alarmNames must be a list of strings.");
  return { alarmNames: names.map(String), enable: requiredBool(o, "enable", "alarms"), rollback: requiredBool(o, "rollback", "alarms") };
}

function percent(o: Record<string, unknown>, key: string): number | undefined {
  if (o[key] === undefined) return undefined;
  const v = num(o[key]);
  if (v === undefined || !Number.isInteger(v)) throw invalidParam(`deploymentConfiguration.${key} must be an integer.`);
  return v;
}

/** Members left out keep the service's current values (UpdateService) or the defaults 100/200, breaker off. */
export function parseDeploymentConfig(raw: unknown, base?: DeploymentConfig): DeploymentConfig {
  if (raw !== undefined && !obj(raw)) throw invalidParam("deploymentConfiguration must be an object.");
  const o = obj(raw) ?? {};
  unknownKeys(o, CONFIG_KEYS, "deploymentConfiguration");
  const cfg: DeploymentConfig = {
    minimumHealthyPercent: percent(o, "minimumHealthyPercent") ?? base?.minimumHealthyPercent ?? 100,
    maximumPercent: percent(o, "maximumPercent") ?? base?.maximumPercent ?? 200,
    deploymentCircuitBreaker:
      o.deploymentCircuitBreaker !== undefined ? parseBreaker(o.deploymentCircuitBreaker) : (base?.deploymentCircuitBreaker ?? { enable: false, rollback: false }),
    alarms: o.alarms !== undefined ? parseAlarms(o.alarms) : (base?.alarms ?? { alarmNames: [], enable: false, rollback: false }),
    extra: { ...(base?.extra ?? {}) },
  };
  for (const [k, v] of Object.entries(o)) {
    if (!["minimumHealthyPercent", "maximumPercent", "deploymentCircuitBreaker", "alarms"].includes(k)) cfg.extra[k] = v;
  }
  if (cfg.minimumHealthyPercent < 0 || cfg.minimumHealthyPercent > 100) throw invalidParam("minimumHealthyPercent must be between 0 and 100.");
  if (cfg.maximumPercent < 100 || cfg.maximumPercent > 200) throw invalidParam("maximumPercent must be between 100 and 200.");
  return cfg;
}

/**
 * healthCheckGracePeriodSeconds: 0..2147483647 (API_CreateService), and only for a service with a load balancer —
 * any value, 0 included (the inconvenient reading): "Health check grace period is only valid for services configured
 * to use load balancers", the error ECS answers (hashicorp/terraform-provider-aws#31104). DescribeServices still shows
 * 0 for such a service, so echoing it back fails.
 */
export function checkGracePeriod(value: unknown, loadBalancers: unknown[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  const v = num(value);
  if (v === undefined || !Number.isInteger(v) || v < 0 || v > 2147483647) throw invalidParam("healthCheckGracePeriodSeconds must be between 0 and 2147483647.");
  if (loadBalancers.length === 0) throw invalidParam("Health check grace period is only valid for services configured to use load balancers");
  return v;
}

/** platformVersion: LATEST or a Fargate platform version that exists (PlatformUnknownException otherwise). */
export function checkPlatformVersion(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const v = str(value);
  if (v === undefined || !PLATFORM_VERSIONS.has(v)) throw new AwsApiError("PlatformUnknownException", `The specified platform version (${String(value)}) does not exist.`);
  return v;
}

/** Load balancer target groups and Cloud Map registries must be in the service's own region and account. */
export function checkForeignTargets(ecs: EcsState, loadBalancers: unknown[], registries: unknown[]): void {
  const arns = [
    ...loadBalancers.map((lb) => str(obj(lb)?.targetGroupArn)),
    ...registries.map((r) => str(obj(r)?.registryArn)),
  ].filter((a): a is string => a !== undefined);
  for (const arn of arns) {
    const m = /^arn:aws[a-z-]*:[a-z0-9-]+:([a-z0-9-]*):(\d*):/.exec(arn);
    if (!m) throw invalidParam(`Invalid ARN: ${arn}`);
    if (m[1] !== ecs.region) throw invalidParam("Invalid Region in ARN");
    if (m[2] !== ecs.account) throw invalidParam(`Identifier is for ${m[2]}. Your accountId is ${ecs.account}`);
  }
}

export function checkAzRebalancing(value: unknown): "ENABLED" | "DISABLED" | undefined {
  if (value === undefined) return undefined;
  if (value !== "ENABLED" && value !== "DISABLED") throw invalidParam("availabilityZoneRebalancing must be ENABLED or DISABLED.");
  return value;
}

/** The task definition must be ACTIVE, support the launch type, and awsvpc needs subnets (API_CreateService). */
export function checkLaunch(td: TaskDef, launchType: string, networkConfiguration: unknown): void {
  if (td.status !== "ACTIVE") throw new AwsApiError("ClientException", "TaskDefinition is inactive.");
  if (launchType === "FARGATE") {
    const compat = (arr(td.body.compatibilities) ?? []).map(String);
    if (!compat.includes("FARGATE")) throw invalidParam("Task definition does not support launch_type FARGATE.");
  }
  if (str(td.body.networkMode) === "awsvpc") {
    const vpc = obj(obj(networkConfiguration)?.awsvpcConfiguration);
    if (!vpc || (arr(vpc.subnets) ?? []).length === 0) {
      throw invalidParam("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
    }
  }
}

export function checkDesiredCount(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const v = num(value);
  if (v === undefined || !Number.isInteger(v) || v < 0) throw invalidParam("desiredCount must be >= 0.");
  return v;
}
