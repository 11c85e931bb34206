/**
 * RegisterTaskDefinition (validated like ECS: ../../fargate.ts), DescribeTaskDefinition, DeregisterTaskDefinition,
 * ListTaskDefinitions, ListTaskDefinitionFamilies.
 */
import { clientError, invalidParam } from "../../errors.js";
import { validateTaskDefinition } from "../../fargate.js";
import { arr, obj, paginate, str, tagsOf } from "../../util.js";
import type { TaskDef } from "../model.js";
import { lastSegment, type EcsState } from "../state.js";
import { tdJson } from "../views.js";
import type { ApiCtx } from "./context.js";

/** What ECS fills in on registration: defaults for container fields, hostPort/protocol, compatibilities. */
function normalisedBody(input: Record<string, unknown>, sizes: { cpu?: string; memory?: string }): Record<string, unknown> {
  const { tags: _tags, ...rest } = input;
  const containerDefinitions = (arr(input.containerDefinitions) ?? []).map((raw) => {
    const c = obj(raw)!;
    const ports = arr(c.portMappings);
    return {
      cpu: 0,
      portMappings: [],
      essential: true,
      environment: [],
      mountPoints: [],
      volumesFrom: [],
      ...c,
      ...(ports
        ? {
            portMappings: ports.map((p) => {
              const pm = obj(p) ?? {};
              return { ...pm, hostPort: pm.hostPort ?? pm.containerPort, protocol: pm.protocol ?? "tcp" };
            }),
          }
        : {}),
    };
  });
  const compat = (arr(input.requiresCompatibilities) ?? []).map(String);
  return {
    ...rest,
    containerDefinitions,
    volumes: arr(input.volumes) ?? [],
    placementConstraints: arr(input.placementConstraints) ?? [],
    requiresAttributes: [],
    compatibilities: compat.includes("FARGATE") ? ["EC2", "FARGATE"] : ["EC2"],
    ...(sizes.cpu !== undefined ? { cpu: sizes.cpu } : {}),
    ...(sizes.memory !== undefined ? { memory: sizes.memory } : {}),
  };
}

export function registerTaskDefinition(ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx): Record<string, unknown> {
  const sizes = validateTaskDefinition(input);
  const family = str(input.family)!;
  const revs = ecs.families.get(family) ?? [];
  const revision = (revs[revs.length - 1]?.revision ?? 0) + 1;
  const td: TaskDef = {
    family,
    revision,
    arn: `arn:aws:ecs:${ecs.region}:${ecs.account}:task-definition/${family}:${revision}`,
    body: normalisedBody(input, sizes),
    status: "ACTIVE",
    registeredAt: ctx.now,
    tags: tagsOf(input.tags),
  };
  revs.push(td);
  ecs.families.set(family, revs);
  ecs.touch();
  return { ...tdJson(td, true) };
}

export function describeTaskDefinition(ecs: EcsState, input: Record<string, unknown>): Record<string, unknown> {
  const td = ecs.taskDefOf(str(input.taskDefinition), () => clientError("Unable to describe task definition."));
  return tdJson(td, (arr(input.include) ?? []).includes("TAGS"));
}

export function deregisterTaskDefinition(ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx): Record<string, unknown> {
  const ref = str(input.taskDefinition);
  if (ref !== undefined) ecs.checkOwnArn(ref);
  const short = ref?.startsWith("arn:") ? lastSegment(ref) : ref;
  if (short === undefined || !/:\d+$/.test(short)) throw clientError("Invalid revision number. Number: " + (short?.split(":")[1] ?? ""));
  const td = ecs.taskDefOf(short, () => clientError("The specified task definition does not exist."));
  if (td.status === "ACTIVE") {
    td.status = "INACTIVE";
    td.deregisteredAt = ctx.now;
    ecs.touch();
  }
  return tdJson(td);
}

export function listTaskDefinitions(ecs: EcsState, input: Record<string, unknown>): Record<string, unknown> {
  const prefix = str(input.familyPrefix);
  const status = str(input.status) ?? "ACTIVE";
  const sort = str(input.sort) ?? "ASC";
  if (!["ASC", "DESC"].includes(sort)) throw invalidParam("sort must be ASC or DESC.");
  const all: TaskDef[] = [];
  for (const f of [...ecs.families.keys()].sort()) {
    // familyPrefix matches the whole family name, as ECS does.
    if (prefix !== undefined && f !== prefix) continue;
    for (const td of ecs.families.get(f)!) if (td.status === status) all.push(td);
  }
  if (sort === "DESC") all.reverse();
  const page = paginate(all.map((t) => t.arn), input.maxResults, input.nextToken, 100);
  return { taskDefinitionArns: page.items, nextToken: page.nextToken };
}

export function listTaskDefinitionFamilies(ecs: EcsState, input: Record<string, unknown>): Record<string, unknown> {
  const prefix = str(input.familyPrefix) ?? "";
  const status = str(input.status) ?? "ACTIVE";
  const fams = [...ecs.families.entries()]
    .filter(([f, revs]) => f.startsWith(prefix) && (status === "ALL" || revs.some((r) => r.status === status)))
    .map(([f]) => f)
    .sort();
  const page = paginate(fams, input.maxResults, input.nextToken, 100);
  return { families: page.items, nextToken: page.nextToken };
}
