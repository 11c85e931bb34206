/** JSON views of the ECS model, shaped like the API responses (timestamps as epoch seconds). */
import { sec, str } from "../util.js";
import type { Cluster, DeploymentConfig, Service, ServiceDeploymentRec, ServiceRevision, Task, TaskDef } from "./model.js";
import type { EcsState } from "./state.js";

const accountOf = (arn: string): string => arn.split(":")[4] ?? "";

export function tdJson(td: TaskDef, withTags = false): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...td.body,
    taskDefinitionArn: td.arn,
    family: td.family,
    revision: td.revision,
    status: td.status,
    registeredAt: sec(td.registeredAt),
    registeredBy: `arn:aws:iam::${accountOf(td.arn)}:root`,
  };
  if (td.deregisteredAt !== undefined) out.deregisteredAt = sec(td.deregisteredAt);
  return withTags ? { taskDefinition: out, tags: td.tags } : { taskDefinition: out };
}

export function configJson(c: DeploymentConfig): Record<string, unknown> {
  return {
    ...c.extra,
    deploymentCircuitBreaker: { ...c.deploymentCircuitBreaker },
    maximumPercent: c.maximumPercent,
    minimumHealthyPercent: c.minimumHealthyPercent,
    alarms: { alarmNames: [...c.alarms.alarmNames], rollback: c.alarms.rollback, enable: c.alarms.enable },
  };
}

/** Tasks of a service (or of one of its deployments / revisions) that want to run: RUNNING and PROVISIONING/PENDING. */
export function counts(ecs: EcsState, svc: Service, match: (t: Task) => boolean): { running: number; pending: number } {
  let running = 0;
  let pending = 0;
  for (const t of ecs.tasksOf(svc)) {
    if (t.desiredStatus !== "RUNNING" || !match(t)) continue;
    if (t.lastStatus === "RUNNING") running += 1;
    else if (t.lastStatus === "PROVISIONING" || t.lastStatus === "PENDING" || t.lastStatus === "ACTIVATING") pending += 1;
  }
  return { running, pending };
}

function deploymentsJson(ecs: EcsState, svc: Service): { list: Record<string, unknown>[]; running: number; pending: number } {
  let running = 0;
  let pending = 0;
  const list = svc.deployments.map((d) => {
    const c = counts(ecs, svc, (t) => t.startedBy === d.id);
    running += c.running;
    pending += c.pending;
    return {
      id: d.id,
      status: d.status,
      taskDefinition: d.td.arn,
      desiredCount: d.desiredCount,
      pendingCount: c.pending,
      runningCount: c.running,
      failedTasks: d.failedTasks,
      createdAt: sec(d.createdAt),
      updatedAt: sec(d.updatedAt),
      launchType: svc.launchType,
      ...(svc.launchType === "FARGATE" ? { platformVersion: "1.4.0", platformFamily: "Linux" } : {}),
      ...(svc.networkConfiguration !== undefined ? { networkConfiguration: svc.networkConfiguration } : {}),
      rolloutState: d.rolloutState,
      rolloutStateReason: d.rolloutStateReason,
    };
  });
  return { list, running, pending };
}

export function serviceJson(ecs: EcsState, svc: Service, withTags: boolean): Record<string, unknown> {
  const deps = deploymentsJson(ecs, svc);
  const primary = svc.deployments[0];
  const account = accountOf(svc.arn);
  return {
    serviceArn: svc.arn,
    serviceName: svc.name,
    clusterArn: svc.cluster.arn,
    loadBalancers: svc.loadBalancers,
    serviceRegistries: svc.serviceRegistries,
    status: svc.status,
    desiredCount: svc.desiredCount,
    runningCount: deps.running,
    pendingCount: deps.pending,
    launchType: svc.launchType,
    ...(svc.launchType === "FARGATE" ? { platformVersion: svc.platformVersion, platformFamily: "Linux" } : {}),
    ...(primary ? { taskDefinition: primary.td.arn } : {}),
    deploymentConfiguration: configJson(svc.deploymentConfiguration),
    deployments: deps.list,
    roleArn: `arn:aws:iam::${account}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`,
    events: svc.events.map((e) => ({ id: e.id, createdAt: sec(e.createdAt), message: e.message })),
    createdAt: sec(svc.createdAt),
    ...(svc.currentServiceDeploymentArn !== undefined ? { currentServiceDeployment: svc.currentServiceDeploymentArn } : {}),
    currentServiceRevisions: currentRevisions(ecs, svc),
    placementConstraints: [],
    placementStrategy: [],
    ...(svc.networkConfiguration !== undefined ? { networkConfiguration: svc.networkConfiguration } : {}),
    healthCheckGracePeriodSeconds: svc.healthCheckGracePeriodSeconds ?? 0,
    schedulingStrategy: "REPLICA",
    deploymentController: { type: "ECS" },
    createdBy: `arn:aws:iam::${account}:root`,
    enableECSManagedTags: svc.enableECSManagedTags,
    propagateTags: svc.propagateTags ?? "NONE",
    enableExecuteCommand: svc.enableExecuteCommand,
    availabilityZoneRebalancing: svc.availabilityZoneRebalancing,
    ...(withTags ? { tags: svc.tags } : {}),
  };
}

/** The revisions that currently have tasks (or are the target), with their counts. */
function currentRevisions(ecs: EcsState, svc: Service): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const d of svc.deployments) {
    if (out.some((r) => r.arn === d.serviceRevisionArn)) continue;
    const c = counts(ecs, svc, (t) => t.serviceRevisionArn === d.serviceRevisionArn);
    out.push({ arn: d.serviceRevisionArn, requestedTaskCount: d.desiredCount, runningTaskCount: c.running, pendingTaskCount: c.pending });
  }
  return out;
}

export function taskJson(t: Task, withTags: boolean): Record<string, unknown> {
  const account = accountOf(t.arn);
  return {
    attachments: [],
    attributes: [{ name: "ecs.cpu-architecture", value: "x86_64" }],
    availabilityZone: t.availabilityZone,
    clusterArn: t.cluster.arn,
    connectivity: t.lastStatus === "PROVISIONING" ? undefined : "CONNECTED",
    connectivityAt: sec(t.pullStartedAt),
    containers: t.containers.map((c) => ({
      containerArn: `arn:aws:ecs:${t.cluster.region}:${account}:container/${t.cluster.name}/${t.id}/${c.uuid}`,
      taskArn: t.arn,
      name: c.name,
      image: c.image,
      imageDigest: c.pullError === undefined ? c.imageDigest : undefined,
      runtimeId: `${t.id}-${c.runtimeId.slice(0, 10)}`,
      lastStatus: c.lastStatus,
      exitCode: c.exitCode,
      reason: c.reason,
      networkBindings: [],
      networkInterfaces: [],
      healthStatus: c.healthStatus,
      cpu: c.cpu === undefined ? "0" : String(c.cpu),
      memory: c.memory === undefined ? undefined : String(c.memory),
    })),
    cpu: str(t.td.body.cpu),
    memory: str(t.td.body.memory),
    createdAt: sec(t.createdAt),
    desiredStatus: t.desiredStatus,
    enableExecuteCommand: false,
    group: t.group,
    healthStatus: t.healthStatus,
    lastStatus: t.lastStatus,
    launchType: t.launchType,
    ...(t.launchType === "FARGATE" ? { platformVersion: "1.4.0", platformFamily: "Linux" } : {}),
    pullStartedAt: sec(t.pullStartedAt),
    pullStoppedAt: sec(t.pullStoppedAt),
    startedAt: sec(t.startedAt),
    startedBy: t.startedBy,
    stopCode: t.stopCode,
    stoppedAt: sec(t.stoppedAt),
    stoppedReason: t.stoppedReason,
    stoppingAt: sec(t.stoppingAt),
    executionStoppedAt: sec(t.executionStoppedAt),
    taskArn: t.arn,
    taskDefinitionArn: t.td.arn,
    version: t.version,
    ephemeralStorage: { sizeInGiB: 20 },
    ...(withTags ? { tags: t.tags } : {}),
  };
}

export function recJson(ecs: EcsState, svc: Service, rec: ServiceDeploymentRec): Record<string, unknown> {
  const summary = (arn: string, requested: number): Record<string, unknown> => {
    const c = counts(ecs, svc, (t) => t.serviceRevisionArn === arn);
    return { arn, requestedTaskCount: requested, runningTaskCount: c.running, pendingTaskCount: c.pending };
  };
  const primary = svc.deployments[0];
  const targetRequested = primary && primary.serviceRevisionArn === rec.targetRevisionArn ? primary.desiredCount : 0;
  const sourceRequested = (arn: string): number => svc.deployments.find((d) => d.serviceRevisionArn === arn && d !== primary)?.desiredCount ?? 0;
  return {
    serviceDeploymentArn: rec.arn,
    serviceArn: svc.arn,
    clusterArn: svc.cluster.arn,
    createdAt: sec(rec.createdAt),
    startedAt: sec(rec.startedAt),
    finishedAt: sec(rec.finishedAt),
    stoppedAt: sec(rec.stoppedAt),
    updatedAt: sec(rec.updatedAt),
    sourceServiceRevisions: rec.sourceRevisionArns.map((a) => summary(a, sourceRequested(a))),
    targetServiceRevision: summary(rec.targetRevisionArn, targetRequested),
    status: rec.status,
    statusReason: rec.statusReason,
    deploymentConfiguration: rec.deploymentConfiguration,
    rollback: rec.rollback
      ? { reason: rec.rollback.reason, startedAt: sec(rec.rollback.startedAt), serviceRevisionArn: rec.rollback.serviceRevisionArn }
      : undefined,
    deploymentCircuitBreaker: { ...rec.circuitBreaker },
    alarms: { status: rec.alarms.status, alarmNames: [...rec.alarms.alarmNames], triggeredAlarmNames: [...rec.alarms.triggeredAlarmNames] },
  };
}

export function revisionJson(r: ServiceRevision): Record<string, unknown> {
  return {
    serviceRevisionArn: r.arn,
    serviceArn: r.serviceArn,
    clusterArn: r.clusterArn,
    taskDefinition: r.td.arn,
    launchType: r.launchType,
    ...(r.launchType === "FARGATE" ? { platformVersion: r.platformVersion, platformFamily: "Linux" } : {}),
    loadBalancers: r.loadBalancers,
    serviceRegistries: r.serviceRegistries,
    ...(r.networkConfiguration !== undefined ? { networkConfiguration: r.networkConfiguration } : {}),
    containerImages: r.containerImages,
    guardDutyEnabled: false,
    createdAt: sec(r.createdAt),
  };
}

export function clusterJson(ecs: EcsState, c: Cluster, withTags = true): Record<string, unknown> {
  let running = 0;
  let pending = 0;
  for (const t of ecs.active) {
    if (t.cluster !== c || t.desiredStatus !== "RUNNING") continue;
    if (t.lastStatus === "RUNNING") running += 1;
    else if (t.lastStatus === "PENDING" || t.lastStatus === "PROVISIONING" || t.lastStatus === "ACTIVATING") pending += 1;
  }
  const active = [...ecs.services.values()].filter((s) => s.cluster === c && s.status === "ACTIVE").length;
  return {
    clusterArn: c.arn,
    clusterName: c.name,
    status: "ACTIVE",
    registeredContainerInstancesCount: 0,
    runningTasksCount: running,
    pendingTasksCount: pending,
    activeServicesCount: active,
    statistics: [],
    ...(withTags ? { tags: c.tags } : {}),
    settings: c.settings,
    capacityProviders: [],
    defaultCapacityProviderStrategy: [],
  };
}
