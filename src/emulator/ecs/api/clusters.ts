/** CreateCluster, DescribeClusters, ListClusters. */
import { invalidParam } from "../../errors.js";
import { arr, paginate, str, tagsOf } from "../../util.js";
import { lastSegment, type EcsState } from "../state.js";
import { clusterJson } from "../views.js";
import type { ApiCtx } from "./context.js";

/** Idempotent for an existing name, as ECS is. */
export function createCluster(ecs: EcsState, input: Record<string, unknown>, ctx: ApiCtx): Record<string, unknown> {
  const name = str(input.clusterName) ?? "default";
  if (!/^[a-zA-Z0-9_-]{1,255}$/.test(name)) throw invalidParam("Cluster name contains invalid characters.");
  let c = ecs.clusters.get(name);
  if (!c) {
    c = {
      name,
      arn: `arn:aws:ecs:${ecs.region}:${ecs.account}:cluster/${name}`,
      region: ecs.region,
      account: ecs.account,
      createdAt: ctx.now,
      tags: tagsOf(input.tags),
      settings: arr(input.settings) ?? [{ name: "containerInsights", value: "disabled" }],
    };
    ecs.clusters.set(name, c);
    ecs.touch();
  }
  return { cluster: clusterJson(ecs, c) };
}

export function describeClusters(ecs: EcsState, input: Record<string, unknown>): Record<string, unknown> {
  const refs = (arr(input.clusters) ?? ["default"]).map(String);
  const withTags = (arr(input.include) ?? []).includes("TAGS");
  const clusters: unknown[] = [];
  const failures: unknown[] = [];
  for (const ref of refs) {
    ecs.checkOwnArn(ref);
    const c = ecs.clusters.get(ref.startsWith("arn:") ? lastSegment(ref) : ref);
    if (c) clusters.push(clusterJson(ecs, c, withTags));
    else failures.push({ arn: ref.startsWith("arn:") ? ref : `arn:aws:ecs:${ecs.region}:${ecs.account}:cluster/${ref}`, reason: "MISSING" });
  }
  return { clusters, failures };
}

export function listClusters(ecs: EcsState, input: Record<string, unknown>): Record<string, unknown> {
  const page = paginate([...ecs.clusters.values()].map((c) => c.arn), input.maxResults, input.nextToken, 100);
  return { clusterArns: page.items, nextToken: page.nextToken };
}
