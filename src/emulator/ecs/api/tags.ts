/** TagResource, UntagResource, ListTagsForResource for clusters, services, task definitions and tasks. */
import { AwsApiError, invalidParam } from "../../errors.js";
import { arr, requireString, tagsOf, type Tag } from "../../util.js";
import type { EcsState } from "../state.js";

function taggable(ecs: EcsState, arn: string): { tags: Tag[] } {
  ecs.checkOwnArn(arn);
  const m = /^arn:aws:ecs:[a-z0-9-]+:\d{12}:(cluster|service|task-definition|task)\/(.+)$/.exec(arn);
  const kind = m?.[1];
  const rest = m?.[2] ?? "";
  const found =
    kind === "cluster"
      ? ecs.clusters.get(rest)
      : kind === "service"
        ? ecs.services.get(rest.includes("/") ? rest : `default/${rest}`)
        : kind === "task-definition"
          ? ecs.families.get(rest.split(":")[0]!)?.find((t) => t.arn === arn)
          : kind === "task"
            ? ecs.tasks.get(arn)
            : undefined;
  if (!found) {
    if (kind === "service") throw new AwsApiError("ServiceNotFoundException", "Service not found.");
    if (kind === "cluster") throw new AwsApiError("ClusterNotFoundException", "Cluster not found.");
    throw invalidParam(`The specified resource could not be found: ${arn}`);
  }
  return found;
}

export function tagResource(ecs: EcsState, input: Record<string, unknown>): Record<string, unknown> {
  const holder = taggable(ecs, requireString(input, "resourceArn"));
  for (const tag of tagsOf(input.tags)) {
    const existing = holder.tags.find((x) => x.key === tag.key);
    if (existing) existing.value = tag.value;
    else holder.tags.push(tag);
  }
  ecs.touch();
  return {};
}

export function untagResource(ecs: EcsState, input: Record<string, unknown>): Record<string, unknown> {
  const holder = taggable(ecs, requireString(input, "resourceArn"));
  const keys = (arr(input.tagKeys) ?? []).map(String);
  holder.tags = holder.tags.filter((x) => !keys.includes(x.key));
  ecs.touch();
  return {};
}

export function listTagsForResource(ecs: EcsState, input: Record<string, unknown>): Record<string, unknown> {
  return { tags: taggable(ecs, requireString(input, "resourceArn")).tags };
}
