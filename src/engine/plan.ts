/**
 * Plan, then apply: everything a release needs is checked read-only before the first change. The cluster is ACTIVE;
 * every service exists (or --create-missing); no deployment is in flight (or --wait-for-idle); every image is in ECR
 * and resolved to its digest; every rollback target is usable (a completed PRIMARY that runs tasks, ACTIVE, its image
 * still in ECR); desired counts are not 0 (or --allow-zero-desired); bakes fit the deadlines. Any problem stops the
 * whole release with one line naming it, exit 2 or 5, and no change.
 */
import type { Service } from "@aws-sdk/client-ecs";
import type { AwsClients } from "../adapters/aws.js";
import type { Clock } from "../adapters/clock.js";
import * as ecs from "../adapters/ecs.js";
import { defaultBakeMs } from "../core/bake.js";
import { repositoryName, serviceName, type ComponentName } from "../core/catalogue.js";
import type { Environment } from "../core/environment.js";
import { PreconditionError } from "../core/errors.js";
import { shortTd } from "../core/names.js";
import { imageReference, renderService, renderTaskDefinition, type Templates } from "../core/render.js";
import { EMPTY_GRACE_MS, busyDeployment, notATarget } from "../core/rollout.js";
import { releaseSettings } from "../core/service-settings.js";
import type { ParsedTag } from "../core/tag.js";
import { requireCluster } from "../commands/context.js";
import { checkBake, rulesFor, type ResolvedWatchFlags } from "../commands/release-options.js";
import type { ComponentPlan } from "./driver.js";
import { resolveDigest } from "./images.js";
import { describeRevision, unusable } from "./targets.js";

export interface DeployItem {
  component: ComponentName;
  tag: ParsedTag;
  templates: Templates;
  recordPath: string;
  /** The timeouts in force for this component (its defaults, or the flags). */
  timeoutMs: number;
  rollbackTimeoutMs: number;
}

export interface PlanContext {
  env: Environment;
  clients: AwsClients;
  /** timeout: the whole release's bound (the longest component's), for waiting for idle services. */
  flags: ResolvedWatchFlags;
  clock: Clock;
  signal: AbortSignal;
  /** Progress while waiting for idle services. */
  say: (component: string, message: string) => void;
}

export interface PlannedComponent extends ComponentPlan {
  /** The service as the plan saw it (undefined: it will be created). */
  service: Service | undefined;
}

/** Read-only: the environment's cluster exists and is ACTIVE (one message for every command: commands/context.ts). */
export const checkCluster = requireCluster;

/** The services, once none of them has a deployment in flight (or exit 5 naming them, without --wait-for-idle). */
export async function servicesWhenIdle(names: readonly string[], c: PlanContext): Promise<Map<string, Service | undefined>> {
  const start = c.clock.now();
  const deadline = start + c.flags.timeout;
  for (;;) {
    const services = await ecs.describeServices(c.clients.ecs, c.env.cluster, names, { timeoutMs: 30_000 });
    const busy = names.flatMap((n) => {
      const svc = services.get(n);
      const d = svc?.status === "ACTIVE" ? busyDeployment(svc) : undefined;
      return d ? [`${n}: deployment ${d.id} (${shortTd(d.taskDefinition)}, rollout ${d.rolloutState ?? "n/a"}) is still in progress`] : [];
    });
    // A COMPLETED PRIMARY running nothing may be AWS replacing a task (AZ rebalancing, retirement): look again for a
    // few seconds before the rollback-target check refuses it (the re-check before UpdateService does the same).
    const empty = names.some((n) => emptyCompleted(services.get(n)));
    const next = c.clock.now() + c.flags.pollInterval;
    if (busy.length === 0 && empty && next - start <= EMPTY_GRACE_MS && next < deadline && !c.signal.aborted) {
      await c.clock.sleep(c.flags.pollInterval, c.signal);
      continue;
    }
    if (busy.length === 0) return services;
    if (!c.flags.waitForIdle) throw new PreconditionError(`${busy.join("\n")}\nnothing was changed: wait for it to finish or pass --wait-for-idle`);
    if (c.clock.now() >= deadline || c.signal.aborted) throw new PreconditionError(`gave up waiting for idle services (nothing was changed):\n${busy.join("\n")}`);
    for (const b of busy) c.say(b.split(":")[0]!.replace(/^lgtm-/, ""), `waiting for idle: ${b}`);
    await c.clock.sleep(c.flags.pollInterval, c.signal);
  }
}

function emptyCompleted(svc: Service | undefined): boolean {
  const p = svc?.status === "ACTIVE" ? svc.deployments?.find((d) => d.status === "PRIMARY") : undefined;
  return p?.rolloutState === "COMPLETED" && (p.runningCount ?? 0) === 0 && (p.pendingCount ?? 0) === 0 && (svc?.desiredCount ?? 0) > 0;
}

/** The rollback target a release would return to: a healthy PRIMARY whose revision ECS can still start. */
async function checkRollbackTarget(component: ComponentName, svc: Service, c: PlanContext): Promise<string> {
  const primary = svc.deployments?.find((d) => d.status === "PRIMARY")?.taskDefinition ?? svc.taskDefinition ?? "";
  if (!c.flags.rollback) return primary;
  const bad = notATarget(svc);
  if (bad !== undefined) throw new PreconditionError(`${svc.serviceName} ${bad}: that is not a revision to roll back to, so a failed release would have no way back; make it healthy first (lgtm-deploy rollback ${component} --to <revision>) or pass --no-rollback`);
  const rev = await describeRevision(c.clients.ecs, primary, component);
  const why = rev === undefined ? `${shortTd(primary)} cannot be described` : await unusable(c.clients, c.env, rev);
  if (why !== undefined) throw new PreconditionError(`the revision to roll back to if this release fails: ${why}; a failed release could not roll back (push the image again, or pass --no-rollback)`);
  return primary;
}

export async function planDeploy(items: readonly DeployItem[], c: PlanContext, o: { createMissing: boolean }): Promise<PlannedComponent[]> {
  const { env, clients, flags } = c;
  // Images first: a missing image is the most common first mistake, and its message says how to get one.
  const digests = new Map<ComponentName, string>();
  for (const item of items) digests.set(item.component, await resolveDigest(clients.ecr, repositoryName(item.component, env.ecr.repositoryPrefix), item.tag.tag, env.ecr.registry));
  await checkCluster(clients, env);
  const services = await servicesWhenIdle(items.map((i) => serviceName(i.component)), c);
  const missing = items.filter((i) => services.get(serviceName(i.component))?.status !== "ACTIVE").map((i) => serviceName(i.component));
  if (missing.length > 0 && !o.createMissing) {
    throw new PreconditionError(missing.map((n) => `service "${n}" does not exist in cluster "${env.cluster}"; pass --create-missing for the first release`).join("\n"));
  }
  const plans: PlannedComponent[] = [];
  for (const item of items) {
    const name = serviceName(item.component);
    const svc = services.get(name);
    const exists = svc?.status === "ACTIVE";
    const digest = digests.get(item.component)!;
    const image = { tag: item.tag, digest };
    const register = renderTaskDefinition(item.component, env, image, item.templates.taskDefinition);
    const create = renderService(item.component, env, image, item.templates.service);
    const breaker = create.deploymentConfiguration?.deploymentCircuitBreaker;
    if (breaker?.thresholdConfiguration) breaker.thresholdConfiguration.value = flags.maxFailedTasks;
    const bakeMs = flags.bake ?? defaultBakeMs(register);
    const own = { ...flags, timeout: item.timeoutMs, rollbackTimeout: item.rollbackTimeoutMs };
    checkBake(bakeMs, own, flags.bake === undefined ? `the default bake of ${item.component}` : "--bake");
    const envDesired = env.components[item.component]?.desiredCount;
    const desired = envDesired ?? (exists ? svc!.desiredCount : create.desiredCount) ?? 0;
    if (desired === 0 && !flags.allowZeroDesired) {
      throw new PreconditionError(`${name} would run 0 tasks (desired count 0${envDesired === 0 ? ` from ${env.file}` : ""}): nothing could be verified; nothing was changed (--allow-zero-desired to release anyway)`);
    }
    const running = exists ? await checkRollbackTarget(item.component, svc!, c) : null;
    plans.push({
      component: item.component,
      spec: { component: item.component, service: name, command: "deploy", existingTd: null, creates: !exists, settings: releaseSettings(create, envDesired), plannedPrevious: running, rules: rulesFor(own, bakeMs) },
      register,
      ...(exists ? {} : { create }),
      image: imageReference(item.component, env, image),
      digest,
      tag: item.tag,
      recordPath: item.recordPath,
      essentialContainers: (register.containerDefinitions ?? []).filter((d) => d.essential !== false).map((d) => d.name!),
      service: svc,
    });
  }
  return plans;
}
