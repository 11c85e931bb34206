/**
 * Revisions to roll back to, read-only: `rollback --to previous | <revision> | <task definition ARN> | <version or tag>`,
 * and the checks every rollback target passes (deploy's captured revision too): ACTIVE, of this family, account and
 * region, its image still in ECR.
 *
 * Outcomes are kept where ECS keeps them: every release tags the revision it rolled out with `lgtm:outcome`
 * (released | rolled-back | failed); ECS's own rollbacks show in the deployment history as ROLLBACK_* statuses.
 * `previous` skips both kinds of rejected revision, and never picks one newer than the running revision.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";
import semver from "semver";
import type { AwsClients } from "../adapters/aws.js";
import * as ecs from "../adapters/ecs.js";
import type { Environment } from "../core/environment.js";
import { InvalidInputError, PreconditionError } from "../core/errors.js";
import { revisionOf, shortTd } from "../core/names.js";
import { parseTag, type ParsedTag } from "../core/tag.js";
import { imageStillThere } from "./images.js";

export const OUTCOME_TAG = "lgtm:outcome";
const REJECTED = new Set(["rolled-back", "failed"]);
const HISTORY_LIMIT = 200;
const SCAN_LIMIT = 100;

export interface Revision {
  arn: string;
  revision: number;
  status: string;
  /** The component's container image (digest-pinned for revisions lgtm-deploy registered). */
  image: string | null;
  tag: ParsedTag | null;
  registeredAt: Date | null;
  outcome: string | null;
  containerDefinitions: NonNullable<Awaited<ReturnType<typeof ecs.describeTaskDefinition>>["taskDefinition"]["containerDefinitions"]>;
}

export interface RollbackTarget extends Revision {
  how: string;
}

const notFound = (error: unknown) => ["ClientException", "InvalidParameterException"].includes((error as Error).name);

export async function describeRevision(client: ECSClient, ref: string, component: string): Promise<Revision | undefined> {
  let out;
  try {
    out = await ecs.describeTaskDefinition(client, ref, { timeoutMs: 15_000 });
  } catch (error) {
    if (notFound(error)) return undefined;
    throw error;
  }
  const td = out.taskDefinition;
  const value = (k: string) => out.tags.find((t) => t.key === k)?.value;
  let tag: ParsedTag | null = null;
  try {
    const t = value("lgtm:image-tag");
    tag = t ? parseTag(t) : null;
  } catch {
    tag = null;
  }
  const containers = td.containerDefinitions ?? [];
  const main = containers.find((c) => c.name === component) ?? containers[0];
  return { arn: td.taskDefinitionArn!, revision: td.revision ?? revisionOf(td.taskDefinitionArn) ?? 0, status: td.status ?? "ACTIVE", image: main?.image ?? null, tag, registeredAt: td.registeredAt ?? null, outcome: value(OUTCOME_TAG) ?? null, containerDefinitions: containers };
}

/** Why a revision cannot be rolled back to (undefined: it can). */
export async function unusable(clients: AwsClients, env: Environment, rev: Revision): Promise<string | undefined> {
  if (rev.status !== "ACTIVE") return `${shortTd(rev.arn)} is deregistered (${rev.status}): ECS cannot start it`;
  if (rev.image !== null && (await imageStillThere(clients.ecr, rev.image, env.ecr.registry)) === false) {
    return `${shortTd(rev.arn)} uses ${rev.image}, which ECR no longer has (expired by the lifecycle policy?)`;
  }
  return undefined;
}

const TD_ARN = /^arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\d{12}):task-definition\/([A-Za-z0-9_-]+):(\d+)$/;

export async function resolveRollbackTarget(clients: AwsClients, env: Environment, component: string, service: string, family: string, current: string | undefined, to: string): Promise<RollbackTarget> {
  if (to === "previous") return previousRevision(clients, env, component, service, current);
  if (/^\d+$/.test(to)) {
    const rev = await describeRevision(clients.ecs, `${family}:${to}`, component);
    if (rev === undefined) throw new InvalidInputError(`--to ${to}: task definition ${family}:${to} does not exist`);
    return { ...rev, how: `revision ${to}` };
  }
  if (to.startsWith("arn:")) {
    const m = TD_ARN.exec(to);
    if (m === null) throw new InvalidInputError(`--to ${to}: not a task definition ARN (arn:aws:ecs:<region>:<account>:task-definition/${family}:<revision>)`);
    const [, , region, account, fam] = m;
    if (account !== env.account || region !== env.region) {
      throw new InvalidInputError(`--to ${to}: belongs to account ${account} in ${region}, but environment ${env.name} is account ${env.account} in ${env.region} (ARNs are never rewritten)`);
    }
    if (fam !== family) throw new InvalidInputError(`--to ${to}: belongs to family ${fam}, not ${family}`);
    const rev = await describeRevision(clients.ecs, to, component);
    if (rev === undefined) throw new InvalidInputError(`--to ${to}: task definition does not exist`);
    return { ...rev, how: "task definition ARN" };
  }
  return byVersion(clients, component, family, current, to);
}

async function previousRevision(clients: AwsClients, env: Environment, component: string, service: string, current: string | undefined): Promise<RollbackTarget> {
  const history = await ecs.deploymentHistory(clients.ecs, env.cluster, service, HISTORY_LIMIT, { timeoutMs: 30_000 });
  // A deployment ECS rolled back (breaker, alarm, StopServiceDeployment) names the revision that failed.
  const rolledBack = new Set(history.filter((d) => d.status?.startsWith("ROLLBACK")).map((d) => d.taskDefinition).filter(Boolean));
  const currentRev = revisionOf(current) ?? Number.POSITIVE_INFINITY;
  const skipped: string[] = [];
  const tried = new Set<string>();
  for (const d of history) {
    const td = d.taskDefinition;
    if (d.status !== "SUCCESSFUL" || td === undefined || td === current || tried.has(td)) continue;
    tried.add(td);
    if (rolledBack.has(td)) {
      skipped.push(`${shortTd(td)} (rolled back by ECS)`);
      continue;
    }
    if ((revisionOf(td) ?? 0) > currentRev) {
      skipped.push(`${shortTd(td)} (newer than the running ${shortTd(current)})`);
      continue;
    }
    const rev = await describeRevision(clients.ecs, td, component);
    if (rev === undefined) continue;
    if (rev.outcome !== null && REJECTED.has(rev.outcome)) {
      skipped.push(`${shortTd(td)} (lgtm-deploy: ${rev.outcome})`);
      continue;
    }
    const why = await unusable(clients, env, rev);
    if (why !== undefined) {
      skipped.push(why);
      continue;
    }
    const note = skipped.length > 0 ? `; skipped ${skipped.join(", ")}` : "";
    return { ...rev, how: `previous: the last successful deployment before ${shortTd(current)} (${d.serviceDeploymentArn?.split("/").pop() ?? "?"})${note}` };
  }
  const note = skipped.length > 0 ? ` (skipped: ${skipped.join("; ")})` : "";
  throw new PreconditionError(`no earlier revision of ${service} in ECS's deployment history can be rolled back to${note}; name one with --to <revision>`);
}

async function byVersion(clients: AwsClients, component: string, family: string, current: string | undefined, to: string): Promise<RollbackTarget> {
  let wantTag: string | undefined;
  let wantVersion: string | undefined;
  try {
    wantTag = parseTag(to).tag;
  } catch {
    if (semver.valid(to) === null) throw new InvalidInputError(`--to "${to}": expected previous, a revision number, a task definition ARN, a version (1.4.2) or an image tag`);
    wantVersion = to;
  }
  const what = wantTag ? `tag ${wantTag}` : `version ${wantVersion}`;
  const matches: Revision[] = [];
  for (const arn of await ecs.listTaskDefinitionArns(clients.ecs, family, SCAN_LIMIT, { timeoutMs: 30_000 })) {
    const rev = await describeRevision(clients.ecs, arn, component);
    if (rev?.tag && (wantTag ? rev.tag.tag === wantTag : rev.tag.version === wantVersion)) matches.push(rev);
  }
  if (matches.length === 0) throw new PreconditionError(`no active revision of ${family} among the newest ${SCAN_LIMIT} carries ${what}`);
  const eligible = matches.filter((r) => r.arn !== current && !(r.outcome !== null && REJECTED.has(r.outcome)));
  if (eligible.length === 1) {
    const only = eligible[0]!;
    const newer = (revisionOf(current) ?? Number.POSITIVE_INFINITY) < only.revision ? `; newer than the running ${shortTd(current)}: this rolls forward` : "";
    const others = matches.length > 1 ? `; the other ${matches.length - 1} carrying it were rejected or are running` : "";
    return { ...only, how: `${what}${others}${newer}` };
  }
  const list = matches.map((r) => `  ${shortTd(r.arn)}  ${r.tag?.tag ?? "-"}  ${r.registeredAt?.toISOString().slice(0, 16) ?? "-"}  ${r.arn === current ? "running" : (r.outcome ?? "no outcome recorded")}`);
  const why = eligible.length === 0 ? "none of them can be rolled back to (rejected or running)" : `${eligible.length} of them are eligible`;
  throw new InvalidInputError(`--to ${to}: ${matches.length} revisions carry ${what}, ${why}; name one with --to <revision>:\n${list.join("\n")}`);
}
