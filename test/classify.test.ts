/**
 * The stopped-task classifier (src/core/classify.ts): one table row per documented stop reason / error message, each
 * citing the page its example comes from, then properties over generated tasks (fast-check, seeded).
 *
 * Where the page shows only a template ("<reason>") or only the error family, the row fills in the detail and says
 * where that detail comes from. The Fargate user guide copy of "Stopped tasks error codes" is the one read; the ECS
 * API reference (Task.stopCode) links the developer guide's page of the same name.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import type { Container, Task } from "@aws-sdk/client-ecs";
import {
  CAUSES,
  DEFAULT_QUICK_EXIT_MS,
  SUMMARY_MAX,
  classifyStoppedTask,
  describeClassification,
  describeStop,
  truncateMiddle,
  type Cause,
  type ClassifyContext,
  type FailureKind,
} from "../src/core/classify.js";
import { REPO_ROOT } from "./helpers/cli.js";

const SRC = {
  codes: "https://docs.aws.amazon.com/AmazonECS/latest/userguide/stopped-task-error-codes.html",
  pull: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html",
  start: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cannot-start-container.html",
  oom: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/out-of-memory.html",
  stoppedErrors: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-errors.html",
  maintenance: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-maintenance.html",
  rebalancing: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/track-service-rebalancing.html",
  apiTask: "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html",
  apiFailures: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html",
  taskStopped: "https://repost.aws/knowledge-center/ecs-task-stopped",
  eni: "https://repost.aws/knowledge-center/ecs-fargate-network-interface-errors",
  spot: "https://repost.aws/knowledge-center/fargate-spot-termination-notice",
} as const;

const REGISTRY = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com";
const IMAGE = `${REGISTRY}/lgtm-loki:3.4.2_g0123456abcde`;
const T0 = Date.UTC(2026, 0, 10, 3, 0, 0);
const at = (s: number): Date => new Date(T0 + s * 1000);

/** A STOPPED task as DescribeTasks returns it: created at 0 s, image pulled 20–28 s, RUNNING at 30 s. */
function task(over: Partial<Task>): Task {
  return {
    taskArn: "arn:aws:ecs:ap-northeast-2:123456789012:task/lgtm/0a1b2c3d4e5f67890a1b2c3d4e5f6789",
    lastStatus: "STOPPED",
    desiredStatus: "STOPPED",
    createdAt: at(0),
    pullStartedAt: at(20),
    pullStoppedAt: at(28),
    startedAt: at(30),
    ...over,
  };
}
/** The stop timestamps of a task whose container stopped `s` seconds after it started (ECS needs a moment after). */
const endedAfter = (s: number): Partial<Task> => ({ stoppingAt: at(30 + s), executionStoppedAt: at(31 + s), stoppedAt: at(32 + s) });
/** A task that never started: stopped at the end of PENDING. */
const neverStarted = (reason: string): Partial<Task> => ({
  stopCode: "TaskFailedToStart",
  stoppedReason: reason,
  startedAt: undefined,
  pullStoppedAt: undefined,
  stoppingAt: at(29),
  stoppedAt: at(29),
  containers: [{ name: "loki", lastStatus: "STOPPED", reason }],
});
const loki = (exitCode?: number, more: Partial<Container> = {}): Container => ({ name: "loki", lastStatus: "STOPPED", ...(exitCode !== undefined ? { exitCode } : {}), ...more });

interface Row {
  name: string;
  /** The page the example message (or its family) comes from. */
  source: string;
  task: Task;
  ctx?: ClassifyContext;
  kind: FailureKind;
  cause: Cause;
  code?: string;
}

const ROWS: Row[] = [
  /* ------------------------------------------------------------------ none: not a failure */
  {
    name: "scale-in: ServiceSchedulerInitiated, exit 143",
    source: SRC.stoppedErrors, // "Scaling activity initiated by (deployment deployment-id)"
    task: task({ stopCode: "ServiceSchedulerInitiated", stoppedReason: "Scaling activity initiated by (deployment ecs-svc/1234567890123456789)", containers: [loki(143)], ...endedAfter(3600) }),
    kind: "none",
    cause: "scale-in",
  },
  {
    name: "a deployment replacing the task: ServiceSchedulerInitiated, exit 137 (did not stop within stopTimeout)",
    source: SRC.stoppedErrors, // same reason text: the scheduler stops the old deployment's tasks to reach its counts
    task: task({ stopCode: "ServiceSchedulerInitiated", stoppedReason: "Scaling activity initiated by (deployment ecs-svc/9876543210987654321)", containers: [loki(137)], ...endedAfter(900) }),
    kind: "none",
    cause: "scale-in",
  },
  {
    name: "Fargate task retirement: exit 143",
    source: SRC.maintenance, // "ECS is performing maintenance on the underlying infrastructure hosting the task"
    task: task({ stopCode: "ServiceSchedulerInitiated", stoppedReason: "ECS is performing maintenance on the underlying infrastructure hosting the task", containers: [loki(143)], ...endedAfter(86400) }),
    kind: "none",
    cause: "retirement",
  },
  {
    name: "Fargate task retirement: exit 137",
    source: SRC.maintenance,
    task: task({ stopCode: "ServiceSchedulerInitiated", stoppedReason: "ECS is performing maintenance on the underlying infrastructure hosting the task", containers: [loki(137)], ...endedAfter(86400) }),
    kind: "none",
    cause: "retirement",
  },
  {
    // AWS documents the service events ("… has stopped N running tasks in <AZ> to AZ Rebalance: <task-ids>"), not the
    // task's stoppedReason; the stop code alone decides, the text only names the cause.
    name: "Availability Zone rebalancing: ServiceSchedulerInitiated, exit 143",
    source: SRC.rebalancing,
    task: task({ stopCode: "ServiceSchedulerInitiated", stoppedReason: "AZ Rebalancing", containers: [loki(143)], ...endedAfter(7200) }),
    kind: "none",
    cause: "rebalancing",
  },
  {
    name: "ServiceSchedulerInitiated with a reason this table does not know, exit 1: still not a failure",
    source: SRC.apiTask, // stopCode enum: TaskFailedToStart | EssentialContainerExited | UserInitiated | ServiceSchedulerInitiated | SpotInterruption | TerminationNotice
    task: task({ stopCode: "ServiceSchedulerInitiated", stoppedReason: "Service lgtm-loki was deleted", containers: [loki(1)], ...endedAfter(600) }),
    kind: "none",
    cause: "scheduler-stop",
  },
  {
    name: "UserInitiated (StopTask), exit 143",
    source: SRC.taskStopped, // "Task stopped by user"
    task: task({ stopCode: "UserInitiated", stoppedReason: "Task stopped by user", containers: [loki(143)], ...endedAfter(3) }),
    kind: "none",
    cause: "user-stop",
  },
  {
    name: "Fargate Spot interruption, exit 143",
    source: SRC.spot, // the task state change event's stoppedReason "Your Spot Task was interrupted." with stopCode SpotInterruption
    task: task({ stopCode: "SpotInterruption", stoppedReason: "Your Spot Task was interrupted.", containers: [loki(143)], ...endedAfter(5000) }),
    kind: "none",
    cause: "spot-interruption",
  },
  {
    name: "TerminationNotice, exit 137",
    source: SRC.apiTask, // stop code documented in the enum; no reason text documented
    task: task({ stopCode: "TerminationNotice", containers: [loki(137)], ...endedAfter(5000) }),
    kind: "none",
    cause: "termination-notice",
  },

  /* ------------------------------------------------------------------ transient: counts toward --max-failed-tasks */
  {
    name: "ELB health checks failed, under ServiceSchedulerInitiated",
    source: SRC.stoppedErrors, // "Task failed ELB health checks in (elb elb-name)"; today ECS names the target group
    task: task({
      stopCode: "ServiceSchedulerInitiated",
      stoppedReason: "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/lgtm-grafana/0123456789abcdef)",
      containers: [loki(143)],
      ...endedAfter(95),
    }),
    kind: "transient",
    cause: "elb-health-check",
    code: "ServiceSchedulerInitiated",
  },
  {
    name: "container health check UNHEALTHY",
    source: SRC.taskStopped, // "Failed container health checks"
    task: task({ stopCode: "ServiceSchedulerInitiated", stoppedReason: "Task failed container health checks", healthStatus: "UNHEALTHY", containers: [loki(143, { healthStatus: "UNHEALTHY" })], ...endedAfter(70) }),
    kind: "transient",
    cause: "container-health-check",
  },
  {
    name: "a task reporting UNHEALTHY stopped by the scheduler with a scaling reason is still a health failure",
    source: SRC.apiTask, // Task.healthStatus
    task: task({ stopCode: "ServiceSchedulerInitiated", stoppedReason: "Scaling activity initiated by (deployment ecs-svc/1234567890123456789)", healthStatus: "UNHEALTHY", containers: [loki(143)], ...endedAfter(70) }),
    kind: "transient",
    cause: "unhealthy",
  },
  {
    name: "crash exit 1 after 10 min healthy",
    source: SRC.taskStopped, // "Essential container in task exited"
    task: task({ stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", containers: [loki(1)], ...endedAfter(600) }),
    ctx: { seenHealthy: true },
    kind: "transient",
    cause: "crash",
  },
  {
    name: "crash exit 2 after 10 min, health never observed: the time alone makes it transient",
    source: SRC.taskStopped,
    task: task({ stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", containers: [loki(2)], ...endedAfter(600) }),
    kind: "transient",
    cause: "crash",
  },
  {
    name: "exit 143 three seconds after start: a signal from outside, not proof of a bad build",
    source: SRC.taskStopped,
    task: task({ stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", containers: [loki(143)], ...endedAfter(3) }),
    kind: "transient",
    cause: "crash",
  },
  {
    name: "crash exit 1 with no timestamps: no evidence it was quick",
    source: SRC.taskStopped,
    task: { taskArn: "arn:aws:ecs:ap-northeast-2:123456789012:task/lgtm/feedface", lastStatus: "STOPPED", stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", containers: [loki(1)] },
    kind: "transient",
    cause: "crash",
  },
  {
    name: "OutOfMemoryError exit 137, even 4 s after start",
    source: SRC.oom, // "OutOfMemoryError: Container killed due to memory usage"
    task: task({ stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", containers: [loki(137, { reason: "OutOfMemoryError: Container killed due to memory usage" })], ...endedAfter(4) }),
    kind: "transient",
    cause: "out-of-memory",
    code: "OutOfMemoryError",
  },
  {
    name: "CannotPullContainerError: connection timed out (AWS's example)",
    source: SRC.pull, // "Connection timed out"
    task: task(neverStarted("CannotPullContainerError: API error (500): Get https://111122223333.dkr.ecr.us-east-1.amazonaws.com/v2/: net/http: request canceled while waiting for connection")),
    kind: "transient",
    cause: "pull-timeout",
    code: "CannotPullContainerError",
  },
  {
    // Platform version 1.4 wording (containerd) of the same timeout, as users report it.
    name: "CannotPullContainerError: i/o timeout resolving the image",
    source: SRC.pull,
    task: task(neverStarted(`CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${IMAGE}: failed to do request: Head "https://${REGISTRY}/v2/lgtm-loki/manifests/3.4.2_g0123456abcde": dial tcp 10.0.3.17:443: i/o timeout`)),
    kind: "transient",
    cause: "pull-timeout",
  },
  {
    name: "CannotPullContainerError: context canceled",
    source: SRC.pull, // "Context canceled": no route to the registry
    task: task(neverStarted("CannotPullContainerError: context canceled")),
    kind: "transient",
    cause: "pull-timeout",
  },
  {
    name: "CannotPullContainerError: Docker Hub rate limiting",
    source: SRC.pull, // "ERROR: toomanyrequests: Too Many Requests."
    task: task(neverStarted("CannotPullContainerError: ERROR: toomanyrequests: Too Many Requests.")),
    kind: "transient",
    cause: "pull-throttled",
  },
  {
    name: "CannotPullContainerError: no space left on device (the host's disk, per AWS)",
    source: SRC.pull, // "Insufficient disk space"
    task: task(neverStarted("CannotPullContainerError: write /var/lib/docker/tmp/GetImageBlob111111111: no space left on device")),
    kind: "transient",
    cause: "pull-failed",
  },
  {
    name: "CannotPullContainerError: fail to copy image (no access to the layer store, usually the network path)",
    source: SRC.pull, // "Fail to copy image"
    task: task(neverStarted("CannotPullContainerError: ref pull has been retried 1 time(s): failed to copy: httpReaderSeeker: failed open: unexpected status code")),
    kind: "transient",
    cause: "pull-failed",
  },
  {
    // Family from the error-codes page; the throttling detail is the SDK's error as the agent reports it.
    name: "secrets throttled: Rate exceeded pulling secrets",
    source: SRC.codes,
    task: task(neverStarted("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 5 time(s): ThrottlingException: Rate exceeded")),
    kind: "transient",
    cause: "secrets-throttled",
    code: "ResourceInitializationError",
  },
  {
    name: "registry auth: network timeout (no route to ECR)",
    source: SRC.codes, // ResourceInitializationError; "a common cause … a VPC that doesn't have DNS resolution enabled"
    task: task(neverStarted(`ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): RequestError: send request failed caused by: Post "https://api.ecr.ap-northeast-2.amazonaws.com/": dial tcp 10.0.1.5:443: i/o timeout`)),
    kind: "transient",
    cause: "secrets-timeout",
  },
  {
    name: "logging driver could not reach CloudWatch Logs",
    source: SRC.codes, // "ResourceInitializationError: failed to initialize logging driver: <reason>"
    task: task(neverStarted("ResourceInitializationError: failed to initialize logging driver: failed to create Cloudwatch log stream: RequestError: send request failed caused by: dial tcp 10.0.1.9:443: i/o timeout")),
    kind: "transient",
    cause: "resource-init-failed",
  },
  {
    name: "ENI provisioning timeout",
    source: SRC.eni, // "Timeout waiting for network interface provisioning to complete"
    task: task({ stopCode: "TaskFailedToStart", stoppedReason: "Timeout waiting for network interface provisioning to complete.", startedAt: undefined, pullStartedAt: undefined, pullStoppedAt: undefined, stoppedAt: at(200) }),
    kind: "transient",
    cause: "network-interface",
    code: "TaskFailedToStart",
  },
  {
    name: "capacity: RESOURCE:ENI",
    source: SRC.apiFailures, // "RESOURCE:* (container instance ID)"
    task: task({ stopCode: "TaskFailedToStart", stoppedReason: "RESOURCE:ENI", startedAt: undefined, pullStartedAt: undefined, pullStoppedAt: undefined, stoppedAt: at(5) }),
    kind: "transient",
    cause: "capacity",
  },
  {
    name: "ContainerRuntimeTimeoutError",
    source: SRC.codes, // "ContainerRuntimeTimeoutError: Could not transition to running; timed out after waiting 1m: <reason>"
    task: task(neverStarted("ContainerRuntimeTimeoutError: Could not transition to running; timed out after waiting 1m: context deadline exceeded")),
    kind: "transient",
    cause: "runtime-timeout",
    code: "ContainerRuntimeTimeoutError",
  },
  {
    name: "CannotStartContainerError: failed to get container status (AWS: memory)",
    source: SRC.start, // "failed to get container status: <reason>"
    task: task(neverStarted("CannotStartContainerError: failed to get container status: container is not running")),
    kind: "transient",
    cause: "start-failed",
    code: "CannotStartContainerError",
  },
  {
    name: "CannotInspectContainerError",
    source: SRC.codes, // "CannotInspectContainerError: <reason>"
    task: task(neverStarted("CannotInspectContainerError: context deadline exceeded")),
    kind: "transient",
    cause: "platform-error",
  },
  {
    name: "CannotStopContainerError",
    source: SRC.codes, // "CannotStopContainerError: failed sending SIGTERM to container: <reason>"
    task: task({ stopCode: "EssentialContainerExited", stoppedReason: "CannotStopContainerError: failed sending SIGTERM to container: process already finished", containers: [loki(1)], ...endedAfter(2) }),
    kind: "transient",
    cause: "platform-error",
  },
  {
    name: "TaskFailedToStart with a reason this table does not know",
    source: SRC.apiTask,
    task: task({ stopCode: "TaskFailedToStart", stoppedReason: "Task failed to start", startedAt: undefined, stoppedAt: at(40) }),
    kind: "transient",
    cause: "failed-to-start",
  },

  /* ------------------------------------------------------------------ deterministic: fail without a second launch */
  {
    name: "CannotPullContainerError: image not found (AWS's example)",
    source: SRC.pull, // "Image not found"
    task: task(neverStarted("CannotPullContainerError: API error (404): repository 111122223333.dkr.ecr.us-east-1.amazonaws.com/<repo>/<image> not found")),
    kind: "deterministic",
    cause: "image-not-found",
    code: "CannotPullContainerError",
  },
  {
    // Platform version 1.4 wording; the emulator uses the same (docs/emulator.md).
    name: "CannotPullContainerError: failed to resolve ref … not found",
    source: SRC.pull,
    task: task(neverStarted(`CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${IMAGE}: ${IMAGE}: not found`)),
    kind: "deterministic",
    cause: "image-not-found",
  },
  {
    name: "CannotPullContainerError: manifest unknown",
    source: SRC.pull,
    task: task(neverStarted(`CannotPullContainerError: Error response from daemon: manifest for ${IMAGE} not found: manifest unknown: manifest unknown`)),
    kind: "deterministic",
    cause: "image-not-found",
  },
  {
    name: "CannotPullContainerError: the image has no manifest for the task's platform",
    source: SRC.pull,
    task: task(neverStarted("CannotPullContainerError: pull image manifest has been retried 7 time(s): image Manifest does not contain descriptor matching platform 'linux/amd64'")),
    kind: "deterministic",
    cause: "wrong-architecture",
  },
  {
    name: "CannotPullContainerError: 403 Forbidden (the execution role cannot read the image)",
    source: SRC.pull,
    task: task(neverStarted(`CannotPullContainerError: ref pull has been retried 1 time(s): failed to resolve reference "${IMAGE}": unexpected status code 403 Forbidden`)),
    kind: "deterministic",
    cause: "image-access-denied",
  },
  {
    name: "exec format error: an image for the wrong CPU architecture, reported by the runtime",
    source: SRC.start,
    task: task(neverStarted(`CannotStartContainerError: ResourceInitializationError: failed to create new container runtime task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/usr/bin/loki": exec format error: unknown`)),
    kind: "deterministic",
    cause: "wrong-architecture",
    code: "CannotStartContainerError",
  },
  {
    name: "exec format error: the binary dies at once (exit 255, only the logs say why)",
    source: SRC.taskStopped,
    task: task({ stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", containers: [loki(255)], ...endedAfter(0) }),
    kind: "deterministic",
    cause: "quick-crash",
    code: "EssentialContainerExited",
  },
  {
    name: "CannotStartContainerError: executable not found in $PATH",
    source: SRC.start,
    task: task(neverStarted(`CannotStartContainerError: ResourceInitializationError: failed to create new container runtime task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "lokii": executable file not found in $PATH: unknown`)),
    kind: "deterministic",
    cause: "command-not-found",
  },
  {
    name: "CannotStartContainerError: the entry point is a directory (permission denied)",
    source: SRC.start,
    task: task(neverStarted(`CannotStartContainerError: Error response from daemon: OCI runtime create failed: container_linux.go:380: starting container process caused: exec: "/": permission denied: unknown`)),
    kind: "deterministic",
    cause: "command-not-executable",
  },
  {
    name: "Secrets Manager secret does not exist",
    source: SRC.codes, // ResourceInitializationError; detail is the agent's Secrets Manager error as users report it
    task: task(neverStarted("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:lgtm/grafana-admin-AbCdEf from secrets manager: operation error Secrets Manager: GetSecretValue, https response error StatusCode: 400, RequestID: 0e6c1f1e-1111-2222-3333-444455556666, ResourceNotFoundException: Secrets Manager can't find the specified secret.")),
    kind: "deterministic",
    cause: "secret-not-found",
    code: "ResourceInitializationError",
  },
  {
    name: "SSM parameter does not exist",
    source: SRC.codes,
    task: task(neverStarted("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid parameters: /lgtm/prod/grafana/db-password")),
    kind: "deterministic",
    cause: "secret-not-found",
  },
  {
    name: "SSM parameter cannot be read (AccessDenied)",
    source: SRC.codes,
    task: task(neverStarted("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): operation error SSM: GetParameters, https response error StatusCode: 400, RequestID: 7d0b, api error AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/lgtm-exec/abc is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:ap-northeast-2:123456789012:parameter/lgtm/prod/grafana/db-password")),
    kind: "deterministic",
    cause: "secret-access-denied",
  },
  {
    name: "log group does not exist",
    source: SRC.codes, // "ResourceInitializationError: failed to initialize logging driver: <reason>"
    task: task(neverStarted("ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. : exit status 1")),
    kind: "deterministic",
    cause: "log-config",
  },
  {
    name: "quick crash: exit 1 three seconds after start, never healthy",
    source: SRC.taskStopped,
    task: task({ stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", containers: [loki(1)], ...endedAfter(3) }),
    kind: "deterministic",
    cause: "quick-crash",
  },
  {
    name: "quick crash before the task reached RUNNING (no startedAt; timed from the end of the pull)",
    source: SRC.apiTask, // startedAt: PENDING → RUNNING; pullStoppedAt: the image pull completed
    task: task({ stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", startedAt: undefined, containers: [loki(1)], stoppingAt: at(30), stoppedAt: at(31) }),
    kind: "deterministic",
    cause: "quick-crash",
  },
  {
    name: "quick crash of the essential container; the sidecar ECS then stopped exits 143",
    source: SRC.taskStopped,
    task: task({ stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", containers: [{ name: "log-router", lastStatus: "STOPPED", exitCode: 143 }, loki(2)], ...endedAfter(2) }),
    ctx: { essentialContainers: ["loki"] },
    kind: "deterministic",
    cause: "quick-crash",
  },
];

for (const row of ROWS) {
  test(`table: ${row.kind} — ${row.name}`, () => {
    const c = classifyStoppedTask(row.task, row.ctx);
    assert.equal(c.kind, row.kind, `${row.name}: ${JSON.stringify(c)} (source: ${row.source})`);
    assert.equal(c.cause, row.cause, `${row.name}: ${JSON.stringify(c)}`);
    if (row.code !== undefined) assert.equal(c.code, row.code);
    assert.equal(CAUSES[c.cause].kind, c.kind, "a cause always has its class");
    assert.ok(c.summary.startsWith(CAUSES[c.cause].label), c.summary);
  });
}

test("the table covers every class with enough rows, and every row cites an AWS page", () => {
  const counts = { none: 0, transient: 0, deterministic: 0 };
  for (const r of ROWS) counts[r.kind] += 1;
  assert.ok(ROWS.length >= 25 && counts.none >= 5 && counts.transient >= 8 && counts.deterministic >= 8, JSON.stringify(counts));
  for (const r of ROWS) assert.match(r.source, /^https:\/\/(docs\.aws\.amazon\.com|repost\.aws)\//, r.name);
});

test("a crash's details: container, exit code and run time come from the task", () => {
  const c = classifyStoppedTask(task({ stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", containers: [loki(1)], ...endedAfter(3) }));
  assert.deepEqual({ container: c.container, exitCode: c.exitCode, ranMs: c.ranMs }, { container: "loki", exitCode: 1, ranMs: 3000 });
  assert.equal(c.summary, "crashed right after start, never healthy: loki exited 1, 3s after start, never healthy");
  // The window is the caller's: 2 s makes the same crash transient, and a crash seen healthy is never "quick".
  assert.equal(classifyStoppedTask(task({ stopCode: "EssentialContainerExited", containers: [loki(1)], ...endedAfter(3) }), { quickExitMs: 2000 }).kind, "transient");
  assert.equal(classifyStoppedTask(task({ stopCode: "EssentialContainerExited", containers: [loki(1)], ...endedAfter(3) }), { seenHealthy: true }).kind, "transient");
  assert.equal(classifyStoppedTask(task({ stopCode: "EssentialContainerExited", healthStatus: "HEALTHY", containers: [loki(1)], ...endedAfter(3) })).kind, "transient");
});

test("printing: the engine's line for a deterministic failure, with the AWS text truncated in the middle", () => {
  const long = `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${IMAGE}: ${IMAGE}: not found`;
  const c = classifyStoppedTask(task(neverStarted(long)));
  const line = describeClassification(c);
  assert.match(line, /^first failure is deterministic: CannotPullContainerError \(image not found: CannotPullContainerError: pull image manifest .*….*: not found\) — not waiting for a second launch$/);
  assert.ok(line.length <= 120 + SUMMARY_MAX, `${line.length}: ${line}`);
  assert.equal(
    describeClassification(classifyStoppedTask(task(neverStarted("CannotPullContainerError: context canceled")))),
    "failure may be transient: CannotPullContainerError (image pull timed out: CannotPullContainerError: context canceled) — counts toward --max-failed-tasks",
  );
  const scaleIn = task({ stopCode: "ServiceSchedulerInitiated", stoppedReason: "Scaling activity initiated by (deployment ecs-svc/1)", containers: [loki(143)] });
  assert.equal(describeClassification(classifyStoppedTask(scaleIn)), "not a failure: ServiceSchedulerInitiated (stopped by the scheduler (scaling or deployment): Scaling activity initiated by (deployment ecs-svc/1))");
  assert.equal(
    describeStop(scaleIn, classifyStoppedTask(scaleIn)),
    "task 0a1b2c3d4e5f67890a1b2c3d4e5f6789 stopped [ServiceSchedulerInitiated]: not a failure — stopped by the scheduler (scaling or deployment): Scaling activity initiated by (deployment ecs-svc/1)",
  );
  const oom = task({ stopCode: "EssentialContainerExited", containers: [loki(137, { reason: "OutOfMemoryError: Container killed due to memory usage" })] });
  assert.equal(describeStop(oom, classifyStoppedTask(oom)), "task 0a1b2c3d4e5f67890a1b2c3d4e5f6789 stopped [EssentialContainerExited]: transient failure — OutOfMemoryError: out of memory: OutOfMemoryError: Container killed due to memory usage");
});

test("truncateMiddle keeps the error name and the root cause", () => {
  assert.equal(truncateMiddle("short", 10), "short");
  const t = truncateMiddle(`ResourceInitializationError: ${"x".repeat(300)} ResourceNotFoundException`, 80);
  assert.equal(Array.from(t).length, 80);
  assert.match(t, /^ResourceInitializationError: x+…x* ?ResourceNotFoundException$/);
});

/* ------------------------------------------------------------------------------------------------ properties */

const SEED = Number(process.env.FC_SEED ?? 20260110);
const RUNS = Number(process.env.FC_RUNS ?? 300);
const check = <T>(prop: fc.IPropertyWithHooks<T>): void => fc.assert(prop, { seed: SEED, numRuns: RUNS });

/** Mostly near each other (so quick crashes happen), sometimes far apart or invalid. */
const date = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -5_000, max: 40_000 }).map((d) => new Date(T0 + 30_000 + d)) },
  { weight: 1, arbitrary: fc.date({ min: new Date(T0 - 1e9), max: new Date(T0 + 1e9) }) },
  { weight: 1, arbitrary: fc.constant(new Date(NaN)) },
);
const exitCode = fc.oneof(fc.constantFrom(0, 1, 2, 126, 127, 134, 137, 139, 143, 255), fc.integer({ min: -1, max: 1000 }));
const knownReasons = fc.constantFrom(...ROWS.map((r) => r.task.stoppedReason ?? ""), "Essential container in task exited", "");
const reason = fc.oneof(knownReasons, fc.string({ maxLength: 400 }), fc.string({ unit: "grapheme", maxLength: 200 }), fc.string({ unit: "binary", maxLength: 100 }));
const stopCode = fc.constantFrom("TaskFailedToStart", "EssentialContainerExited", "UserInitiated", "ServiceSchedulerInitiated", "SpotInterruption", "TerminationNotice", "SomethingNew");
const health = fc.constantFrom("HEALTHY", "UNHEALTHY", "UNKNOWN");
const container = fc.record(
  { name: fc.oneof(fc.constantFrom("loki", "log-router"), fc.string({ maxLength: 30 })), exitCode, reason, healthStatus: health, lastStatus: fc.constant("STOPPED") },
  { requiredKeys: [] },
);
/** Any subset of the fields DescribeTasks returns, with values of the documented types (including invalid dates). */
const partialTask = fc.record(
  {
    taskArn: fc.oneof(fc.string({ maxLength: 120 }), fc.constant("arn:aws:ecs:ap-northeast-2:123456789012:task/lgtm/abc")),
    stopCode,
    stoppedReason: reason,
    healthStatus: health,
    createdAt: date,
    pullStartedAt: date,
    pullStoppedAt: date,
    startedAt: date,
    stoppingAt: date,
    executionStoppedAt: date,
    stoppedAt: date,
    containers: fc.array(container, { maxLength: 4 }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Task>;
const ctx = fc.record(
  { seenHealthy: fc.boolean(), essentialContainers: fc.array(fc.constantFrom("loki", "log-router", "other"), { maxLength: 2 }), quickExitMs: fc.integer({ min: -5, max: 600_000 }) },
  { requiredKeys: [] },
) as fc.Arbitrary<ClassifyContext>;

test("property: a ServiceSchedulerInitiated stop without a health-check reason is never a failure, whatever the exit code", () => {
  const noHealthReason = reason.filter((r) => !/health ?checks?/i.test(r));
  check(
    fc.property(partialTask, noHealthReason, fc.constantFrom("HEALTHY", "UNKNOWN", undefined), ctx, (t, r, h, x) => {
      const c = classifyStoppedTask({ ...t, stopCode: "ServiceSchedulerInitiated", stoppedReason: r, healthStatus: h }, x);
      assert.equal(c.kind, "none", JSON.stringify({ r, c }));
    }),
  );
});

test("property: user stops and Spot/termination notices are not failures unless the reason is a health check", () => {
  check(
    fc.property(partialTask, fc.constantFrom("UserInitiated", "SpotInterruption", "TerminationNotice"), ctx, (t, code, x) => {
      const c = classifyStoppedTask({ ...t, stopCode: code as Task["stopCode"] }, x);
      const healthReason = /health ?checks?/i.test(t.stoppedReason ?? "");
      assert.equal(c.kind, healthReason ? "transient" : "none", JSON.stringify({ stoppedReason: t.stoppedReason, c }));
    }),
  );
});

test("property: classification never throws on arbitrary partial Task objects (even ill-typed ones)", () => {
  const anything = fc.dictionary(
    fc.constantFrom("taskArn", "stopCode", "stoppedReason", "healthStatus", "startedAt", "stoppingAt", "stoppedAt", "pullStoppedAt", "containers", "executionStoppedAt"),
    fc.oneof(fc.anything(), fc.array(fc.anything(), { maxLength: 3 })),
  ) as fc.Arbitrary<unknown> as fc.Arbitrary<Task>;
  check(
    fc.property(fc.oneof(partialTask, anything), ctx, (t, x) => {
      const c = classifyStoppedTask(t, x);
      assert.ok(["none", "transient", "deterministic"].includes(c.kind));
      assert.equal(CAUSES[c.cause].kind, c.kind);
      describeStop(t, c);
      describeClassification(c);
    }),
  );
});

test("property: summaries and printed lines are one line and bounded", () => {
  // eslint-disable-next-line no-control-regex
  const multiLine = /[\n\r\u0000-\u001f\u007f\u0085\u2028\u2029]/u;
  check(
    fc.property(partialTask, ctx, (t, x) => {
      const c = classifyStoppedTask(t, x);
      assert.ok(!multiLine.test(c.summary), JSON.stringify(c.summary));
      assert.ok(Array.from(c.summary).length <= SUMMARY_MAX, `${c.summary.length}`);
      const line = describeClassification(c);
      assert.ok(!multiLine.test(line) && Array.from(line).length <= 120 + SUMMARY_MAX, line);
      const stop = describeStop(t, c);
      assert.ok(!multiLine.test(stop) && Array.from(stop).length <= 120 + SUMMARY_MAX, stop);
    }),
  );
});

test("property: deterministic only with evidence — a quick crash ran within the window, exited non-zero by itself, never healthy", () => {
  let quickCrashes = 0;
  check(
    fc.property(fc.oneof(partialTask, partialTask.map((t): Task => ({ ...t, stopCode: "EssentialContainerExited" }))), ctx, (t, x) => {
      const c = classifyStoppedTask(t, x);
      if (c.cause !== "quick-crash") return;
      quickCrashes += 1;
      const quick = x.quickExitMs ?? DEFAULT_QUICK_EXIT_MS;
      assert.ok(c.ranMs !== undefined && c.ranMs >= 0 && c.ranMs <= quick, JSON.stringify(c));
      assert.ok(c.exitCode !== undefined && ![0, 137, 143].includes(c.exitCode), JSON.stringify(c));
      assert.notEqual(x.seenHealthy, true);
      assert.notEqual(t.healthStatus, "HEALTHY");
    }),
  );
  assert.ok(quickCrashes > 0, "the generator produced no quick crash: the property checked nothing");
});

test("property: an essential container exit is always a failure, and a wider quick window never turns deterministic into transient", () => {
  const seen = { deterministic: 0, transient: 0 };
  check(
    fc.property(partialTask, ctx, fc.integer({ min: 0, max: 600_000 }), (t, x, extra) => {
      const exited = { ...t, stopCode: "EssentialContainerExited" as const };
      const c = classifyStoppedTask(exited, x);
      if (/health ?checks?/i.test(t.stoppedReason ?? "")) return;
      assert.notEqual(c.kind, "none", JSON.stringify(c));
      const base = x.quickExitMs ?? DEFAULT_QUICK_EXIT_MS;
      const wider = classifyStoppedTask(exited, { ...x, quickExitMs: Math.max(base, 0) + extra });
      if (c.kind === "deterministic") assert.equal(wider.kind, "deterministic");
      seen[c.kind as "deterministic" | "transient"] += 1;
    }),
  );
  assert.ok(seen.deterministic > 0 && seen.transient > 0, JSON.stringify(seen));
});

test("docs/failure-classification.md lists every cause with the class the code gives it", () => {
  const doc = readFileSync(path.join(REPO_ROOT, "docs/failure-classification.md"), "utf8");
  const rows = new Map<string, string>();
  for (const m of doc.matchAll(/^\| `([a-z-]+)` \| (none|transient|deterministic) \|/gm)) rows.set(m[1]!, m[2]!);
  for (const [cause, { kind }] of Object.entries(CAUSES)) assert.equal(rows.get(cause), kind, `docs row for ${cause}`);
  assert.equal(rows.size, Object.keys(CAUSES).length, "no rows for causes the code does not have");
});
