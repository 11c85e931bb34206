/**
 * Actions on demand (POST /_emulator/actions) and timed ones (scenario `actions`): things AWS does to you at a moment
 * of its choosing — a Fargate task retirement, an Availability Zone rebalance, ECR lifecycle expiry — and scripted
 * container log lines. docs/emulator.md, "Actions".
 */
import * as z from "zod/mini";
import { lastSegment } from "./ecs/state.js";
import { ActionError, rebalance, retire } from "./ecs/sim/maintenance.js";
import type { Task } from "./ecs/model.js";
import type { Partition, World } from "./world.js";

const where = { region: z.optional(z.string().check(z.minLength(1))), account: z.optional(z.string().check(z.regex(/^\d{12}$/))) };

export const ActionSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("retireTask"),
    /** A task id or ARN; or the oldest running task of `service`. */
    task: z.optional(z.string().check(z.minLength(1))),
    service: z.optional(z.string().check(z.minLength(1))),
    cluster: z.optional(z.string().check(z.minLength(1))),
    ...where,
  }),
  z.strictObject({ type: z.literal("rebalance"), service: z.string().check(z.minLength(1)), cluster: z.optional(z.string().check(z.minLength(1))), ...where }),
]);

export type Action = z.infer<typeof ActionSchema>;

export const TimedActionSchema = z.strictObject({
  /** Simulated ms after the scenario (or the patch carrying this list) was applied. */
  afterMs: z.int().check(z.minimum(0), z.maximum(86_400_000)),
  action: ActionSchema,
});

export interface ActionResult {
  type: string;
  taskArn?: string;
  serviceName?: string;
}

function partitionOf(world: World, defaults: { account: string; region: string }, a: { account?: string | undefined; region?: string | undefined }): Partition {
  return world.partition(a.account ?? defaults.account, a.region ?? defaults.region);
}

function serviceIn(p: Partition, cluster: string | undefined, name: string) {
  const svc = p.ecs.services.get(`${cluster ?? "lgtm"}/${lastSegment(name)}`) ?? [...p.ecs.services.values()].find((s) => s.name === lastSegment(name) && (cluster === undefined || s.cluster.name === cluster));
  if (!svc || svc.status === "INACTIVE") throw new ActionError(404, `no service ${name}${cluster ? ` in cluster ${cluster}` : ""} (${p.account}/${p.region})`);
  return svc;
}

function taskFor(p: Partition, a: Extract<Action, { type: "retireTask" }>): Task {
  if ((a.task === undefined) === (a.service === undefined)) throw new ActionError(400, "retireTask needs exactly one of task and service");
  if (a.task !== undefined) {
    const id = lastSegment(a.task);
    const t = [...p.ecs.tasks.values()].find((x) => x.id === id);
    if (!t) throw new ActionError(404, `no task ${a.task} (${p.account}/${p.region})`);
    return t;
  }
  const svc = serviceIn(p, a.cluster, a.service!);
  const t = p.ecs
    .tasksOf(svc)
    .filter((x) => x.desiredStatus === "RUNNING" && x.lastStatus === "RUNNING" && !svc.replacing.has(x.arn))
    .sort((x, y) => x.createdAt - y.createdAt)[0];
  if (!t) throw new ActionError(409, `service ${svc.name} has no running task to retire`);
  return t;
}

export function runAction(world: World, defaults: { account: string; region: string }, a: Action, now: number): ActionResult {
  const p = partitionOf(world, defaults, a);
  switch (a.type) {
    case "retireTask": {
      const t = taskFor(p, a);
      retire(p.ecs, t, now);
      return { type: a.type, taskArn: t.arn, ...(t.serviceName !== undefined ? { serviceName: t.serviceName } : {}) };
    }
    case "rebalance": {
      const svc = serviceIn(p, a.cluster, a.service);
      const moved = rebalance(p.ecs, svc, now);
      return { type: a.type, taskArn: moved.arn, serviceName: svc.name };
    }
  }
}
