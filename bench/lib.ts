/**
 * Shared bench plumbing: an emulator on the realistic `fargate` timing profile, seeded like a real migration and
 * running `timeScale` times faster than the wall clock; services created on a known-good revision; lgtm-deploy run
 * in-process on the emulator's simulated clock; small statistics helpers.
 *
 * Why in-process on a simulated clock: lgtm-deploy's durations (poll 5 s, 1 s once a task failed, the default bake,
 * timeouts, retry backoff) are wall-clock. Passing them divided by the time scale would lose the defaults that are
 * not flags (the 1 s alarmed poll, the per-component bake). Instead `run()` (src/cli.ts) gets `io.clock`: now() is the
 * emulator's simulated time and sleep(ms) sleeps ms / timeScale, so every default keeps its meaning in simulated
 * seconds. Per-call AWS timeouts stay wall-clock (they are about the client's connection, not the rollout).
 */
import { CreateServiceCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createAwsClients, type AwsClients } from "../src/adapters/aws.js";
import { systemClock, type Clock } from "../src/adapters/clock.js";
import { Project } from "../src/adapters/files.js";
import { run } from "../src/cli.js";
import type { ComponentName } from "../src/core/catalogue.js";
import { renderService, renderTaskDefinition } from "../src/core/render.js";
import { makeTag } from "../src/core/tag.js";
import { startEmulator, type Emulator, type ImageBehavior, type Scenario } from "../src/emulator/index.js";
import { createCluster, createRepository, pushManifest } from "../src/rehearsal/seed.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const BUNDLE = path.join(ROOT, "resources", "lgtm", "lgtm-deploy.mjs");
export const project = new Project(ROOT);
export const env = project.environment("local");

/**
 * The emulator's `fargate` profile (docs/emulator.md, every value with its source), with one change: the target
 * groups' deregistration delay is the stack's 20 s for Mimir and Loki (infra/lib/routes.ts; README "What the stack
 * creates"), not the ALB default of 300 s the profile assumes. Local Mimir and Loki sit behind target groups.
 */
export const BENCH_TIMING: NonNullable<Scenario["timing"]> = { profile: "fargate", deregistrationDelayMs: 20_000 };

export const SHAS = { good: "1111111aaaaa", next: "2222222bbbbb" } as const;
export type Revision = keyof typeof SHAS;

export interface Bench {
  emu: Emulator;
  clients: AwsClients;
  components: readonly ComponentName[];
  scale: number;
  /** The emulator's simulated clock (exact: the emulator's own clock is a linear function of the wall clock). */
  clock: Clock;
  tag(component: ComponentName, rev: Revision): string;
  digest(component: ComponentName, rev: Revision): string;
  /** The ARN of the good revision every service was created with. */
  goodTd: Record<string, string>;
  dir: string;
  close(): Promise<void>;
}

export interface BenchOptions {
  timeScale: number;
  /** Behaviour of the `next` image per component (default healthy). */
  next?: Partial<Record<ComponentName, ImageBehavior>>;
  seed?: number;
  /** Emulator timings (default BENCH_TIMING); the harness test passes fast ones. */
  timing?: Scenario["timing"];
}

/** Emulator + cluster + repositories + both images; services created on `good` and COMPLETED (steady). */
export async function startBench(components: readonly ComponentName[], o: BenchOptions): Promise<Bench> {
  const emu = await startEmulator({ port: 0, timeScale: o.timeScale, scenario: { timing: o.timing ?? BENCH_TIMING, seed: o.seed ?? 3 }, maxLifetimeMs: 60 * 60_000 });
  const clients = await createAwsClients({ region: env.region, endpointUrl: emu.url, env: {} });
  const dir = mkdtempSync(path.join(os.tmpdir(), "lgtm-bench-"));
  try {
    await createCluster(clients, env);
    const digests = new Map<string, string>();
    const tag = (c: ComponentName, rev: Revision) => makeTag({ version: project.version(c), sha: SHAS[rev] }).tag;
    for (const c of components) {
      await createRepository(clients, env, c);
      for (const rev of Object.keys(SHAS) as Revision[]) digests.set(`${c}:${rev}`, await pushManifest(clients, env, c, tag(c, rev)));
    }
    const images: Record<string, ImageBehavior> = {};
    for (const [c, b] of Object.entries(o.next ?? {})) images[digests.get(`${c}:next`)!] = b;
    emu.mergeScenario({ images });
    const clock = await simulatedClock(emu.url);
    const goodTd: Record<string, string> = {};
    for (const c of components) {
      goodTd[c] = await registerRevision(clients, c, "good", digests.get(`${c}:good`)!);
      const input = renderService(c, env, { tag: makeTag({ version: project.version(c), sha: SHAS.good }) }, project.templates(c).service);
      await clients.ecs.send(new CreateServiceCommand({ ...input, taskDefinition: goodTd[c] }));
    }
    const bench: Bench = {
      emu, clients, components, scale: o.timeScale, clock, goodTd, dir,
      tag, digest: (c, rev) => digests.get(`${c}:${rev}`)!,
      close: async () => {
        clients.destroy();
        await emu.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    await waitSteady(bench, components.map(serviceOf));
    return bench;
  } catch (error) {
    clients.destroy();
    await emu.close();
    throw error;
  }
}

export const serviceOf = (c: ComponentName): string => `lgtm-${c}`;

/** Registers the rendered task definition of a tag (what lgtm-deploy would register), pinned to its digest. */
export async function registerRevision(clients: AwsClients, c: ComponentName, rev: Revision, digest: string): Promise<string> {
  const tag = makeTag({ version: project.version(c), sha: SHAS[rev] });
  const input = renderTaskDefinition(c, env, { tag, digest }, project.templates(c).taskDefinition);
  const out = await clients.ecs.send(new RegisterTaskDefinitionCommand(input));
  return out.taskDefinition!.taskDefinitionArn!;
}

/** What the original plan and the breaker-alone baseline do: register the new revision, force a new deployment. */
export async function updateService(b: Bench, c: ComponentName): Promise<string> {
  const td = await registerRevision(b.clients, c, "next", b.digest(c, "next"));
  await b.clients.ecs.send(new UpdateServiceCommand({ cluster: env.cluster, service: serviceOf(c), taskDefinition: td, forceNewDeployment: true }));
  return td;
}

/** GET /_emulator/state: the ground truth (never stale; simulated timestamps). */
export async function groundTruth(url: string): Promise<any> {
  const res = await fetch(`${url}/_emulator/state`);
  if (!res.ok) throw new Error(`GET /_emulator/state: HTTP ${res.status}`);
  return res.json();
}

/**
 * The emulator's simulated clock for lgtm-deploy: anchored on one ground-truth read (simulated now and the wall
 * time it corresponds to), then now() = anchor + elapsed wall × scale; sleep(ms) sleeps ms / scale of wall time.
 */
export async function simulatedClock(url: string): Promise<Clock> {
  const s = await groundTruth(url);
  const scale: number = s.timeScale;
  const simAnchor: number = s.timeEpochMs;
  const wallAnchor = Date.parse(s.wallTime);
  const wall = () => performance.timeOrigin + performance.now();
  return {
    now: () => simAnchor + (wall() - wallAnchor) * scale,
    sleep: (ms, signal) => systemClock.sleep(ms / scale, signal),
  };
}

/** Waits (simulated-time polling through the ground truth) until every service has one COMPLETED deployment. */
export async function waitSteady(b: Bench, services: readonly string[], maxSimMs = 30 * 60_000): Promise<void> {
  const until = b.clock.now() + maxSimMs;
  for (;;) {
    const s = await groundTruth(b.emu.url);
    const steady = services.every((name) => {
      const svc = s.ecs.services.find((x: any) => x.serviceName === name);
      const deps = svc?.ground.deployments ?? [];
      return deps.length === 1 && deps[0].rolloutState === "COMPLETED";
    });
    if (steady) return;
    if (b.clock.now() > until) throw new Error(`services not steady after ${maxSimMs / 1000} s (simulated): ${services.join(", ")}`);
    await b.clock.sleep(2_000);
  }
}

export interface ToolRun {
  exitCode: number;
  /** Simulated epoch ms when the command returned. */
  endedAt: number;
  output: string[];
}

/** Runs lgtm-deploy in-process on the simulated clock, with its defaults (records go to the bench's temp dir). */
export async function lgtmDeploy(b: Bench, args: readonly string[]): Promise<ToolRun> {
  const output: string[] = [];
  const exitCode = await run(["--root", ROOT, "--endpoint-url", b.emu.url, ...args, "--record", path.join(b.dir, "{component}.json")], {
    out: (l) => output.push(l),
    err: (l) => output.push(l),
    env: { NO_COLOR: "1", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    signal: new AbortController().signal,
    clock: b.clock,
  });
  return { exitCode, endedAt: b.clock.now(), output };
}

export function median(xs: ReadonlyArray<number | undefined>): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1]! + v[mid]!) / 2;
}

export const secs = (ms: number | undefined, signed = false): string =>
  ms === undefined ? "n/a" : `${signed && ms > 0 ? "+" : ""}${(ms / 1000).toFixed(1)} s`;

/** Date, machine, load and Node version: printed with every table. */
export function machine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(1)).join(" ");
  return `${new Date().toISOString().slice(0, 16)}Z, ${os.type()} ${os.release()}, ${cpus.length} × ${cpus[0]?.model.trim() ?? "cpu"}, load ${load}, Node ${process.version}`;
}
