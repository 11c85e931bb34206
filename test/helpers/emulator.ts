/** An emulator seeded for releases: cluster, repositories and image manifests for the given SHAs. */
import { readFileSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createAwsClients, type AwsClients } from "../../src/adapters/aws.js";
import { Project } from "../../src/adapters/files.js";
import type { ComponentName } from "../../src/core/catalogue.js";
import type { Environment } from "../../src/core/environment.js";
import { makeTag } from "../../src/core/tag.js";
import { startEmulator, type Emulator, type Scenario } from "../../src/emulator/index.js";
import { createCluster, createRepository, pushManifest } from "../../src/rehearsal/seed.js";
import { ConformanceLog } from "../fixtures/emulator/conformance.js";
import { REPO_ROOT, runCli, type CliResult } from "./cli.js";

export const FAST_TIMING: NonNullable<Scenario["timing"]> = { provisioningMs: 15, pendingMs: 20, healthCheckMs: 25, drainMs: 10, stopMs: 10 };

export interface Rig {
  emu: Emulator;
  env: Environment;
  clients: AwsClients;
  dir: string;
  tag(component: ComponentName, sha: string): string;
  digest(component: ComponentName, sha: string): string;
  /** Runs the CLI against the emulator with fast polling; records go to the rig's temp dir. */
  cli(args: string[], opts?: { signal?: AbortSignal }): Promise<CliResult>;
  record(name: string): any;
  mutatingCalls(): string[];
  close(): Promise<void>;
}

export async function startRig(components: readonly ComponentName[], shas: readonly string[], scenario: Scenario = {}): Promise<Rig> {
  // Every response the emulator gives a release is checked against the AWS models; close() fails on a mismatch.
  const conformance = new ConformanceLog();
  const emu = await startEmulator({ port: 0, onResponse: conformance.onResponse, scenario: { seed: 7, ...scenario, timing: { ...FAST_TIMING, ...scenario.timing } }, maxLifetimeMs: 10 * 60_000 });
  const project = new Project(REPO_ROOT);
  const env = project.environment("local");
  const clients = await createAwsClients({ region: env.region, endpointUrl: emu.url, env: {} });
  await createCluster(clients, env);
  const digests = new Map<string, string>();
  for (const c of components) {
    await createRepository(clients, env, c);
    for (const sha of shas) digests.set(`${c}:${sha}`, await pushManifest(clients, env, c, makeTag({ version: project.version(c), sha }).tag));
  }
  emu.clearCalls();
  const dir = mkdtempSync(path.join(tmpdir(), "lgtm-rig-"));
  return {
    emu,
    env,
    clients,
    dir,
    tag: (c, sha) => makeTag({ version: project.version(c), sha }).tag,
    digest: (c, sha) => digests.get(`${c}:${sha}`)!,
    cli: (args, opts) =>
      runCli(["--root", REPO_ROOT, "--endpoint-url", emu.url, ...args, ...(args[0] === "deploy" || args[0] === "rollback" ? ["--poll-interval", "20ms", "--record", path.join(dir, "{component}.json")] : [])], opts),
    record: (name) => JSON.parse(readFileSync(path.join(dir, `${name}.json`), "utf8")),
    mutatingCalls: () => emu.calls().filter((c) => c.mutating).map((c) => c.operation),
    close: async () => {
      clients.destroy();
      await emu.close();
      rmSync(dir, { recursive: true, force: true });
      conformance.assertClean();
    },
  };
}
