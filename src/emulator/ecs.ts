import { createHash } from "node:crypto";
import type { EcrState } from "./ecr.js";
import { AwsApiError, clientError, invalidParam } from "./errors.js";
import { validateTaskDefinition } from "./fargate.js";
import type { Rng } from "./rng.js";
import type { ImageBehavior, ResolvedTiming } from "./scenario.js";
import { arr, bool, num, obj, paginate, requireString, sec, str, tagsOf, type Tag } from "./util.js";

/* ------------------------------------------------------------------ model */

export interface RequestCtx {
  region: string;
  account: string;
  now: number;
}

interface Cluster {
  name: string;
  arn: string;
  region: string;
  createdAt: number;
  tags: Tag[];
  settings: unknown[];
}

interface TaskDef {
  family: string;
  revision: number;
  arn: string;
  body: Record<string, unknown>;
  status: "ACTIVE" | "INACTIVE";
  registeredAt: number;
  deregisteredAt?: number;
  tags: Tag[];
}

type RolloutState = "IN_PROGRESS" | "COMPLETED" | "FAILED";

interface Deployment {
  id: string;
  status: "PRIMARY" | "ACTIVE" | "INACTIVE";
  td: TaskDef;
  desiredCount: number;
  failedTasks: number;
  createdAt: number;
  updatedAt: number;
  rolloutState: RolloutState;
  rolloutStateReason: string;
  serviceDeploymentArn: string;
  serviceRevisionArn: string;
  isRollback: boolean;
  /** The scheduler launches no more tasks for it (circuit breaker tripped without a rollback target). */
  halted: boolean;
}

interface ServiceDeploymentRec {
  arn: string;
  createdAt: number;
  startedAt: number;
  updatedAt: number;
  finishedAt?: number;
  stoppedAt?: number;
  sourceRevisionArns: string[];
  targetRevisionArn: string;
  status: string;
  statusReason?: string;
  deploymentConfiguration: Record<string, unknown>;
  rollback?: { reason: string; startedAt: number; serviceRevisionArn: string };
  circuitBreaker: { status: string; failureCount: number; threshold: number };
}

interface ServiceRevision {
  arn: string;
  serviceArn: string;
  clusterArn: string;
  td: TaskDef;
  launchType: string;
  networkConfiguration?: unknown;
  loadBalancers: unknown[];
  serviceRegistries: unknown[];
  containerImages: { containerName: string; image: string; imageDigest?: string }[];
  createdAt: number;
}

interface ServiceEvent {
  id: string;
  createdAt: number;
  message: string;
}

interface Service {
  name: string;
  arn: string;
  cluster: Cluster;
  status: "ACTIVE" | "DRAINING" | "INACTIVE";
  desiredCount: number;
  launchType: string;
  deploymentConfiguration: DeploymentConfig;
  networkConfiguration?: unknown;
  loadBalancers: unknown[];
  serviceRegistries: unknown[];
  propagateTags?: string;
  enableECSManagedTags: boolean;
  enableExecuteCommand: boolean;
  healthCheckGracePeriodSeconds?: number;
  tags: Tag[];
  createdAt: number;
  deployments: Deployment[];
  events: ServiceEvent[];
  history: ServiceDeploymentRec[];
  steady: boolean;
  lastCompleted?: { deploymentId: string; td: TaskDef; revisionArn: string };
}

interface DeploymentConfig {
  minimumHealthyPercent: number;
  maximumPercent: number;
  deploymentCircuitBreaker: { enable: boolean; rollback: boolean };
  extra: Record<string, unknown>;
}

interface ContainerState {
  name: string;
  image: string;
  imageDigest: string;
  essential: boolean;
  hasHealthCheck: boolean;
  behavior?: ImageBehavior;
  pullError?: string;
  lastStatus: string;
  exitCode?: number;
  reason?: string;
  healthStatus: "HEALTHY" | "UNHEALTHY" | "UNKNOWN";
  runtimeId: string;
  cpu?: number;
  memory?: number;
}

type TaskStatus = "PROVISIONING" | "PENDING" | "RUNNING" | "DEACTIVATING" | "STOPPING" | "STOPPED";

interface Task {
  id: string;
  arn: string;
  cluster: Cluster;
  serviceName?: string;
  group: string;
  startedBy?: string;
  serviceRevisionArn?: string;
  td: TaskDef;
  launchType: string;
  lastStatus: TaskStatus;
  desiredStatus: "RUNNING" | "STOPPED";
  healthStatus: "HEALTHY" | "UNHEALTHY" | "UNKNOWN";
  containers: ContainerState[];
  createdAt: number;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  stoppingAt?: number;
  stoppedAt?: number;
  stopCode?: string;
  stoppedReason?: string;
  /** Time of the next lifecycle transition (Infinity when none is scheduled). */
  next: number;
  crashAt?: number;
  healthAt?: number;
  needsHealth: boolean;
  /** When the task started counting as healthy (RUNNING, and HEALTHY where health is checked). */
  healthyAt?: number;
  failed: boolean;
  version: number;
  tags: Tag[];
}

export interface EcsDeps {
  ecr: EcrState;
  timing(): ResolvedTiming;
  behaviorFor(image: string, digest: string | undefined): ImageBehavior | undefined;
  rng(): Rng;
  log(line: string): void;
}

const TERMINAL_FOR_DRAIN = new Set<TaskStatus>(["STOPPED"]);

/* ------------------------------------------------------------------ helpers */

function threshold(desired: number): number {
  return Math.min(200, Math.max(3, Math.ceil(0.5 * desired)));
}

function parseDeploymentConfig(raw: unknown, base?: DeploymentConfig): DeploymentConfig {
  const o = obj(raw) ?? {};
  const cb = obj(o.deploymentCircuitBreaker);
  const cfg: DeploymentConfig = {
    minimumHealthyPercent: num(o.minimumHealthyPercent) ?? base?.minimumHealthyPercent ?? 100,
    maximumPercent: num(o.maximumPercent) ?? base?.maximumPercent ?? 200,
    deploymentCircuitBreaker: cb
      ? { enable: bool(cb.enable) ?? false, rollback: bool(cb.rollback) ?? false }
      : (base?.deploymentCircuitBreaker ?? { enable: false, rollback: false }),
    extra: { ...(base?.extra ?? {}) },
  };
  for (const [k, v] of Object.entries(o)) {
    if (!["minimumHealthyPercent", "maximumPercent", "deploymentCircuitBreaker"].includes(k)) cfg.extra[k] = v;
  }
  if (cfg.minimumHealthyPercent < 0 || cfg.minimumHealthyPercent > 100) {
    throw invalidParam("minimumHealthyPercent must be between 0 and 100.");
  }
  if (cfg.maximumPercent < 100 || cfg.maximumPercent > 200) {
    throw invalidParam("maximumPercent must be between 100 and 200.");
  }
  return cfg;
}

function configJson(c: DeploymentConfig): Record<string, unknown> {
  return {
    ...c.extra,
    deploymentCircuitBreaker: { ...c.deploymentCircuitBreaker },
    maximumPercent: c.maximumPercent,
    minimumHealthyPercent: c.minimumHealthyPercent,
  };
}

const lastSegment = (s: string): string => s.slice(s.lastIndexOf("/") + 1);

/* ------------------------------------------------------------------ state */

export class EcsState {
  readonly clusters = new Map<string, Cluster>();
  readonly families = new Map<string, TaskDef[]>();
  /** key: `${cluster}/${service}` */
  readonly services = new Map<string, Service>();
  readonly tasks = new Map<string, Task>();
  readonly serviceDeployments = new Map<string, { svc: Service; rec: ServiceDeploymentRec }>();
  readonly revisions = new Map<string, ServiceRevision>();

  constructor(private readonly deps: EcsDeps) {}

  /* -------------------------------------------------------------- lookups */

  private clusterOf(input: Record<string, unknown>): Cluster {
    const ref = str(input.cluster) ?? "default";
    const name = ref.startsWith("arn:") ? lastSegment(ref) : ref;
    const c = this.clusters.get(name);
    if (!c) throw new AwsApiError("ClusterNotFoundException", "Cluster not found.");
    return c;
  }

  private findService(cluster: Cluster, ref: string): Service | undefined {
    const name = ref.startsWith("arn:") ? lastSegment(ref) : ref;
    return this.services.get(`${cluster.name}/${name}`);
  }

  private serviceOf(cluster: Cluster, ref: string | undefined): Service {
    if (ref === undefined || ref === "") throw invalidParam("service should not be null or empty.");
    const s = this.findService(cluster, ref);
    if (!s || s.status === "INACTIVE") throw new AwsApiError("ServiceNotFoundException", "Service not found.");
    return s;
  }

  /** family, family:rev or ARN. `activeOnly` for a bare family (latest ACTIVE). */
  private taskDefOf(ref: string | undefined, notFound: () => AwsApiError): TaskDef {
    if (ref === undefined || ref === "") throw clientError("taskDefinition should not be null or empty.");
    const short = ref.startsWith("arn:") ? lastSegment(ref) : ref;
    const colon = short.lastIndexOf(":");
    const family = colon >= 0 ? short.slice(0, colon) : short;
    const revs = this.families.get(family) ?? [];
    if (colon >= 0) {
      const rev = Number(short.slice(colon + 1));
      const td = revs.find((t) => t.revision === rev);
      if (!td) throw notFound();
      return td;
    }
    const active = revs.filter((t) => t.status === "ACTIVE");
    const td = active[active.length - 1];
    if (!td) throw notFound();
    return td;
  }

  /** Tasks per service (`cluster/service`), so a tick does not scan every task of every service. */
  private readonly bySvc = new Map<string, Task[]>();

  private tasksOf(svc: Service): Task[] {
    return [...(this.bySvc.get(`${svc.cluster.name}/${svc.name}`) ?? [])];
  }

  /* -------------------------------------------------------------- JSON views */

  private tdJson(td: TaskDef, withTags = false): Record<string, unknown> {
    const out: Record<string, unknown> = {
      ...td.body,
      taskDefinitionArn: td.arn,
      family: td.family,
      revision: td.revision,
      status: td.status,
      registeredAt: sec(td.registeredAt),
      registeredBy: `arn:aws:iam::${td.arn.split(":")[4]}:root`,
    };
    if (td.deregisteredAt !== undefined) out.deregisteredAt = sec(td.deregisteredAt);
    return withTags ? { taskDefinition: out, tags: td.tags } : { taskDefinition: out };
  }

  private deploymentCounts(svc: Service, d: Deployment): { running: number; pending: number } {
    let running = 0;
    let pending = 0;
    for (const t of this.tasksOf(svc)) {
      if (t.startedBy !== d.id || t.desiredStatus !== "RUNNING") continue;
      if (t.lastStatus === "RUNNING") running += 1;
      else if (t.lastStatus === "PROVISIONING" || t.lastStatus === "PENDING") pending += 1;
    }
    return { running, pending };
  }

  private serviceJson(svc: Service, withTags: boolean): Record<string, unknown> {
    let running = 0;
    let pending = 0;
    const deployments = svc.deployments.map((d) => {
      const c = this.deploymentCounts(svc, d);
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
    const primary = svc.deployments[0];
    return {
      serviceArn: svc.arn,
      serviceName: svc.name,
      clusterArn: svc.cluster.arn,
      loadBalancers: svc.loadBalancers,
      serviceRegistries: svc.serviceRegistries,
      status: svc.status,
      desiredCount: svc.desiredCount,
      runningCount: running,
      pendingCount: pending,
      launchType: svc.launchType,
      ...(svc.launchType === "FARGATE" ? { platformVersion: "LATEST", platformFamily: "Linux" } : {}),
      taskDefinition: primary?.td.arn,
      deploymentConfiguration: configJson(svc.deploymentConfiguration),
      deployments,
      events: svc.events.map((e) => ({ id: e.id, createdAt: sec(e.createdAt), message: e.message })),
      createdAt: sec(svc.createdAt),
      placementConstraints: [],
      placementStrategy: [],
      ...(svc.networkConfiguration !== undefined ? { networkConfiguration: svc.networkConfiguration } : {}),
      ...(svc.healthCheckGracePeriodSeconds !== undefined ? { healthCheckGracePeriodSeconds: svc.healthCheckGracePeriodSeconds } : {}),
      schedulingStrategy: "REPLICA",
      deploymentController: { type: "ECS" },
      createdBy: `arn:aws:iam::${svc.arn.split(":")[4]}:root`,
      enableECSManagedTags: svc.enableECSManagedTags,
      propagateTags: svc.propagateTags ?? "NONE",
      enableExecuteCommand: svc.enableExecuteCommand,
      availabilityZoneRebalancing: "ENABLED",
      ...(withTags ? { tags: svc.tags } : {}),
    };
  }

  private taskJson(t: Task, withTags: boolean): Record<string, unknown> {
    const cpu = str(t.td.body.cpu);
    const memory = str(t.td.body.memory);
    return {
      attachments: [],
      attributes: [],
      availabilityZone: `${t.cluster.region}a`,
      clusterArn: t.cluster.arn,
      connectivity: t.lastStatus === "PROVISIONING" ? undefined : "CONNECTED",
      connectivityAt: t.pullStartedAt === undefined ? undefined : sec(t.pullStartedAt),
      containers: t.containers.map((c) => ({
        containerArn: `arn:aws:ecs:${t.cluster.region}:${t.arn.split(":")[4]}:container/${t.cluster.name}/${t.id}/${c.runtimeId.slice(0, 36)}`,
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
      cpu,
      memory,
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
      executionStoppedAt: t.lastStatus === "STOPPED" ? sec(t.stoppedAt) : undefined,
      taskArn: t.arn,
      taskDefinitionArn: t.td.arn,
      version: t.version,
      ephemeralStorage: { sizeInGiB: 20 },
      ...(withTags ? { tags: t.tags } : {}),
    };
  }

  private recJson(svc: Service, rec: ServiceDeploymentRec): Record<string, unknown> {
    const summary = (arn: string, requested: number): Record<string, unknown> => {
      let running = 0;
      let pending = 0;
      for (const t of this.tasksOf(svc)) {
        if (t.serviceRevisionArn !== arn || t.desiredStatus !== "RUNNING") continue;
        if (t.lastStatus === "RUNNING") running += 1;
        else if (t.lastStatus === "PROVISIONING" || t.lastStatus === "PENDING") pending += 1;
      }
      return { arn, requestedTaskCount: requested, runningTaskCount: running, pendingTaskCount: pending };
    };
    const primary = svc.deployments[0];
    const targetRequested = primary && primary.serviceRevisionArn === rec.targetRevisionArn ? primary.desiredCount : 0;
    return {
      serviceDeploymentArn: rec.arn,
      serviceArn: svc.arn,
      clusterArn: svc.cluster.arn,
      createdAt: sec(rec.createdAt),
      startedAt: sec(rec.startedAt),
      finishedAt: sec(rec.finishedAt),
      stoppedAt: sec(rec.stoppedAt),
      updatedAt: sec(rec.updatedAt),
      sourceServiceRevisions: rec.sourceRevisionArns.map((a) => summary(a, 0)),
      targetServiceRevision: summary(rec.targetRevisionArn, targetRequested),
      status: rec.status,
      statusReason: rec.statusReason,
      deploymentConfiguration: rec.deploymentConfiguration,
      rollback: rec.rollback
        ? { reason: rec.rollback.reason, startedAt: sec(rec.rollback.startedAt), serviceRevisionArn: rec.rollback.serviceRevisionArn }
        : undefined,
      deploymentCircuitBreaker: { ...rec.circuitBreaker },
    };
  }

  private revisionJson(r: ServiceRevision): Record<string, unknown> {
    return {
      serviceRevisionArn: r.arn,
      serviceArn: r.serviceArn,
      clusterArn: r.clusterArn,
      taskDefinition: r.td.arn,
      launchType: r.launchType,
      ...(r.launchType === "FARGATE" ? { platformVersion: "1.4.0", platformFamily: "Linux" } : {}),
      loadBalancers: r.loadBalancers,
      serviceRegistries: r.serviceRegistries,
      ...(r.networkConfiguration !== undefined ? { networkConfiguration: r.networkConfiguration } : {}),
      containerImages: r.containerImages,
      guardDutyEnabled: false,
      createdAt: sec(r.createdAt),
    };
  }

  /* -------------------------------------------------------------- events */

  private event(svc: Service, at: number, message: string): void {
    const h = this.deps.rng().hex(32);
    const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    svc.events.unshift({ id, createdAt: at, message });
    if (svc.events.length > 100) svc.events.length = 100;
    this.deps.log(`${new Date(at).toISOString()} ${message}`);
  }

  /* -------------------------------------------------------------- deployments */

  private newRevision(svc: Service, td: TaskDef, now: number): ServiceRevision {
    const region = svc.cluster.region;
    const account = svc.arn.split(":")[4]!;
    const rev: ServiceRevision = {
      arn: `arn:aws:ecs:${region}:${account}:service-revision/${svc.cluster.name}/${svc.name}/${this.deps.rng().digits(19)}`,
      serviceArn: svc.arn,
      clusterArn: svc.cluster.arn,
      td,
      launchType: svc.launchType,
      networkConfiguration: svc.networkConfiguration,
      loadBalancers: svc.loadBalancers,
      serviceRegistries: svc.serviceRegistries,
      containerImages: (arr(td.body.containerDefinitions) ?? []).map((c) => {
        const o = obj(c) ?? {};
        const image = str(o.image) ?? "";
        const digest = this.imageDigest(image);
        return { containerName: str(o.name) ?? "", image, ...(digest.found ? { imageDigest: digest.digest } : {}) };
      }),
      createdAt: now,
    };
    this.revisions.set(rev.arn, rev);
    return rev;
  }

  private imageDigest(image: string): { found: boolean; digest: string; pullError?: string } {
    const look = this.deps.ecr.lookup(image);
    if (look.emulated) {
      if (!look.found) {
        return {
          found: false,
          digest: "",
          pullError: `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${image}: ${image}: not found`,
        };
      }
      return { found: true, digest: look.digest! };
    }
    const at = image.indexOf("@");
    if (at >= 0) return { found: true, digest: image.slice(at + 1) };
    return { found: true, digest: `sha256:${createHash("sha256").update(image).digest("hex")}` };
  }

  /** Starts a new PRIMARY deployment (CreateService, UpdateService with a change, or a circuit-breaker rollback). */
  private startDeployment(svc: Service, td: TaskDef, now: number): Deployment {
    const prev = svc.deployments[0];
    const rng = this.deps.rng();
    const sourceRevisionArns = [...new Set(svc.deployments.map((d) => d.serviceRevisionArn))];
    const rev = this.newRevision(svc, td, now);
    const cb = svc.deploymentConfiguration.deploymentCircuitBreaker;
    const rec: ServiceDeploymentRec = {
      arn: `arn:aws:ecs:${svc.cluster.region}:${svc.arn.split(":")[4]}:service-deployment/${svc.cluster.name}/${svc.name}/${rng.hex(21)}`,
      createdAt: now,
      startedAt: now,
      updatedAt: now,
      sourceRevisionArns,
      targetRevisionArn: rev.arn,
      status: "IN_PROGRESS",
      deploymentConfiguration: configJson(svc.deploymentConfiguration),
      circuitBreaker: { status: cb.enable ? "MONITORING" : "DISABLED", failureCount: 0, threshold: threshold(svc.desiredCount) },
    };
    if (prev) {
      prev.status = "ACTIVE";
      prev.updatedAt = now;
      const prevRec = this.serviceDeployments.get(prev.serviceDeploymentArn)?.rec;
      if (prevRec && (prevRec.status === "IN_PROGRESS" || prevRec.status === "ROLLBACK_IN_PROGRESS" || prevRec.status === "PENDING")) {
        prevRec.status = "STOPPED";
        prevRec.statusReason = "Service deployment was stopped because a newer service deployment started.";
        prevRec.stoppedAt = now;
        prevRec.finishedAt = now;
        prevRec.updatedAt = now;
      }
    }
    svc.history.unshift(rec);
    this.serviceDeployments.set(rec.arn, { svc, rec });
    const d: Deployment = {
      id: `ecs-svc/${rng.digits(19)}`,
      status: "PRIMARY",
      td,
      desiredCount: svc.desiredCount,
      failedTasks: 0,
      createdAt: now,
      updatedAt: now,
      rolloutState: "IN_PROGRESS",
      rolloutStateReason: "ECS deployment detected.",
      serviceDeploymentArn: rec.arn,
      serviceRevisionArn: rev.arn,
      isRollback: false,
      halted: false,
    };
    svc.deployments.unshift(d);
    svc.steady = false;
    return d;
  }

  private onTaskFailed(task: Task, at: number): void {
    task.failed = true;
    if (task.serviceName === undefined) return;
    const svc = this.services.get(`${task.cluster.name}/${task.serviceName}`);
    if (!svc) return;
    const dep = svc.deployments.find((d) => d.id === task.startedBy);
    if (!dep) return;
    dep.failedTasks += 1;
    dep.updatedAt = at;
    svc.steady = false;
    const rec = this.serviceDeployments.get(dep.serviceDeploymentArn)?.rec;
    const cb = svc.deploymentConfiguration.deploymentCircuitBreaker;
    if (dep !== svc.deployments[0] || dep.rolloutState !== "IN_PROGRESS" || !cb.enable) return;
    const limit = threshold(dep.desiredCount);
    if (rec) {
      rec.circuitBreaker.failureCount = dep.failedTasks;
      rec.circuitBreaker.threshold = limit;
      rec.updatedAt = at;
    }
    if (dep.failedTasks < limit) return;

    dep.rolloutState = "FAILED";
    dep.rolloutStateReason = "ECS deployment circuit breaker: tasks failed to start.";
    this.event(svc, at, `(service ${svc.name}) deployment ${dep.id} deployment failed: tasks failed to start.`);
    if (rec) rec.circuitBreaker.status = "TRIGGERED";
    const target = svc.lastCompleted;
    if (!cb.rollback) {
      dep.halted = true;
      if (rec) {
        rec.status = "STOPPED";
        rec.statusReason = "Service deployment stopped: the deployment circuit breaker threshold was exceeded.";
        rec.stoppedAt = at;
        rec.finishedAt = at;
      }
      return;
    }
    if (dep.isRollback || !target) {
      dep.halted = true;
      if (rec) {
        rec.status = "ROLLBACK_FAILED";
        rec.statusReason = dep.isRollback
          ? "Service deployment rollback failed: the rollback deployment's tasks failed to start."
          : "Service deployment rollback failed: there is no COMPLETED deployment to roll back to.";
        rec.finishedAt = at;
      }
      return;
    }
    // Roll back: a new PRIMARY with the task definition of the last COMPLETED deployment, same service deployment.
    dep.status = "ACTIVE";
    const rb: Deployment = {
      id: `ecs-svc/${this.deps.rng().digits(19)}`,
      status: "PRIMARY",
      td: target.td,
      desiredCount: svc.desiredCount,
      failedTasks: 0,
      createdAt: at,
      updatedAt: at,
      rolloutState: "IN_PROGRESS",
      rolloutStateReason: `ECS deployment circuit breaker: rolling back to deploymentId ${target.deploymentId}.`,
      serviceDeploymentArn: dep.serviceDeploymentArn,
      serviceRevisionArn: target.revisionArn,
      isRollback: true,
      halted: false,
    };
    svc.deployments.unshift(rb);
    if (rec) {
      rec.status = "ROLLBACK_IN_PROGRESS";
      rec.statusReason = "Service deployment rolled back because the circuit breaker threshold was exceeded.";
      rec.rollback = {
        reason: "Service deployment rolled back because the circuit breaker threshold was exceeded.",
        startedAt: at,
        serviceRevisionArn: target.revisionArn,
      };
    }
    this.event(svc, at, `(service ${svc.name}) rolling back to deployment ${target.deploymentId}.`);
  }

  /* -------------------------------------------------------------- tasks */

  private launchTask(svc: Service, dep: Deployment, now: number): Task {
    const rng = this.deps.rng();
    const id = rng.hex(32);
    const account = svc.arn.split(":")[4]!;
    const containers: ContainerState[] = (arr(dep.td.body.containerDefinitions) ?? []).map((raw) => {
      const c = obj(raw) ?? {};
      const image = str(c.image) ?? "";
      const d = this.imageDigest(image);
      const behavior = this.deps.behaviorFor(image, d.found ? d.digest : undefined);
      const state: ContainerState = {
        name: str(c.name) ?? "",
        image,
        imageDigest: d.digest,
        essential: c.essential !== false,
        hasHealthCheck: obj(c.healthCheck) !== undefined,
        lastStatus: "PENDING",
        healthStatus: "UNKNOWN",
        runtimeId: rng.hex(40),
      };
      if (behavior) state.behavior = behavior;
      if (d.pullError !== undefined) state.pullError = d.pullError;
      const cpu = num(c.cpu);
      if (cpu !== undefined) state.cpu = cpu;
      const mem = num(c.memory);
      if (mem !== undefined) state.memory = mem;
      return state;
    });
    const task: Task = {
      id,
      arn: `arn:aws:ecs:${svc.cluster.region}:${account}:task/${svc.cluster.name}/${id}`,
      cluster: svc.cluster,
      serviceName: svc.name,
      group: `service:${svc.name}`,
      startedBy: dep.id,
      serviceRevisionArn: dep.serviceRevisionArn,
      td: dep.td,
      launchType: svc.launchType,
      lastStatus: "PROVISIONING",
      desiredStatus: "RUNNING",
      healthStatus: "UNKNOWN",
      containers,
      createdAt: now,
      next: now + this.deps.timing().provisioningMs,
      needsHealth: containers.some((c) => c.hasHealthCheck || c.behavior?.behavior === "unhealthy"),
      failed: false,
      version: 1,
      tags: svc.propagateTags === "SERVICE" ? svc.tags : svc.propagateTags === "TASK_DEFINITION" ? dep.td.tags : [],
    };
    this.tasks.set(task.arn, task);
    const key = `${svc.cluster.name}/${svc.name}`;
    const list = this.bySvc.get(key);
    if (list) list.push(task);
    else this.bySvc.set(key, [task]);
    return task;
  }

  private isHealthy(t: Task): boolean {
    return t.desiredStatus === "RUNNING" && t.lastStatus === "RUNNING" && !t.failed && (!t.needsHealth || t.healthStatus === "HEALTHY");
  }

  /** Scheduler / user stop. */
  private stopTask(t: Task, at: number, stopCode: string, reason: string): void {
    if (t.desiredStatus === "STOPPED") return;
    const timing = this.deps.timing();
    t.desiredStatus = "STOPPED";
    t.stopCode = stopCode;
    t.stoppedReason = reason;
    t.stoppingAt = at;
    t.version += 1;
    if (t.lastStatus === "RUNNING") {
      t.lastStatus = "DEACTIVATING";
      t.next = at + timing.drainMs;
    } else {
      t.lastStatus = "STOPPING";
      t.next = at + timing.stopMs;
    }
  }

  private advanceTask(t: Task, now: number): void {
    const timing = this.deps.timing();
    for (let guard = 0; guard < 10 && t.lastStatus !== "STOPPED" && t.next <= now; guard += 1) {
      const at = t.next;
      t.version += 1;
      switch (t.lastStatus) {
        case "PROVISIONING": {
          t.lastStatus = "PENDING";
          t.pullStartedAt = at;
          const delay = Math.max(
            0,
            ...t.containers.map((c) => c.behavior?.startDelayMs ?? (c.behavior?.behavior === "slow" ? 5000 : 0)),
          );
          t.next = at + timing.pendingMs + delay;
          break;
        }
        case "PENDING": {
          const broken = t.containers.find((c) => c.pullError !== undefined);
          if (broken) {
            t.desiredStatus = "STOPPED";
            t.lastStatus = "STOPPED";
            t.stopCode = "TaskFailedToStart";
            t.stoppedReason = `${broken.pullError}`;
            t.stoppingAt = at;
            t.stoppedAt = at;
            for (const c of t.containers) {
              c.lastStatus = "STOPPED";
              if (c.pullError !== undefined) c.reason = c.pullError;
            }
            t.next = Infinity;
            this.onTaskFailed(t, at);
            break;
          }
          t.lastStatus = "RUNNING";
          t.pullStoppedAt = at;
          t.startedAt = at;
          for (const c of t.containers) c.lastStatus = "RUNNING";
          const crashes = t.containers.filter((c) => c.behavior?.behavior === "crash").map((c) => at + (c.behavior?.afterMs ?? 1000));
          if (crashes.length > 0) t.crashAt = Math.min(...crashes);
          if (t.needsHealth) t.healthAt = at + timing.healthCheckMs;
          else t.healthyAt = at;
          t.next = Math.min(t.crashAt ?? Infinity, t.healthAt ?? Infinity);
          break;
        }
        case "RUNNING": {
          if (t.crashAt !== undefined && t.crashAt <= at) {
            t.crashAt = undefined;
            const crashed = t.containers.filter((c) => c.behavior?.behavior === "crash");
            for (const c of crashed) {
              c.lastStatus = "STOPPED";
              c.exitCode = c.behavior?.exitCode ?? 1;
              if (c.behavior?.reason !== undefined) c.reason = c.behavior.reason;
            }
            if (crashed.some((c) => c.essential)) {
              t.desiredStatus = "STOPPED";
              t.lastStatus = "STOPPING";
              t.stopCode = "EssentialContainerExited";
              t.stoppedReason = "Essential container in task exited";
              t.stoppingAt = at;
              t.next = at + timing.stopMs;
              this.onTaskFailed(t, at);
              break;
            }
          }
          if (t.healthAt !== undefined && t.healthAt <= at) {
            t.healthAt = undefined;
            for (const c of t.containers) {
              if (c.lastStatus !== "RUNNING") continue;
              if (c.behavior?.behavior === "unhealthy") c.healthStatus = "UNHEALTHY";
              else if (c.hasHealthCheck) c.healthStatus = "HEALTHY";
            }
            const unhealthy = t.containers.some((c) => c.essential && c.healthStatus === "UNHEALTHY");
            t.healthStatus = unhealthy ? "UNHEALTHY" : "HEALTHY";
            if (!unhealthy) t.healthyAt = at;
            if (unhealthy) {
              if (t.serviceName !== undefined) {
                const svc = this.services.get(`${t.cluster.name}/${t.serviceName}`);
                if (svc) this.event(svc, at, `(service ${svc.name}) (task ${t.id}) failed container health checks.`);
              }
              t.next = Infinity;
              this.stopTask(t, at, "ServiceSchedulerInitiated", "Task failed container health checks");
              this.onTaskFailed(t, at);
              break;
            }
          }
          t.next = Math.min(t.crashAt ?? Infinity, t.healthAt ?? Infinity);
          break;
        }
        case "DEACTIVATING":
          t.lastStatus = "STOPPING";
          t.next = at + timing.stopMs;
          break;
        case "STOPPING":
          t.lastStatus = "STOPPED";
          t.stoppedAt = at;
          for (const c of t.containers) {
            if (c.lastStatus !== "STOPPED") {
              c.lastStatus = "STOPPED";
              if (c.exitCode === undefined && t.startedAt !== undefined) c.exitCode = 0;
            }
          }
          t.next = Infinity;
          break;
      }
    }
  }

  /* -------------------------------------------------------------- scheduler */

  private schedule(svc: Service, now: number): void {
    const primary = svc.deployments[0];
    if (!primary) return;
    const desired = svc.status === "ACTIVE" ? svc.desiredCount : 0;
    primary.desiredCount = desired;
    const cfg = svc.deploymentConfiguration;
    const minHealthy = Math.ceil((desired * cfg.minimumHealthyPercent) / 100);
    const maxTotal = Math.floor((desired * cfg.maximumPercent) / 100);
    const tasks = this.tasksOf(svc);
    const live = (d?: Deployment): Task[] => tasks.filter((t) => t.desiredStatus === "RUNNING" && (d === undefined || t.startedBy === d.id));
    const stopped: Task[] = [];
    const stop = (t: Task, reason: string): void => {
      this.stopTask(t, now, "ServiceSchedulerInitiated", reason);
      stopped.push(t);
    };
    let healthy = live().filter((t) => this.isHealthy(t)).length;
    const olds = svc.deployments.slice(1);
    // Old deployments: tasks that do not count as healthy can always go.
    for (const d of olds) for (const t of live(d)) if (!this.isHealthy(t)) stop(t, `Scaling activity initiated by (deployment ${d.id})`);
    // Primary above desired (scale in): stop unhealthy first, then the newest healthy ones.
    const primaryLive = live(primary).sort((a, b) => Number(this.isHealthy(a)) - Number(this.isHealthy(b)) || b.createdAt - a.createdAt);
    let excess = primaryLive.length - desired;
    for (const t of primaryLive) {
      if (excess <= 0) break;
      if (this.isHealthy(t)) healthy -= 1;
      stop(t, `Scaling activity initiated by (deployment ${primary.id})`);
      excess -= 1;
    }
    // Old deployments' healthy tasks: only while the service stays at or above minimumHealthyPercent.
    for (const d of olds) {
      for (const t of live(d)) {
        if (!this.isHealthy(t) || t.desiredStatus !== "RUNNING") continue;
        if (healthy - 1 < minHealthy) break;
        healthy -= 1;
        stop(t, `Scaling activity initiated by (deployment ${d.id})`);
      }
    }
    // Start primary tasks within maximumPercent.
    if (!primary.halted && svc.status === "ACTIVE") {
      const need = desired - live(primary).length;
      const room = maxTotal - live().length;
      const n = Math.min(need, room);
      const started: Task[] = [];
      for (let i = 0; i < n; i += 1) {
        const t = this.launchTask(svc, primary, now);
        tasks.push(t);
        started.push(t);
      }
      if (started.length > 0) {
        this.event(svc, now, `(service ${svc.name}) has started ${started.length} tasks: ${started.map((t) => `(task ${t.id})`).join(" ")}.`);
      }
    }
    const stoppedRunning = stopped.filter((t) => t.startedAt !== undefined);
    if (stoppedRunning.length > 0) {
      this.event(svc, now, `(service ${svc.name}) has stopped ${stoppedRunning.length} running tasks: ${stoppedRunning.map((t) => `(task ${t.id})`).join(" ")}.`);
    }
    // Drained old deployments become INACTIVE and disappear.
    for (const d of olds) {
      const remaining = tasks.filter((t) => t.startedBy === d.id && !TERMINAL_FOR_DRAIN.has(t.lastStatus));
      d.desiredCount = remaining.filter((t) => t.desiredStatus === "RUNNING").length;
      if (remaining.length === 0) {
        d.status = "INACTIVE";
        d.updatedAt = now;
      }
    }
    svc.deployments = svc.deployments.filter((d) => d.status !== "INACTIVE");
    // Completion.
    const stabilizeMs = this.deps.timing().stabilizeMs;
    const primaryHealthy = live(primary).filter((t) => this.isHealthy(t) && (t.healthyAt ?? Infinity) + stabilizeMs <= now).length;
    const primaryCount = live(primary).length;
    if (primary.rolloutState === "IN_PROGRESS" && svc.deployments.length === 1 && primaryHealthy >= desired && primaryCount === desired) {
      primary.rolloutState = "COMPLETED";
      primary.rolloutStateReason = "ECS deployment completed.";
      primary.updatedAt = now;
      svc.lastCompleted = { deploymentId: primary.id, td: primary.td, revisionArn: primary.serviceRevisionArn };
      const rec = this.serviceDeployments.get(primary.serviceDeploymentArn)?.rec;
      if (rec && (rec.status === "IN_PROGRESS" || rec.status === "ROLLBACK_IN_PROGRESS")) {
        rec.status = rec.status === "ROLLBACK_IN_PROGRESS" ? "ROLLBACK_SUCCESSFUL" : "SUCCESSFUL";
        rec.statusReason = rec.status === "SUCCESSFUL" ? "Service deployment completed successfully." : rec.statusReason;
        rec.finishedAt = now;
        rec.updatedAt = now;
        if (rec.circuitBreaker.status === "MONITORING") rec.circuitBreaker.status = "MONITORING_COMPLETE";
      }
      this.event(svc, now, `(service ${svc.name}) (deployment ${primary.id}) deployment completed.`);
    }
    const steadyNow =
      svc.status === "ACTIVE" &&
      svc.deployments.length === 1 &&
      primary.rolloutState === "COMPLETED" &&
      primaryHealthy === desired &&
      primaryCount === desired;
    if (steadyNow && !svc.steady) this.event(svc, now, `(service ${svc.name}) has reached a steady state.`);
    svc.steady = steadyNow;
    if (svc.status === "DRAINING" && tasks.every((t) => t.lastStatus === "STOPPED")) {
      svc.status = "INACTIVE";
      svc.deployments = [];
    }
  }

  /** Advances the simulation to `now`: task lifecycles, then the service scheduler. */
  tick(now: number): void {
    const retention = this.deps.timing().stoppedTaskRetentionMs;
    let pruned = false;
    for (const t of this.tasks.values()) {
      if (t.lastStatus !== "STOPPED") this.advanceTask(t, now);
      else if (t.stoppedAt !== undefined && now - t.stoppedAt > retention) {
        this.tasks.delete(t.arn);
        pruned = true;
      }
    }
    if (pruned) {
      for (const [key, list] of this.bySvc) this.bySvc.set(key, list.filter((t) => this.tasks.has(t.arn)));
    }
    for (const svc of this.services.values()) if (svc.status !== "INACTIVE") this.schedule(svc, now);
  }

  /* -------------------------------------------------------------- operations */

  handle(op: string, input: Record<string, unknown>, ctx: RequestCtx): Record<string, unknown> | undefined {
    const { now } = ctx;
    switch (op) {
      case "CreateCluster": {
        const name = str(input.clusterName) ?? "default";
        if (!/^[a-zA-Z0-9_-]{1,255}$/.test(name)) throw invalidParam("Cluster name contains invalid characters.");
        let c = this.clusters.get(name);
        if (!c) {
          c = {
            name,
            arn: `arn:aws:ecs:${ctx.region}:${ctx.account}:cluster/${name}`,
            region: ctx.region,
            createdAt: now,
            tags: tagsOf(input.tags),
            settings: arr(input.settings) ?? [{ name: "containerInsights", value: "disabled" }],
          };
          this.clusters.set(name, c);
        }
        return { cluster: this.clusterJson(c) };
      }
      case "DescribeClusters": {
        const refs = (arr(input.clusters) ?? ["default"]).map(String);
        const clusters: unknown[] = [];
        const failures: unknown[] = [];
        for (const ref of refs) {
          const c = this.clusters.get(ref.startsWith("arn:") ? lastSegment(ref) : ref);
          if (c) clusters.push(this.clusterJson(c, (arr(input.include) ?? []).includes("TAGS")));
          else failures.push({ arn: ref.startsWith("arn:") ? ref : `arn:aws:ecs:${ctx.region}:${ctx.account}:cluster/${ref}`, reason: "MISSING" });
        }
        return { clusters, failures };
      }
      case "ListClusters": {
        const page = paginate([...this.clusters.values()].map((c) => c.arn), input.maxResults, input.nextToken, 100);
        return { clusterArns: page.items, nextToken: page.nextToken };
      }
      case "RegisterTaskDefinition": {
        const sizes = validateTaskDefinition(input);
        const family = str(input.family)!;
        const revs = this.families.get(family) ?? [];
        const revision = (revs[revs.length - 1]?.revision ?? 0) + 1;
        const { tags: rawTags, ...rest } = input;
        const containerDefinitions = (arr(input.containerDefinitions) ?? []).map((raw) => {
          const c = obj(raw)!;
          return {
            cpu: 0,
            portMappings: [],
            essential: true,
            environment: [],
            mountPoints: [],
            volumesFrom: [],
            ...c,
            ...(arr(c.portMappings)
              ? {
                  portMappings: arr(c.portMappings)!.map((p) => {
                    const pm = obj(p) ?? {};
                    return { ...pm, hostPort: pm.hostPort ?? pm.containerPort, protocol: pm.protocol ?? "tcp" };
                  }),
                }
              : {}),
          };
        });
        const compat = (arr(input.requiresCompatibilities) ?? []).map(String);
        const body: Record<string, unknown> = {
          ...rest,
          containerDefinitions,
          volumes: arr(input.volumes) ?? [],
          placementConstraints: arr(input.placementConstraints) ?? [],
          requiresAttributes: [],
          compatibilities: compat.includes("FARGATE") ? ["EC2", "FARGATE"] : ["EC2"],
          ...(sizes.cpu !== undefined ? { cpu: sizes.cpu } : {}),
          ...(sizes.memory !== undefined ? { memory: sizes.memory } : {}),
        };
        const td: TaskDef = {
          family,
          revision,
          arn: `arn:aws:ecs:${ctx.region}:${ctx.account}:task-definition/${family}:${revision}`,
          body,
          status: "ACTIVE",
          registeredAt: now,
          tags: tagsOf(rawTags),
        };
        revs.push(td);
        this.families.set(family, revs);
        return { ...this.tdJson(td, true) };
      }
      case "DescribeTaskDefinition": {
        const td = this.taskDefOf(str(input.taskDefinition), () => clientError("Unable to describe task definition."));
        return this.tdJson(td, (arr(input.include) ?? []).includes("TAGS"));
      }
      case "DeregisterTaskDefinition": {
        const ref = str(input.taskDefinition);
        const short = ref?.startsWith("arn:") ? lastSegment(ref) : ref;
        if (short === undefined || !/:\d+$/.test(short)) throw clientError("Invalid revision number. Number: " + (short?.split(":")[1] ?? ""));
        const td = this.taskDefOf(short, () => clientError("The specified task definition does not exist."));
        if (td.status === "ACTIVE") {
          td.status = "INACTIVE";
          td.deregisteredAt = now;
        }
        return this.tdJson(td);
      }
      case "ListTaskDefinitions": {
        const prefix = str(input.familyPrefix);
        const status = str(input.status) ?? "ACTIVE";
        const sort = str(input.sort) ?? "ASC";
        if (!["ASC", "DESC"].includes(sort)) throw invalidParam("sort must be ASC or DESC.");
        const all: TaskDef[] = [];
        const families = [...this.families.keys()].sort();
        for (const f of families) {
          // familyPrefix matches the whole family name, as ECS does.
          if (prefix !== undefined && f !== prefix) continue;
          for (const td of this.families.get(f)!) if (td.status === status) all.push(td);
        }
        if (sort === "DESC") all.reverse();
        const page = paginate(all.map((t) => t.arn), input.maxResults, input.nextToken, 100);
        return { taskDefinitionArns: page.items, nextToken: page.nextToken };
      }
      case "ListTaskDefinitionFamilies": {
        const prefix = str(input.familyPrefix) ?? "";
        const status = str(input.status) ?? "ACTIVE";
        const fams = [...this.families.entries()]
          .filter(([f, revs]) => f.startsWith(prefix) && (status === "ALL" || revs.some((r) => r.status === status)))
          .map(([f]) => f)
          .sort();
        const page = paginate(fams, input.maxResults, input.nextToken, 100);
        return { families: page.items, nextToken: page.nextToken };
      }
      case "CreateService": {
        const cluster = this.clusterOf(input);
        const name = requireString(input, "serviceName");
        if (!/^[a-zA-Z0-9_-]{1,255}$/.test(name)) throw invalidParam("Service name contains invalid characters.");
        const existing = this.services.get(`${cluster.name}/${name}`);
        if (existing && existing.status !== "INACTIVE") throw invalidParam("Creation of service was not idempotent.");
        const td = this.taskDefOf(str(input.taskDefinition), () => clientError("TaskDefinition not found."));
        if (td.status !== "ACTIVE") throw clientError("TaskDefinition is inactive.");
        const launchType = str(input.launchType) ?? "FARGATE";
        this.checkLaunch(td, launchType, input.networkConfiguration);
        const desired = num(input.desiredCount) ?? 0;
        if (desired < 0) throw invalidParam("desiredCount must be >= 0.");
        const svc: Service = {
          name,
          arn: `arn:aws:ecs:${cluster.region}:${ctx.account}:service/${cluster.name}/${name}`,
          cluster,
          status: "ACTIVE",
          desiredCount: desired,
          launchType,
          deploymentConfiguration: parseDeploymentConfig(input.deploymentConfiguration),
          networkConfiguration: input.networkConfiguration,
          loadBalancers: arr(input.loadBalancers) ?? [],
          serviceRegistries: arr(input.serviceRegistries) ?? [],
          enableECSManagedTags: bool(input.enableECSManagedTags) ?? false,
          enableExecuteCommand: bool(input.enableExecuteCommand) ?? false,
          tags: tagsOf(input.tags),
          createdAt: now,
          deployments: [],
          events: [],
          history: [],
          steady: false,
        };
        const propagate = str(input.propagateTags);
        if (propagate !== undefined) svc.propagateTags = propagate;
        const grace = num(input.healthCheckGracePeriodSeconds);
        if (grace !== undefined) svc.healthCheckGracePeriodSeconds = grace;
        this.services.set(`${cluster.name}/${name}`, svc);
        this.startDeployment(svc, td, now);
        this.schedule(svc, now);
        return { service: this.serviceJson(svc, true) };
      }
      case "UpdateService": {
        const cluster = this.clusterOf(input);
        const ref = requireString(input, "service");
        const svc = this.findService(cluster, ref);
        if (!svc) throw new AwsApiError("ServiceNotFoundException", "Service not found.");
        if (svc.status !== "ACTIVE") throw new AwsApiError("ServiceNotActiveException", "Service was not ACTIVE.");
        const tdRef = str(input.taskDefinition);
        const td = tdRef !== undefined ? this.taskDefOf(tdRef, () => clientError("TaskDefinition not found.")) : undefined;
        if (td && td.status !== "ACTIVE") throw clientError("TaskDefinition is inactive.");
        if (td) this.checkLaunch(td, svc.launchType, input.networkConfiguration ?? svc.networkConfiguration);
        const config = input.deploymentConfiguration !== undefined ? parseDeploymentConfig(input.deploymentConfiguration, svc.deploymentConfiguration) : undefined;
        const desired = num(input.desiredCount);
        if (desired !== undefined && desired < 0) throw invalidParam("desiredCount must be >= 0.");
        if (config) svc.deploymentConfiguration = config;
        if (desired !== undefined) svc.desiredCount = desired;
        if (input.networkConfiguration !== undefined) svc.networkConfiguration = input.networkConfiguration;
        const grace = num(input.healthCheckGracePeriodSeconds);
        if (grace !== undefined) svc.healthCheckGracePeriodSeconds = grace;
        const propagate = str(input.propagateTags);
        if (propagate !== undefined) svc.propagateTags = propagate;
        const current = svc.deployments[0];
        const changed = td !== undefined && td.arn !== current?.td.arn;
        if (changed || input.forceNewDeployment === true || !current) {
          this.startDeployment(svc, td ?? current!.td, now);
        } else if (desired !== undefined) {
          current.desiredCount = desired;
          current.updatedAt = now;
          svc.steady = false;
        }
        this.schedule(svc, now);
        return { service: this.serviceJson(svc, false) };
      }
      case "DeleteService": {
        const cluster = this.clusterOf(input);
        const svc = this.serviceOf(cluster, str(input.service));
        if (svc.desiredCount > 0 && input.force !== true) {
          throw invalidParam("The service cannot be stopped while it is scaled above 0.");
        }
        svc.status = "DRAINING";
        svc.desiredCount = 0;
        for (const t of this.tasksOf(svc)) this.stopTask(t, now, "ServiceSchedulerInitiated", "Service deleted");
        return { service: this.serviceJson(svc, false) };
      }
      case "DescribeServices": {
        const cluster = this.clusterOf(input);
        const refs = (arr(input.services) ?? []).map(String);
        if (refs.length === 0 || refs.length > 10) throw invalidParam("services must contain between 1 and 10 items.");
        const withTags = (arr(input.include) ?? []).includes("TAGS");
        const services: unknown[] = [];
        const failures: unknown[] = [];
        for (const ref of refs) {
          const s = this.findService(cluster, ref);
          if (s) services.push(this.serviceJson(s, withTags));
          else {
            failures.push({
              arn: ref.startsWith("arn:") ? ref : `arn:aws:ecs:${cluster.region}:${ctx.account}:service/${cluster.name}/${ref}`,
              reason: "MISSING",
            });
          }
        }
        return { services, failures };
      }
      case "ListServices": {
        const cluster = this.clusterOf(input);
        const lt = str(input.launchType);
        const arns = [...this.services.values()]
          .filter((s) => s.cluster === cluster && s.status !== "INACTIVE" && (lt === undefined || s.launchType === lt))
          .map((s) => s.arn);
        const page = paginate(arns, input.maxResults, input.nextToken, 10);
        return { serviceArns: page.items, nextToken: page.nextToken };
      }
      case "ListTasks": {
        const cluster = this.clusterOf(input);
        const serviceName = str(input.serviceName);
        const svc = serviceName !== undefined ? this.serviceOf(cluster, serviceName) : undefined;
        const family = str(input.family);
        const startedBy = str(input.startedBy);
        const desiredStatus = str(input.desiredStatus) ?? "RUNNING";
        if (!["RUNNING", "PENDING", "STOPPED"].includes(desiredStatus)) throw invalidParam("desiredStatus must be RUNNING, PENDING or STOPPED.");
        const list = [...this.tasks.values()]
          .filter(
            (t) =>
              t.cluster === cluster &&
              (svc === undefined || t.serviceName === svc.name) &&
              (family === undefined || t.td.family === family) &&
              (startedBy === undefined || t.startedBy === startedBy) &&
              (desiredStatus === "PENDING"
                ? t.desiredStatus === "RUNNING" && (t.lastStatus === "PENDING" || t.lastStatus === "PROVISIONING")
                : t.desiredStatus === desiredStatus),
          )
          .sort((a, b) => a.createdAt - b.createdAt)
          .map((t) => t.arn);
        const page = paginate(list, input.maxResults, input.nextToken, 100);
        return { taskArns: page.items, nextToken: page.nextToken };
      }
      case "DescribeTasks": {
        const cluster = this.clusterOf(input);
        const refs = (arr(input.tasks) ?? []).map(String);
        if (refs.length === 0 || refs.length > 100) throw invalidParam("tasks must contain between 1 and 100 items.");
        const withTags = (arr(input.include) ?? []).includes("TAGS");
        const tasks: unknown[] = [];
        const failures: unknown[] = [];
        for (const ref of refs) {
          const id = lastSegment(ref);
          const t = this.tasks.get(`arn:aws:ecs:${cluster.region}:${ctx.account}:task/${cluster.name}/${id}`) ?? [...this.tasks.values()].find((x) => x.cluster === cluster && x.id === id);
          if (t) tasks.push(this.taskJson(t, withTags));
          else failures.push({ arn: ref.startsWith("arn:") ? ref : `arn:aws:ecs:${cluster.region}:${ctx.account}:task/${cluster.name}/${ref}`, reason: "MISSING" });
        }
        return { tasks, failures };
      }
      case "StopTask": {
        const cluster = this.clusterOf(input);
        const ref = requireString(input, "task");
        const id = lastSegment(ref);
        const t = [...this.tasks.values()].find((x) => x.cluster === cluster && x.id === id);
        if (!t) throw invalidParam("The referenced task was not found.");
        this.stopTask(t, now, "UserInitiated", str(input.reason) ?? "Task stopped by user");
        return { task: this.taskJson(t, false) };
      }
      case "ListServiceDeployments": {
        const cluster = this.clusterOf(input);
        const ref = requireString(input, "service");
        const svc = this.findService(cluster, ref);
        if (!svc) throw new AwsApiError("ServiceNotFoundException", "Service not found.");
        const statuses = (arr(input.status) ?? []).map(String);
        const created = obj(input.createdAt);
        const before = num(created?.before);
        const after = num(created?.after);
        const list = svc.history.filter(
          (r) =>
            (statuses.length === 0 || statuses.includes(r.status)) &&
            (before === undefined || r.createdAt / 1000 <= before) &&
            (after === undefined || r.createdAt / 1000 >= after),
        );
        const page = paginate(list, input.maxResults, input.nextToken, 20, 100);
        return {
          serviceDeployments: page.items.map((r) => ({
            serviceDeploymentArn: r.arn,
            serviceArn: svc.arn,
            clusterArn: svc.cluster.arn,
            startedAt: sec(r.startedAt),
            createdAt: sec(r.createdAt),
            finishedAt: sec(r.finishedAt),
            targetServiceRevisionArn: r.targetRevisionArn,
            status: r.status,
            statusReason: r.statusReason,
          })),
          nextToken: page.nextToken,
        };
      }
      case "DescribeServiceDeployments": {
        const arns = (arr(input.serviceDeploymentArns) ?? []).map(String);
        if (arns.length === 0 || arns.length > 20) throw invalidParam("serviceDeploymentArns must contain between 1 and 20 items.");
        const serviceDeployments: unknown[] = [];
        const failures: unknown[] = [];
        for (const a of arns) {
          const hit = this.serviceDeployments.get(a);
          if (hit) serviceDeployments.push(this.recJson(hit.svc, hit.rec));
          else failures.push({ arn: a, reason: "MISSING", detail: "The service deployment does not exist." });
        }
        return { serviceDeployments, failures };
      }
      case "DescribeServiceRevisions": {
        const arns = (arr(input.serviceRevisionArns) ?? []).map(String);
        if (arns.length === 0 || arns.length > 20) throw invalidParam("serviceRevisionArns must contain between 1 and 20 items.");
        const serviceRevisions: unknown[] = [];
        const failures: unknown[] = [];
        for (const a of arns) {
          const r = this.revisions.get(a);
          if (r) serviceRevisions.push(this.revisionJson(r));
          else failures.push({ arn: a, reason: "MISSING", detail: "The service revision does not exist." });
        }
        return { serviceRevisions, failures };
      }
      case "TagResource":
      case "UntagResource":
      case "ListTagsForResource": {
        const holder = this.taggable(requireString(input, "resourceArn"));
        if (op === "ListTagsForResource") return { tags: holder.tags };
        if (op === "TagResource") {
          for (const tag of tagsOf(input.tags)) {
            const existing = holder.tags.find((x) => x.key === tag.key);
            if (existing) existing.value = tag.value;
            else holder.tags.push(tag);
          }
        } else {
          const keys = (arr(input.tagKeys) ?? []).map(String);
          holder.tags = holder.tags.filter((x) => !keys.includes(x.key));
        }
        return {};
      }
      default:
        return undefined;
    }
  }

  /** Cluster, service, task definition or task by ARN (for the tagging operations). */
  private taggable(arn: string): { tags: Tag[] } {
    const m = /^arn:aws:ecs:[a-z0-9-]+:\d{12}:(cluster|service|task-definition|task)\/(.+)$/.exec(arn);
    const kind = m?.[1];
    const rest = m?.[2] ?? "";
    const found =
      kind === "cluster"
        ? this.clusters.get(rest)
        : kind === "service"
          ? this.services.get(rest.includes("/") ? rest : `default/${rest}`)
          : kind === "task-definition"
            ? this.families.get(rest.split(":")[0]!)?.find((t) => t.arn === arn)
            : kind === "task"
              ? this.tasks.get(arn)
              : undefined;
    if (!found) {
      if (kind === "service") throw new AwsApiError("ServiceNotFoundException", "Service not found.");
      if (kind === "cluster") throw new AwsApiError("ClusterNotFoundException", "Cluster not found.");
      throw invalidParam(`The specified resource could not be found: ${arn}`);
    }
    return found;
  }

  private checkLaunch(td: TaskDef, launchType: string, networkConfiguration: unknown): void {
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

  private clusterJson(c: Cluster, withTags = true): Record<string, unknown> {
    let running = 0;
    let pending = 0;
    for (const t of this.tasks.values()) {
      if (t.cluster !== c || t.desiredStatus !== "RUNNING") continue;
      if (t.lastStatus === "RUNNING") running += 1;
      else if (t.lastStatus === "PENDING" || t.lastStatus === "PROVISIONING") pending += 1;
    }
    const active = [...this.services.values()].filter((s) => s.cluster === c && s.status === "ACTIVE").length;
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

  snapshot(): unknown {
    return {
      clusters: [...this.clusters.values()].map((c) => this.clusterJson(c)),
      taskDefinitions: [...this.families.values()].flat().map((t) => ({ arn: t.arn, status: t.status })),
      services: [...this.services.values()].map((s) => this.serviceJson(s, true)),
      tasks: [...this.tasks.values()].map((t) => this.taskJson(t, false)),
      serviceDeployments: [...this.serviceDeployments.values()].map(({ svc, rec }) => this.recJson(svc, rec)),
    };
  }
}
