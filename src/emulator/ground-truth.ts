/**
 * GET /_emulator/state: the emulator's ground truth, never stale, for tests to use as an oracle. Timestamps are
 * simulated epoch seconds like the API's; `time`/`timeEpochMs` is the simulated now they are consistent with.
 */
import type { Core } from "./core.js";
import { serviceKey } from "./ecs/read-view.js";
import type { Service, Task } from "./ecs/model.js";
import type { EcsState } from "./ecs/state.js";
import { clusterJson, recJson, serviceJson, taskJson } from "./ecs/views.js";
import { sec } from "./util.js";

function deploymentsOf(svc: Service): unknown[] {
  return svc.deployments.map((d) => ({
    id: d.id,
    status: d.status,
    taskDefinition: d.td.arn,
    rolloutState: d.rolloutState,
    rolloutStateReason: d.rolloutStateReason,
    desiredCount: d.desiredCount,
    failedTasks: d.failedTasks,
    createdAt: sec(d.createdAt),
    updatedAt: sec(d.updatedAt),
    serviceDeploymentArn: d.serviceDeploymentArn,
    serviceRevisionArn: d.serviceRevisionArn,
    halted: d.halted,
    ...(d.rollbackOf !== undefined ? { rollbackOf: d.rollbackOf } : {}),
  }));
}

function taskTruth(t: Task): Record<string, unknown> {
  return {
    ...taskJson(t, false),
    serviceName: t.serviceName,
    serviceRevisionArn: t.serviceRevisionArn,
    region: t.cluster.region,
    account: t.cluster.account,
    countedHealthyAt: sec(t.healthyAt),
    failed: t.failed,
  };
}

function serviceTruth(ecs: EcsState, svc: Service): Record<string, unknown> {
  return {
    ...serviceJson(ecs, svc, true),
    key: serviceKey(svc),
    region: svc.cluster.region,
    account: svc.cluster.account,
    steady: svc.steady,
    ground: { deployments: deploymentsOf(svc), lastCompletedDeployment: svc.lastCompleted?.id, throttle: { ...svc.throttle } },
  };
}

export function groundTruth(core: Core): Record<string, unknown> {
  const now = core.tick();
  const parts = core.world.all();
  const ecs = parts.map((p) => p.ecs);
  return {
    time: new Date(now).toISOString(),
    timeEpochMs: now,
    timeScale: core.clock.scale,
    wallTime: new Date(core.clock.wallNow()).toISOString(),
    timing: core.timing,
    partitions: parts.map((p) => ({ account: p.account, region: p.region })),
    ecs: {
      clusters: ecs.flatMap((e) => [...e.clusters.values()].map((c) => clusterJson(e, c))),
      taskDefinitions: ecs.flatMap((e) => [...e.families.values()].flat().map((t) => ({ arn: t.arn, status: t.status }))),
      services: ecs.flatMap((e) => [...e.services.values()].map((s) => serviceTruth(e, s))),
      tasks: ecs.flatMap((e) => [...e.tasks.values()].map(taskTruth)),
      serviceDeployments: ecs.flatMap((e) => [...e.serviceDeployments.values()].map(({ svc, rec }) => recJson(e, svc, rec))),
      events: ecs.flatMap((e) => e.allEvents.map((ev) => ({ ...ev, createdAt: sec(ev.createdAt) }))),
    },
    ecr: parts.flatMap((p) => p.ecr.snapshot()),
    logs: parts.flatMap((p) => p.logs.snapshot()),
  };
}
