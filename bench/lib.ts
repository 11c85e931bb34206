/** Shared bench plumbing: an emulator seeded like a real migration, and a neutral observer of the service. */
import { DescribeServicesCommand, DescribeTasksCommand, ListTasksCommand, RegisterTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { execa } from "execa";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createAwsClients, type AwsClients } from "../src/adapters/aws.js";
import { Project } from "../src/adapters/files.js";
import type { ComponentName } from "../src/core/catalogue.js";
import { renderService, renderTaskDefinition } from "../src/core/render.js";
import { makeTag } from "../src/core/tag.js";
import { startEmulator, type Emulator, type Scenario } from "../src/emulator/index.js";
import { createCluster, createRepository, pushManifest } from "../src/rehearsal/seed.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const BUNDLE = path.join(ROOT, "resources", "lgtm", "lgtm-deploy.mjs");
export const project = new Project(ROOT);
export const env = project.environment("local");

export interface Seeded {
  emu: Emulator;
  clients: AwsClients;
  tags: Record<string, string>;
  digests: Record<string, string>;
  close(): Promise<void>;
}

export async function seeded(components: readonly ComponentName[], shas: Record<string, string>, scenario: Scenario): Promise<Seeded> {
  const emu = await startEmulator({ port: 0, scenario, maxLifetimeMs: 60 * 60_000 });
  const clients = await createAwsClients({ region: env.region, endpointUrl: emu.url, env: {} });
  await createCluster(clients, env);
  const tags: Record<string, string> = {};
  const digests: Record<string, string> = {};
  for (const c of components) {
    await createRepository(clients, env, c);
    for (const [name, sha] of Object.entries(shas)) {
      const tag = makeTag({ version: project.version(c), sha }).tag;
      tags[`${c}:${name}`] = tag;
      digests[`${c}:${name}`] = await pushManifest(clients, env, c, tag);
    }
  }
  return {
    emu,
    clients,
    tags,
    digests,
    close: async () => {
      clients.destroy();
      await emu.close();
    },
  };
}

export async function bundle(args: string[], extraEnv: Record<string, string> = {}) {
  return execa(process.execPath, [BUNDLE, ...args], { reject: false, cwd: ROOT, env: { NO_COLOR: "1", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...extraEnv } });
}

/** Registers a rendered task definition directly (for the baselines that do not use lgtm-deploy). */
export async function registerRendered(s: Seeded, component: ComponentName, name: string): Promise<string> {
  const tag = makeTag({ version: project.version(component), sha: s.tags[`${component}:${name}`]!.split("_g")[1]! });
  const input = renderTaskDefinition(component, env, { tag, digest: s.digests[`${component}:${name}`]! }, project.templates(component).taskDefinition);
  const out = await s.clients.ecs.send(new RegisterTaskDefinitionCommand(input));
  return out.taskDefinition!.taskDefinitionArn!;
}

export function createServiceInput(component: ComponentName, s: Seeded, name: string) {
  const tag = makeTag({ version: project.version(component), sha: s.tags[`${component}:${name}`]!.split("_g")[1]! });
  return renderService(component, env, { tag }, project.templates(component).service);
}

export interface Timeline {
  firstFailedTaskAt?: number;
  rollbackIssuedAt?: number;
  healthyAgainAt?: number;
}

/**
 * Watches a service from outside every 100 ms: when the first task of the bad revision stopped, when a deployment
 * back to the good revision appeared, and when the service was steady on it again.
 */
export async function observe(s: Seeded, service: string, badTd: () => string | undefined, goodTd: string, since: number): Promise<{ timeline: Timeline; stop(): void }> {
  const timeline: Timeline = {};
  const observer = await createAwsClients({ region: env.region, endpointUrl: s.emu.url, env: {} }, undefined);
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const now = Date.now();
      try {
        const svc = (await observer.ecs.send(new DescribeServicesCommand({ cluster: env.cluster, services: [service] }))).services?.[0];
        const deps = svc?.deployments ?? [];
        const bad = badTd();
        if (timeline.firstFailedTaskAt === undefined && bad) {
          const arns = (await observer.ecs.send(new ListTasksCommand({ cluster: env.cluster, serviceName: service, desiredStatus: "STOPPED" }))).taskArns ?? [];
          if (arns.length > 0) {
            const tasks = (await observer.ecs.send(new DescribeTasksCommand({ cluster: env.cluster, tasks: arns }))).tasks ?? [];
            const failed = tasks.filter((t) => t.taskDefinitionArn === bad && t.stoppedAt && t.stoppedAt.getTime() >= since && (t.containers ?? []).some((c) => (c.exitCode ?? 0) !== 0));
            if (failed.length > 0) timeline.firstFailedTaskAt = Math.min(...failed.map((t) => t.stoppedAt!.getTime()));
          }
        }
        const back = deps.find((d) => d.status === "PRIMARY" && d.taskDefinition === goodTd && (d.createdAt?.getTime() ?? 0) >= since);
        if (back && timeline.rollbackIssuedAt === undefined) timeline.rollbackIssuedAt = back.createdAt!.getTime();
        if (back && timeline.healthyAgainAt === undefined && deps.length === 1 && back.rolloutState === "COMPLETED") timeline.healthyAgainAt = now;
      } catch {
        // observer hiccups do not matter
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    observer.destroy();
  };
  void loop();
  return { timeline, stop: () => void (stopped = true) };
}

export const seconds = (ms: number | undefined) => (ms === undefined ? "n/a" : `${(ms / 1000).toFixed(1)} s`);
