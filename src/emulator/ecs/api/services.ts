/** CreateService, UpdateService, DeleteService, ListServices (DescribeServices reads through views: reads.ts). */
import { AwsApiError, clientError, invalidParam } from "../../errors.js";
import { arr, bool, paginate, requireString, str, tagsOf } from "../../util.js";
import type { Service, TaskDef } from "../model.js";
import { startDeployment } from "../sim/deployments.js";
import { stopTask } from "../sim/task-lifecycle.js";
import type { EcsState } from "../state.js";
import { serviceJson } from "../views.js";
import type { ApiCtx } from "./context.js";
import {
  checkAzRebalancing,
  checkDesiredCount,
  checkForeignTargets,
  checkGracePeriod,
  checkLaunch,
  checkPlatformVersion,
  parseDeploymentConfig,
} from "./service-validation.js";

const NAME_RE = /^[a-zA-Z0-9_-]{1,255}$/;
const tdNotFound = (): AwsApiError => clientError("TaskDefinition not found.");

/** CreateService: validates everything first; the new deployment's tasks start on the scheduler's next pass. */
export function createService(ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx): Record<string, unknown> {
  const cluster = ecs.clusterOf(input);
  const name = requireString(input, "serviceName");
  if (!NAME_RE.test(name)) throw invalidParam("Service name contains invalid characters.");
  const existing = ecs.services.get(`${cluster.name}/${name}`);
  if (existing && existing.status !== "INACTIVE") throw invalidParam("Creation of service was not idempotent.");
  const td = ecs.taskDefOf(str(input.taskDefinition), tdNotFound);
  const launchType = str(input.launchType) ?? "FARGATE";
  checkLaunch(td, launchType, input.networkConfiguration);
  const desired = checkDesiredCount(input.desiredCount) ?? 0;
  const loadBalancers = arr(input.loadBalancers) ?? [];
  const serviceRegistries = arr(input.serviceRegistries) ?? [];
  checkForeignTargets(ecs, loadBalancers, serviceRegistries);
  const grace = checkGracePeriod(input.healthCheckGracePeriodSeconds, loadBalancers);
  const svc: Service = {
    name,
    arn: `arn:aws:ecs:${cluster.region}:${ecs.account}:service/${cluster.name}/${name}`,
    cluster,
    status: "ACTIVE",
    desiredCount: desired,
    launchType,
    platformVersion: checkPlatformVersion(input.platformVersion) ?? "LATEST",
    deploymentConfiguration: parseDeploymentConfig(input.deploymentConfiguration),
    networkConfiguration: input.networkConfiguration,
    loadBalancers,
    serviceRegistries,
    enableECSManagedTags: bool(input.enableECSManagedTags) ?? false,
    enableExecuteCommand: bool(input.enableExecuteCommand) ?? false,
    availabilityZoneRebalancing: checkAzRebalancing(input.availabilityZoneRebalancing) ?? "ENABLED",
    tags: tagsOf(input.tags),
    createdAt: ctx.now,
    deployments: [],
    retired: [],
    events: [],
    history: [],
    steady: false,
    throttle: { failures: 0, nextLaunchAt: 0, announced: false },
    replacing: new Map(),
  };
  const propagate = str(input.propagateTags);
  if (propagate !== undefined) svc.propagateTags = propagate;
  if (grace !== undefined) svc.healthCheckGracePeriodSeconds = grace;
  ecs.services.set(`${cluster.name}/${name}`, svc);
  startDeployment(ecs, svc, td, ctx.now);
  return { service: serviceJson(ecs, svc, true) };
}

/** The service settings an UpdateService asks for, all validated before any of them is applied. */
interface ServiceUpdate {
  td?: TaskDef;
  desired?: number;
  config?: Service["deploymentConfiguration"];
  network?: unknown;
  loadBalancers?: unknown[];
  serviceRegistries?: unknown[];
  grace?: number;
  platformVersion?: string;
  azRebalancing?: "ENABLED" | "DISABLED";
}

function validateUpdate(ecs: EcsState, svc: Service, input: Record<string, unknown>): ServiceUpdate {
  const u: ServiceUpdate = {};
  const tdRef = str(input.taskDefinition);
  if (tdRef !== undefined) u.td = ecs.taskDefOf(tdRef, tdNotFound);
  const network = input.networkConfiguration ?? svc.networkConfiguration;
  if (u.td) checkLaunch(u.td, svc.launchType, network);
  if (input.networkConfiguration !== undefined) u.network = input.networkConfiguration;
  const desired = checkDesiredCount(input.desiredCount);
  if (desired !== undefined) u.desired = desired;
  if (input.deploymentConfiguration !== undefined) u.config = parseDeploymentConfig(input.deploymentConfiguration, svc.deploymentConfiguration);
  const lbs = arr(input.loadBalancers);
  if (lbs) u.loadBalancers = lbs;
  const regs = arr(input.serviceRegistries);
  if (regs) u.serviceRegistries = regs;
  checkForeignTargets(ecs, lbs ?? [], regs ?? []);
  const grace = checkGracePeriod(input.healthCheckGracePeriodSeconds, u.loadBalancers ?? svc.loadBalancers);
  if (grace !== undefined) u.grace = grace;
  const pv = checkPlatformVersion(input.platformVersion);
  if (pv !== undefined) u.platformVersion = pv;
  const az = checkAzRebalancing(input.availabilityZoneRebalancing);
  if (az !== undefined) u.azRebalancing = az;
  return u;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Settings that make ECS start a new deployment (the rest are applied to the running one). */
function needsDeployment(svc: Service, u: ServiceUpdate, force: boolean): boolean {
  const current = svc.deployments[0];
  return (
    force ||
    !current ||
    (u.td !== undefined && u.td.arn !== current.td.arn) ||
    (u.network !== undefined && !same(u.network, svc.networkConfiguration)) ||
    (u.loadBalancers !== undefined && !same(u.loadBalancers, svc.loadBalancers)) ||
    (u.serviceRegistries !== undefined && !same(u.serviceRegistries, svc.serviceRegistries)) ||
    (u.platformVersion !== undefined && u.platformVersion !== svc.platformVersion)
  );
}

/** UpdateService: the response shows a new deployment the way ECS answers it (desiredCount 0, in progress). */
export function updateService(ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx): Record<string, unknown> {
  const cluster = ecs.clusterOf(input);
  const ref = requireString(input, "service");
  ecs.checkOwnArn(ref);
  const svc = ecs.findService(cluster, ref);
  if (!svc) throw new AwsApiError("ServiceNotFoundException", "Service not found.");
  if (svc.status !== "ACTIVE") throw new AwsApiError("ServiceNotActiveException", "Service was not ACTIVE.");
  const u = validateUpdate(ecs, svc, input);
  const deploy = needsDeployment(svc, u, input.forceNewDeployment === true);
  if (u.config) svc.deploymentConfiguration = u.config;
  if (u.desired !== undefined) svc.desiredCount = u.desired;
  if (u.network !== undefined) svc.networkConfiguration = u.network;
  if (u.loadBalancers) svc.loadBalancers = u.loadBalancers;
  if (u.serviceRegistries) svc.serviceRegistries = u.serviceRegistries;
  if (u.grace !== undefined) svc.healthCheckGracePeriodSeconds = u.grace;
  if (u.platformVersion !== undefined) svc.platformVersion = u.platformVersion;
  if (u.azRebalancing !== undefined) svc.availabilityZoneRebalancing = u.azRebalancing;
  const propagate = str(input.propagateTags);
  if (propagate !== undefined) svc.propagateTags = propagate;
  if (deploy) startDeployment(ecs, svc, u.td ?? svc.deployments[0]!.td, ctx.now);
  else svc.steady = false;
  ecs.touch();
  return { service: serviceJson(ecs, svc, false) };
}

export function deleteService(ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx): Record<string, unknown> {
  const cluster = ecs.clusterOf(input);
  const svc = ecs.serviceOf(cluster, str(input.service));
  if (svc.desiredCount > 0 && input.force !== true) throw invalidParam("The service cannot be stopped while it is scaled above 0.");
  svc.status = "DRAINING";
  svc.desiredCount = 0;
  for (const t of ecs.tasksOf(svc)) stopTask(ecs, t, ctx.now, "ServiceSchedulerInitiated", "Service deleted");
  ecs.touch();
  return { service: serviceJson(ecs, svc, false) };
}

export function listServices(ecs: EcsState, input: Record<string, unknown>): Record<string, unknown> {
  const cluster = ecs.clusterOf(input);
  const lt = str(input.launchType);
  const arns = [...ecs.services.values()]
    .filter((s) => s.cluster === cluster && s.status !== "INACTIVE" && (lt === undefined || s.launchType === lt))
    .map((s) => s.arn);
  const page = paginate(arns, input.maxResults, input.nextToken, 10);
  return { serviceArns: page.items, nextToken: page.nextToken };
}
