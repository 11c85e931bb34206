/**
 * Actions on demand (POST /_emulator/actions) and timed ones (scenario `actions`): things AWS does to you at a moment
 * of its choosing — a Fargate task retirement, an Availability Zone rebalance, ECR lifecycle expiry — and scripted
 * container log lines. docs/emulator.md, "Actions".
 */
import * as z from "zod/mini";
import { lastSegment } from "./ecs/state.js";
import { applyLifecyclePolicy } from "./ecr/lifecycle.js";
import { alarmFired } from "./ecs/sim/breaker.js";
import { printLine } from "./ecs/sim/containers.js";
import { rebalance, retire } from "./ecs/sim/maintenance.js";
import { ActionError } from "./errors.js";
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
  z.strictObject({
    type: z.literal("expireImage"),
    /** The repository; the image by tag or digest (exactly one). It goes with every tag it has. */
    repository: z.string().check(z.minLength(1)),
    tag: z.optional(z.string().check(z.minLength(1))),
    digest: z.optional(z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/))),
    ...where,
  }),
  z.strictObject({
    type: z.literal("alarm"),
    /** A CloudWatch alarm named in the service's deploymentConfiguration.alarms goes into ALARM now. */
    service: z.string().check(z.minLength(1)),
    alarmName: z.string().check(z.minLength(1)),
    cluster: z.optional(z.string().check(z.minLength(1))),
    ...where,
  }),
  z.strictObject({ type: z.literal("applyLifecyclePolicy"), repository: z.string().check(z.minLength(1)), ...where }),
  z.strictObject({
    type: z.literal("log"),
    /** A task id or ARN; the line goes to its container's awslogs stream (default: the first essential container). */
    task: z.string().check(z.minLength(1)),
    container: z.optional(z.string().check(z.minLength(1))),
    message: z.union([z.string(), z.array(z.string()).check(z.minLength(1), z.maxLength(1000))]),
    ...where,
  }),
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
  /** expireImage / applyLifecyclePolicy: the image digests removed. */
  expired?: string[];
}

function partitionOf(world: World, defaults: { account: string; region: string }, a: { account?: string | undefined; region?: string | undefined }): Partition {
  return world.partition(a.account ?? defaults.account, a.region ?? defaults.region);
}

function serviceIn(p: Partition, cluster: string | undefined, name: string) {
  const svc = p.ecs.services.get(`${cluster ?? "lgtm"}/${lastSegment(name)}`) ?? [...p.ecs.services.values()].find((s) => s.name === lastSegment(name) && (cluster === undefined || s.cluster.name === cluster));
  if (!svc || svc.status === "INACTIVE") throw new ActionError(404, `no service ${name}${cluster ? ` in cluster ${cluster}` : ""} (${p.account}/${p.region})`);
  return svc;
}

function taskById(p: Partition, ref: string): Task {
  const id = lastSegment(ref);
  const t = [...p.ecs.tasks.values()].find((x) => x.id === id);
  if (!t) throw new ActionError(404, `no task ${ref} (${p.account}/${p.region})`);
  return t;
}

function taskFor(p: Partition, a: Extract<Action, { type: "retireTask" }>): Task {
  if ((a.task === undefined) === (a.service === undefined)) throw new ActionError(400, "retireTask needs exactly one of task and service");
  if (a.task !== undefined) return taskById(p, a.task);
  const svc = serviceIn(p, a.cluster, a.service!);
  const t = p.ecs
    .tasksOf(svc)
    .filter((x) => x.desiredStatus === "RUNNING" && x.lastStatus === "RUNNING" && !svc.replacing.has(x.arn))
    .sort((x, y) => x.createdAt - y.createdAt)[0];
  if (!t) throw new ActionError(409, `service ${svc.name} has no running task to retire`);
  return t;
}

function repoIn(p: Partition, name: string) {
  const r = p.ecr.repos.get(name);
  if (!r) throw new ActionError(404, `no repository ${name} (${p.account}/${p.region})`);
  return r;
}

function expireImage(p: Partition, a: Extract<Action, { type: "expireImage" }>): string {
  if ((a.tag === undefined) === (a.digest === undefined)) throw new ActionError(400, "expireImage needs exactly one of tag and digest");
  const r = repoIn(p, a.repository);
  const digest = a.tag !== undefined ? r.tagIndex.get(a.tag) : r.images.has(a.digest!) ? a.digest : undefined;
  if (digest === undefined) throw new ActionError(404, `no image ${a.tag ?? a.digest} in repository ${a.repository}`);
  p.ecr.expire(r, digest);
  return digest;
}

function writeLines(p: Partition, a: Extract<Action, { type: "log" }>, now: number): ActionResult {
  const t = taskById(p, a.task);
  const c = a.container !== undefined ? t.containers.find((x) => x.name === a.container) : (t.containers.find((x) => x.essential) ?? t.containers[0]);
  if (!c) throw new ActionError(404, `task ${t.id} has no container ${a.container}`);
  if (c.lastStatus !== "RUNNING") throw new ActionError(409, `container ${c.name} of task ${t.id} is not running`);
  if (!c.awslogs?.streamPrefix) throw new ActionError(409, `container ${c.name} has no awslogs configuration with a stream prefix`);
  for (const line of Array.isArray(a.message) ? a.message : [a.message]) printLine(p.ecs, t, c.name, now, line);
  return { type: a.type, taskArn: t.arn, ...(t.serviceName !== undefined ? { serviceName: t.serviceName } : {}) };
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
    case "log":
      return writeLines(p, a, now);
    case "alarm": {
      const svc = serviceIn(p, a.cluster, a.service);
      alarmFired(p.ecs, svc, a.alarmName, now);
      return { type: a.type, serviceName: svc.name };
    }
    case "expireImage":
      return { type: a.type, expired: [expireImage(p, a)] };
    case "applyLifecyclePolicy": {
      const r = repoIn(p, a.repository);
      if (!r.lifecyclePolicy) throw new ActionError(409, `repository ${a.repository} has no lifecycle policy`);
      return { type: a.type, expired: applyLifecyclePolicy(p.ecr, r, now) };
    }
  }
}
