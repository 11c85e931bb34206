/**
 * The emulated ECS data model: plain records, no behaviour. The API surface (`api/`) reads and validates them, the
 * scheduler simulation (`sim/`) moves them forward in simulated time. All times are simulated epoch milliseconds.
 */
import type { ImageBehavior } from "../scenario.js";
import type { Tag } from "../util.js";

export interface Cluster {
  name: string;
  arn: string;
  region: string;
  account: string;
  createdAt: number;
  tags: Tag[];
  settings: unknown[];
}

export interface TaskDef {
  family: string;
  revision: number;
  arn: string;
  body: Record<string, unknown>;
  status: "ACTIVE" | "INACTIVE";
  registeredAt: number;
  deregisteredAt?: number;
  tags: Tag[];
}

export type RolloutState = "IN_PROGRESS" | "COMPLETED" | "FAILED";

/** One entry of `Service.deployments` (the ECS deployment controller's view). */
export interface Deployment {
  id: string;
  status: "PRIMARY" | "ACTIVE" | "INACTIVE";
  td: TaskDef;
  /** What DescribeServices shows; 0 until the scheduler first acts on a new deployment (as ECS answers UpdateService). */
  desiredCount: number;
  /** Consecutive failures the circuit breaker counted (API_Deployment.failedTasks). */
  failedTasks: number;
  createdAt: number;
  updatedAt: number;
  rolloutState: RolloutState;
  rolloutStateReason: string;
  serviceDeploymentArn: string;
  serviceRevisionArn: string;
  /** The scheduler launches no more tasks for it (breaker tripped without rollback, or a stop request). */
  halted: boolean;
  /** The scheduler has acted on it at least once. */
  started: boolean;
  /** A circuit-breaker or requested rollback revived this deployment: the service deployment it rolls back. */
  rollbackOf?: string;
  /** A replaced deployment keeps showing IN_PROGRESS until then, as recorded responses show, then FAILED. */
  failedReportAt?: number;
  failedReportReason?: string;
}

export type ServiceDeploymentStatus =
  | "PENDING"
  | "IN_PROGRESS"
  | "SUCCESSFUL"
  | "STOPPED"
  | "STOP_REQUESTED"
  | "ROLLBACK_REQUESTED"
  | "ROLLBACK_IN_PROGRESS"
  | "ROLLBACK_SUCCESSFUL"
  | "ROLLBACK_FAILED";

/** A service deployment (ListServiceDeployments / DescribeServiceDeployments). */
export interface ServiceDeploymentRec {
  arn: string;
  createdAt: number;
  startedAt: number;
  updatedAt: number;
  finishedAt?: number;
  stoppedAt?: number;
  sourceRevisionArns: string[];
  targetRevisionArn: string;
  status: ServiceDeploymentStatus;
  statusReason?: string;
  deploymentConfiguration: Record<string, unknown>;
  rollback?: { reason: string; startedAt: number; serviceRevisionArn: string };
  circuitBreaker: { status: "TRIGGERED" | "MONITORING" | "MONITORING_COMPLETE" | "DISABLED"; failureCount: number; threshold: number };
  alarms: { status: "TRIGGERED" | "MONITORING" | "MONITORING_COMPLETE" | "DISABLED"; alarmNames: string[]; triggeredAlarmNames: string[] };
  /** A StopServiceDeployment request the scheduler has not acted on yet. */
  stopRequest?: "ROLLBACK" | "ABORT";
}

export interface ServiceRevision {
  arn: string;
  serviceArn: string;
  clusterArn: string;
  td: TaskDef;
  launchType: string;
  platformVersion: string;
  networkConfiguration?: unknown;
  loadBalancers: unknown[];
  serviceRegistries: unknown[];
  containerImages: { containerName: string; image: string; imageDigest?: string }[];
  createdAt: number;
}

export interface ServiceEvent {
  id: string;
  createdAt: number;
  message: string;
}

export interface CircuitBreakerConfig {
  enable: boolean;
  rollback: boolean;
  /** Echoed only when the caller set it (ECS default: true). */
  resetOnHealthyTask?: boolean;
  thresholdConfiguration?: { type: "COUNT" | "BOUNDED_PERCENT" | "UNBOUNDED_PERCENT"; value: number };
}

export interface DeploymentConfig {
  minimumHealthyPercent: number;
  maximumPercent: number;
  deploymentCircuitBreaker: CircuitBreakerConfig;
  alarms: { alarmNames: string[]; enable: boolean; rollback: boolean };
  /** Other modelled members (strategy, bakeTimeInMinutes, …): stored and echoed, not simulated. */
  extra: Record<string, unknown>;
}

export interface Service {
  name: string;
  arn: string;
  cluster: Cluster;
  status: "ACTIVE" | "DRAINING" | "INACTIVE";
  desiredCount: number;
  launchType: string;
  platformVersion: string;
  deploymentConfiguration: DeploymentConfig;
  networkConfiguration?: unknown;
  loadBalancers: unknown[];
  serviceRegistries: unknown[];
  propagateTags?: string;
  enableECSManagedTags: boolean;
  enableExecuteCommand: boolean;
  availabilityZoneRebalancing: "ENABLED" | "DISABLED";
  healthCheckGracePeriodSeconds?: number;
  tags: Tag[];
  createdAt: number;
  deployments: Deployment[];
  /** Deployments that left `deployments` (INACTIVE); a circuit-breaker rollback can revive one. */
  retired: Deployment[];
  events: ServiceEvent[];
  history: ServiceDeploymentRec[];
  currentServiceDeploymentArn?: string;
  steady: boolean;
  lastCompleted?: Deployment;
  throttle: { failures: number; nextLaunchAt: number; announced: boolean };
  /** Tasks a maintenance action (retirement, AZ rebalancing) wants replaced: start the replacement, then stop them. */
  replacing: Map<string, { reason: string; kind: "retirement" | "rebalance" }>;
}

export interface ContainerState {
  name: string;
  image: string;
  imageDigest: string;
  essential: boolean;
  hasHealthCheck: boolean;
  stopTimeoutMs: number;
  behavior?: ImageBehavior;
  pullError?: string;
  lastStatus: string;
  exitCode?: number;
  /** The exit code it will have once STOPPING ends (its answer to SIGTERM, or 137 after SIGKILL). */
  pendingExit?: number;
  reason?: string;
  healthStatus: "HEALTHY" | "UNHEALTHY" | "UNKNOWN";
  runtimeId: string;
  /** UUID at the end of the containerArn. */
  uuid: string;
  cpu?: number;
  memory?: number;
  /** awslogs configuration, if any: where this container's stdout goes. */
  awslogs?: { group: string; streamPrefix?: string; region?: string; createGroup: boolean };
}

export type TaskStatus = "PROVISIONING" | "PENDING" | "ACTIVATING" | "RUNNING" | "DEACTIVATING" | "STOPPING" | "DEPROVISIONING" | "STOPPED";

export interface Task {
  id: string;
  arn: string;
  cluster: Cluster;
  serviceName?: string;
  group: string;
  startedBy?: string;
  serviceRevisionArn?: string;
  td: TaskDef;
  launchType: string;
  availabilityZone: string;
  lastStatus: TaskStatus;
  desiredStatus: "RUNNING" | "STOPPED";
  healthStatus: "HEALTHY" | "UNHEALTHY" | "UNKNOWN";
  containers: ContainerState[];
  createdAt: number;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  stoppingAt?: number;
  executionStoppedAt?: number;
  stoppedAt?: number;
  stopCode?: string;
  stoppedReason?: string;
  /** Time of the next lifecycle transition (Infinity when none is scheduled). */
  next: number;
  /** Pending in-task timers: crash, health verdict, degradation, scripted log lines. */
  timers: TaskTimer[];
  needsHealth: boolean;
  /** When the task started counting as healthy (RUNNING, HEALTHY where checked, after the no-health-check wait). */
  healthyAt?: number;
  /** Stopped because of a failure (crash, pull error, failed health check), not by the scheduler or a user. */
  failed: boolean;
  version: number;
  tags: Tag[];
}

export interface TaskTimer {
  at: number;
  kind: "crash" | "health" | "degrade" | "degradeRetry" | "log" | "healthy";
  container?: string;
  message?: string;
}

export type { ImageBehavior };
