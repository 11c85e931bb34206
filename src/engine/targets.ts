/**
 * Resolving a manual rollback target (--to): previous | <revision> | <task definition ARN> | <version or tag>.
 * "previous" comes from ECS's own deployment history: the newest deployment that completed with a task definition
 * other than the running one — not "revision - 1", which may itself be a failed release.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";
import * as ecs from "../adapters/ecs.js";
import { InvalidInputError, PreconditionError } from "../core/errors.js";
import { parseTag, type ParsedTag } from "../core/tag.js";
import semver from "semver";

export interface RollbackTarget {
  taskDefinitionArn: string;
  image: string | null;
  tag: ParsedTag | null;
  how: string;
}

// Only SUCCESSFUL: a ROLLBACK_SUCCESSFUL record's target revision is the one that failed and was rolled back.
const SUCCESSFUL = new Set(["SUCCESSFUL"]);
const SCAN_LIMIT = 100;

async function describeTarget(client: ECSClient, arnOrRevision: string, how: string): Promise<RollbackTarget> {
  const { taskDefinition, tags } = await ecs.describeTaskDefinition(client, arnOrRevision);
  const imageTag = tags.find((t) => t.key === "lgtm:image-tag")?.value;
  let tag: ParsedTag | null = null;
  try {
    tag = imageTag ? parseTag(imageTag) : null;
  } catch {
    tag = null;
  }
  return { taskDefinitionArn: taskDefinition.taskDefinitionArn!, image: taskDefinition.containerDefinitions?.[0]?.image ?? null, tag, how };
}

export async function resolveRollbackTarget(client: ECSClient, cluster: string, service: string, family: string, current: string | undefined, to: string): Promise<RollbackTarget> {
  if (to === "previous") {
    const history = await ecs.deploymentHistory(client, cluster, service, 50);
    const hit = history.find((d) => SUCCESSFUL.has(d.status ?? "") && d.taskDefinition !== undefined && d.taskDefinition !== current);
    if (hit === undefined) throw new PreconditionError(`no earlier successful deployment of ${service} in ECS's deployment history to roll back to; name a revision or version with --to`);
    return describeTarget(client, hit.taskDefinition!, `previous: the last completed deployment before the current one (${hit.serviceDeploymentArn?.split("/").pop()})`);
  }
  if (/^\d+$/.test(to)) {
    try {
      return await describeTarget(client, `${family}:${to}`, `revision ${to}`);
    } catch (error) {
      if ((error as Error).name === "ClientException" || (error as Error).name === "InvalidParameterException") throw new InvalidInputError(`--to ${to}: task definition ${family}:${to} does not exist`);
      throw error;
    }
  }
  if (to.startsWith("arn:")) {
    const m = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/([A-Za-z0-9_-]+):(\d+)$/.exec(to);
    if (m === null) throw new InvalidInputError(`--to ${to}: not a task definition ARN`);
    if (m[1] !== family) throw new InvalidInputError(`--to ${to}: belongs to family ${m[1]}, not ${family}`);
    try {
      return await describeTarget(client, to, "task definition ARN");
    } catch (error) {
      if ((error as Error).name === "ClientException" || (error as Error).name === "InvalidParameterException") throw new InvalidInputError(`--to ${to}: task definition does not exist`);
      throw error;
    }
  }
  // A version (1.4.2) or a full tag (1.4.2_gabcdef1): the newest revision whose tags say so.
  let wantTag: string | undefined;
  let wantVersion: string | undefined;
  try {
    wantTag = parseTag(to).tag;
  } catch {
    if (semver.valid(to) === null) throw new InvalidInputError(`--to "${to}": expected previous, a revision number, a task definition ARN, a version (1.4.2) or an image tag`);
    wantVersion = to;
  }
  for (const arn of await ecs.listTaskDefinitionArns(client, family, SCAN_LIMIT)) {
    const target = await describeTarget(client, arn, wantTag ? `tag ${wantTag}` : `version ${wantVersion}`);
    if (target.tag && (wantTag ? target.tag.tag === wantTag : target.tag.version === wantVersion)) return target;
  }
  throw new PreconditionError(`no active revision of ${family} among the newest ${SCAN_LIMIT} carries ${wantTag ? `tag ${wantTag}` : `version ${wantVersion}`}`);
}
