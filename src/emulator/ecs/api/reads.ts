/**
 * The reads that can be served eventually consistent: DescribeServices, ListTasks, DescribeTasks,
 * ListServiceDeployments, DescribeServiceDeployments. Each asks the view picker which state it sees (live, or a
 * snapshot while a consistency rule makes the service stale). https://docs.aws.amazon.com/AmazonECS/latest/APIReference/Welcome.html
 * ("The Amazon ECS API follows an eventual consistency model").
 */
import { AwsApiError, invalidParam } from "../../errors.js";
import { arr, num, obj, paginate, requireString, str } from "../../util.js";
import { clusterTasks } from "../read-view.js";
import { lastSegment, type EcsState } from "../state.js";
import type { ApiCtx } from "./context.js";

const keyOf = (clusterName: string, ref: string): string => `${clusterName}/${ref.startsWith("arn:") ? lastSegment(ref) : ref}`;

export function describeServices(ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx): Record<string, unknown> {
  const cluster = ecs.clusterOf(input);
  const refs = (arr(input.services) ?? []).map(String);
  if (refs.length === 0 || refs.length > 10) throw invalidParam("services must contain between 1 and 10 items.");
  const withTags = (arr(input.include) ?? []).includes("TAGS");
  const services: unknown[] = [];
  const failures: unknown[] = [];
  for (const ref of refs) {
    ecs.checkOwnArn(ref);
    const key = keyOf(cluster.name, ref);
    const json = ctx.view(key).service(key);
    if (json) {
      const { tags, ...rest } = json;
      services.push(withTags ? { ...rest, tags } : rest);
    } else {
      failures.push({ arn: ref.startsWith("arn:") ? ref : `arn:aws:ecs:${cluster.region}:${ecs.account}:service/${cluster.name}/${ref}`, reason: "MISSING" });
    }
  }
  return { services, failures };
}

const clusterKeys = (ecs: EcsState, clusterName: string): string[] => [...ecs.services.keys()].filter((k) => k.startsWith(`${clusterName}/`));

export function listTasks(ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx): Record<string, unknown> {
  const cluster = ecs.clusterOf(input);
  const serviceName = str(input.serviceName);
  const svcKey = serviceName !== undefined ? keyOf(cluster.name, ecs.serviceOf(cluster, serviceName).name) : undefined;
  const family = str(input.family);
  const startedBy = str(input.startedBy);
  const desiredStatus = str(input.desiredStatus) ?? "RUNNING";
  if (!["RUNNING", "PENDING", "STOPPED"].includes(desiredStatus)) throw invalidParam("desiredStatus must be RUNNING, PENDING or STOPPED.");
  const list = clusterTasks(ctx.view, cluster, clusterKeys(ecs, cluster.name))
    .filter(
      (t) =>
        (svcKey === undefined || t.serviceKey === svcKey) &&
        (family === undefined || t.family === family) &&
        (startedBy === undefined || t.startedBy === startedBy) &&
        (desiredStatus === "PENDING"
          ? t.desiredStatus === "RUNNING" && ["PROVISIONING", "PENDING", "ACTIVATING"].includes(t.lastStatus)
          : t.desiredStatus === desiredStatus),
    )
    .sort((a, b) => a.createdAt - b.createdAt)
    .map((t) => t.arn);
  const page = paginate(list, input.maxResults, input.nextToken, 100);
  return { taskArns: page.items, nextToken: page.nextToken };
}

export function describeTasks(ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx): Record<string, unknown> {
  const cluster = ecs.clusterOf(input);
  const refs = (arr(input.tasks) ?? []).map(String);
  if (refs.length === 0 || refs.length > 100) throw invalidParam("tasks must contain between 1 and 100 items.");
  const withTags = (arr(input.include) ?? []).includes("TAGS");
  const rows = new Map(clusterTasks(ctx.view, cluster, clusterKeys(ecs, cluster.name)).map((r) => [r.id, r]));
  const tasks: unknown[] = [];
  const failures: unknown[] = [];
  for (const ref of refs) {
    ecs.checkOwnArn(ref);
    const row = rows.get(lastSegment(ref));
    if (row) {
      const { tags, ...rest } = row.json();
      tasks.push(withTags ? { ...rest, tags } : rest);
    } else {
      failures.push({ arn: ref.startsWith("arn:") ? ref : `arn:aws:ecs:${cluster.region}:${ecs.account}:task/${cluster.name}/${ref}`, reason: "MISSING" });
    }
  }
  return { tasks, failures };
}

export function listServiceDeployments(ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx): Record<string, unknown> {
  const cluster = ecs.clusterOf(input);
  const ref = requireString(input, "service");
  ecs.checkOwnArn(ref);
  const key = keyOf(cluster.name, ref);
  const rows = ctx.view(key).history(key);
  if (!rows) throw new AwsApiError("ServiceNotFoundException", "Service not found.");
  const statuses = (arr(input.status) ?? []).map(String);
  const created = obj(input.createdAt);
  const before = num(created?.before);
  const after = num(created?.after);
  const list = rows.filter(
    (r) =>
      (statuses.length === 0 || statuses.includes(r.status)) &&
      (before === undefined || r.createdAt / 1000 <= before) &&
      (after === undefined || r.createdAt / 1000 >= after),
  );
  const page = paginate(list, input.maxResults, input.nextToken, 20, 100);
  return { serviceDeployments: page.items.map((r) => r.json), nextToken: page.nextToken };
}

/** `arn:…:service-deployment/<cluster>/<service>/<id>` → `<cluster>/<service>`. */
const deploymentServiceKey = (arn: string): string | undefined => /:service-deployment\/([^/]+\/[^/]+)\/[^/]+$/.exec(arn)?.[1];

export function describeServiceDeployments(ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx): Record<string, unknown> {
  const arns = (arr(input.serviceDeploymentArns) ?? []).map(String);
  if (arns.length === 0 || arns.length > 20) throw invalidParam("serviceDeploymentArns must contain between 1 and 20 items.");
  const serviceDeployments: unknown[] = [];
  const failures: unknown[] = [];
  for (const a of arns) {
    const hit = ctx.view(deploymentServiceKey(a)).serviceDeployment(a);
    if (hit) serviceDeployments.push(hit.json);
    else failures.push({ arn: a, reason: "MISSING", detail: "The service deployment does not exist." });
  }
  return { serviceDeployments, failures };
}

