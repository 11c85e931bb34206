/**
 * One isolated world per schedule: an emulator, a fault proxy in front of it (the tool's only way in), the ECR
 * repositories and images, and a baseline — every service already serving revision "A", set up with the SDK
 * directly (never with the tool under test, so a broken engine cannot corrupt the oracle's starting point).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BatchDeleteImageCommand, ECRClient } from "@aws-sdk/client-ecr";
import { CreateServiceCommand, ECSClient, RegisterTaskDefinitionCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { Project } from "../../../src/adapters/files.js";
import { repositoryName, serviceName, type ComponentName } from "../../../src/core/catalogue.js";
import type { Environment } from "../../../src/core/environment.js";
import { renderService, renderTaskDefinition } from "../../../src/core/render.js";
import { makeTag, type ParsedTag } from "../../../src/core/tag.js";
import { startEmulator, type CallRecord, type Emulator, type Scenario } from "../../../src/emulator/index.js";
import { REPO_ROOT } from "../cli.js";
import { startProxy, type FaultProxy } from "./proxy.js";
import type { EmuState } from "./state.js";
import { primaryOf, serviceOf, toWallClock } from "./state.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

/** Baseline, release and third-party commits. */
export const SHA = { A: "a0a0a0a0a0a1", B: "b0b0b0b0b0b2", C: "c0c0c0c0c0c3" } as const;
export type ShaName = keyof typeof SHA;

/** Tens of milliseconds per lifecycle step: a 3-task rolling update takes a few hundred ms. */
export const WORLD_TIMING: NonNullable<Scenario["timing"]> = { provisioningMs: 15, pendingMs: 20, healthCheckMs: 25, drainMs: 10, stopMs: 10, stabilizeMs: 70, tickMs: 4 };

export interface Baseline {
  taskDefinition: string;
  desiredCount: number;
  deploymentId: string;
}

export interface World {
  emu: Emulator;
  proxy: FaultProxy;
  ecs: ECSClient;
  ecr: ECRClient;
  env: Environment;
  project: Project;
  components: ComponentName[];
  /** Records land here: <dir>/<component>.json. */
  dir: string;
  tag(c: ComponentName, sha: ShaName): ParsedTag;
  digest(c: ComponentName, sha: ShaName): string | undefined;
  baseline: Map<ComponentName, Baseline>;
  state(): Promise<EmuState>;
  calls(): CallRecord[];
  recordPath(c: ComponentName): string;
  /** Registers the rendered task definition of `sha` (digest-pinned) with the SDK; returns its ARN. */
  register(c: ComponentName, sha: ShaName): Promise<string>;
  /** Another client (a colleague, a console click) deploys `taskDefinition` to the service. */
  thirdPartyDeploy(c: ComponentName, taskDefinition: string): Promise<void>;
  setDesired(c: ComponentName, n: number): Promise<void>;
  deleteImage(c: ComponentName, sha: ShaName): Promise<void>;
  /** POST /_emulator/actions (task retirement, AZ rebalancing): what AWS does at a moment of its choosing. */
  action(a: Record<string, unknown>): Promise<{ status: number; body: unknown }>;
  waitSteady(cs: readonly ComponentName[], timeoutMs?: number): Promise<EmuState>;
  close(): Promise<void>;
}

export interface WorldOptions {
  components: ComponentName[];
  /** Images pushed to ECR per component (default A, B, C). */
  push?: (c: ComponentName) => ShaName[];
  seed?: number;
  /** Project root for rendering (a temporary copy when the environment is modified). */
  root?: string;
  /** Skip the baseline services (first-deployment scenarios). */
  noBaseline?: boolean;
}

const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The shape of a release record left by a previous run, to prove each run replaces it. */
export function staleRecord(c: ComponentName): Record<string, unknown> {
  return {
    schemaVersion: 1,
    tool: { name: "lgtm-deploy", version: "0.0.0-previous-run" },
    command: "deploy",
    component: c,
    environment: "local",
    cluster: "lgtm",
    service: serviceName(c),
    startedAt: "2001-02-03T04:05:06.000Z",
    finishedAt: "2001-02-03T04:06:06.000Z",
    verdict: "succeeded",
    exitCode: 0,
    failureReasons: [],
    runId: "stale-previous-run",
  };
}

export async function startWorld(opts: WorldOptions): Promise<World> {
  const emu = await startEmulator({ port: 0, scenario: { seed: opts.seed ?? 1, timing: WORLD_TIMING }, maxLifetimeMs: 5 * 60_000 });
  const proxy = await startProxy(emu.url);
  const ecs = new ECSClient({ endpoint: emu.url, region: "us-east-1", credentials, maxAttempts: 10 });
  const ecr = new ECRClient({ endpoint: emu.url, region: "us-east-1", credentials, maxAttempts: 10 });
  const project = new Project(opts.root ?? REPO_ROOT);
  const env = project.environment("local");
  const dir = mkdtempSync(path.join(tmpdir(), "lgtm-inv-"));
  const digests = new Map<string, string>();
  const tag = (c: ComponentName, sha: ShaName): ParsedTag => makeTag({ version: project.version(c), sha: SHA[sha] });
  const baseline = new Map<ComponentName, Baseline>();

  const state = async (): Promise<EmuState> => toWallClock((await (await fetch(`${emu.url}/_emulator/state`)).json()) as EmuState);
  const register = async (c: ComponentName, sha: ShaName): Promise<string> => {
    const t = tag(c, sha);
    const input = renderTaskDefinition(c, env, { tag: t, digest: digests.get(`${c}:${sha}`) }, project.templates(c).taskDefinition);
    const out = await ecs.send(new RegisterTaskDefinitionCommand(input));
    return out.taskDefinition!.taskDefinitionArn!;
  };
  const waitSteady = async (cs: readonly ComponentName[], timeoutMs = 10_000): Promise<EmuState> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await state();
      const ok = cs.every((c) => {
        const svc = serviceOf(s, c);
        const p = svc && primaryOf(svc);
        return svc && p && svc.deployments.length === 1 && p.rolloutState === "COMPLETED" && p.runningCount === p.desiredCount;
      });
      if (ok) return s;
      if (Date.now() > deadline) throw new Error(`baseline did not settle: ${JSON.stringify(cs.map((c) => serviceOf(s, c)?.deployments))}`);
      await sleep(10);
    }
  };

  const world: World = {
    emu,
    proxy,
    ecs,
    ecr,
    env,
    project,
    components: opts.components,
    dir,
    tag,
    digest: (c, sha) => digests.get(`${c}:${sha}`),
    baseline,
    state,
    // The call log's `time` is simulated on emulators with a clock of their own; the oracle reads wall time.
    calls: () => emu.calls().map((k) => ((k as { wallTime?: string }).wallTime ? { ...k, time: (k as { wallTime?: string }).wallTime! } : k)),
    recordPath: (c) => path.join(dir, `${c}.json`),
    register,
    thirdPartyDeploy: async (c, taskDefinition) => {
      await ecs.send(new UpdateServiceCommand({ cluster: env.cluster, service: serviceName(c), taskDefinition, forceNewDeployment: true }));
    },
    setDesired: async (c, n) => {
      await ecs.send(new UpdateServiceCommand({ cluster: env.cluster, service: serviceName(c), desiredCount: n }));
    },
    deleteImage: async (c, sha) => {
      // The harness's own action goes through the emulator's API faults too (api["*"]): retried until it lands, or an
      // "expired" image would stay and a healthy release be expected to fail (seed 123456 #67, errorRate 0.21).
      for (let attempt = 1; ; attempt++) {
        try {
          const out = await ecr.send(new BatchDeleteImageCommand({ repositoryName: repositoryName(c, env.ecr.repositoryPrefix), imageIds: [{ imageTag: tag(c, sha).tag }] }));
          if ((out.imageIds ?? []).length > 0) return;
          throw new Error(`BatchDeleteImage deleted nothing: ${JSON.stringify(out.failures ?? [])}`);
        } catch (error) {
          if (attempt >= 20) throw error;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    },
    action: async (a) => {
      const r = await fetch(`${emu.url}/_emulator/actions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(a) });
      return { status: r.status, body: await r.json().catch(() => undefined) };
    },
    waitSteady,
    close: async () => {
      await proxy.close();
      ecs.destroy();
      ecr.destroy();
      await emu.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    const { createCluster, createRepository, pushManifest } = await import("../../../src/rehearsal/seed.js");
    // The seed helpers use only the ECS and ECR clients.
    const clients = { ecs, ecr } as unknown as Parameters<typeof createCluster>[0];
    await createCluster(clients, env);
    for (const c of opts.components) {
      await createRepository(clients, env, c);
      for (const sha of opts.push?.(c) ?? (["A", "B", "C"] as ShaName[])) digests.set(`${c}:${sha}`, await pushManifest(clients, env, c, tag(c, sha).tag));
    }
    if (!opts.noBaseline) {
      for (const c of opts.components) {
        const td = await register(c, "A");
        const input = renderService(c, env, { tag: tag(c, "A"), digest: digests.get(`${c}:A`) }, project.templates(c).service);
        await ecs.send(new CreateServiceCommand({ ...input, taskDefinition: td }));
      }
      const s = await waitSteady(opts.components);
      for (const c of opts.components) {
        const p = primaryOf(serviceOf(s, c)!)!;
        baseline.set(c, { taskDefinition: p.taskDefinition, desiredCount: p.desiredCount, deploymentId: p.id });
      }
    }
    mkdirSync(dir, { recursive: true });
    for (const c of opts.components) writeFileSync(world.recordPath(c), `${JSON.stringify(staleRecord(c), null, 2)}\n`);
    emu.clearCalls();
  } catch (error) {
    await world.close();
    throw error;
  }
  return world;
}
