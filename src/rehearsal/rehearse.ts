/**
 * The local release rehearsal (npm start): an emulator on loopback, the cluster, repositories and images, a first
 * release of all six components, an upgrade of all six, then a broken release of one component that must be rolled
 * back automatically — through the same CLI code paths a real release uses.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createAwsClients } from "../adapters/aws.js";
import { Project } from "../adapters/files.js";
import { COMPONENT_NAMES, type ComponentName } from "../core/catalogue.js";
import { ExitCode } from "../core/errors.js";
import { makeTag } from "../core/tag.js";
import { startEmulator, type Scenario } from "../emulator/index.js";
import type { Io } from "../commands/context.js";
import { createCluster, createRepository, pushManifest } from "./seed.js";

export interface RehearsalOptions {
  root: string;
  fast: boolean;
  broken: ComponentName;
  recordsDir?: string;
  json: boolean;
}

type Run = (argv: string[], io: Io) => Promise<number>;

/** What the broken build prints before it exits: the report must show it under the failed task (read from its awslogs stream). */
export const PANIC = "panic: invalid memberlist configuration";

export async function rehearse(o: RehearsalOptions, io: Io, run: Run): Promise<number> {
  const say = (line: string) => (o.json ? io.out(JSON.stringify({ kind: "rehearsal", message: line })) : io.out(`\n=== ${line}`));
  const timing: Scenario["timing"] = o.fast ? { provisioningMs: 40, pendingMs: 60, healthCheckMs: 60, drainMs: 30, stopMs: 30 } : { provisioningMs: 700, pendingMs: 1200, healthCheckMs: 1500, drainMs: 800, stopMs: 500 };
  const emulator = await startEmulator({ port: 0, scenario: { timing, seed: 1 }, maxLifetimeMs: 30 * 60_000 });
  const records = o.recordsDir ?? mkdtempSync(path.join(tmpdir(), "lgtm-rehearsal-"));
  try {
    const project = new Project(o.root);
    const env = project.environment("local");
    const clients = await createAwsClients({ region: env.region, endpointUrl: emulator.url, env: {} });
    say(`emulator listening on ${emulator.url}; seeding cluster "${env.cluster}", six ECR repositories and images`);
    await createCluster(clients, env);
    const shas = { first: "1a2b3c4d5e6f", second: "2b3c4d5e6f70", broken: "0badc0ffee00" };
    const digests = new Map<string, string>();
    for (const c of COMPONENT_NAMES) {
      await createRepository(clients, env, c);
      for (const sha of Object.values(shas)) {
        const tag = makeTag({ version: project.version(c), sha }).tag;
        digests.set(`${c}:${sha}`, await pushManifest(clients, env, c, tag));
      }
    }
    // The broken build crash-loops: the container exits 1 shortly after starting.
    const brokenDigest = digests.get(`${o.broken}:${shas.broken}`)!;
    // The panic is the app's own output: it goes to the awslogs stream, not into the container reason ECS reports.
    emulator.mergeScenario({ images: { [brokenDigest]: { behavior: "crash", exitCode: 1, afterMs: o.fast ? 40 : 1500, logs: [{ afterMs: 0, message: `level=info msg="Starting ${o.broken}"` }], exitLog: PANIC } } });
    clients.destroy();

    const common = ["--root", o.root, "--endpoint-url", emulator.url, ...(o.json ? ["--json"] : [])];
    const poll = o.fast ? "50ms" : "1s";
    // The emulator runs about 10× faster than Fargate here, so the bake (40 s + a health-check cycle) shrinks alike.
    const bake = o.fast ? "300ms" : "7s";
    const deploy = (extra: string[]) => run([...common, "deploy", "--env", "local", "--poll-interval", poll, "--timeout", "10m", "--rollback-timeout", "10m", "--bake", bake, ...extra], io);

    say("1/3 first release of all six components (creates the services)");
    const first = await deploy(["--all", "--sha", shas.first, "--create-missing", "--record", path.join(records, "first-{component}.json")]);
    say("2/3 upgrade all six components in parallel");
    const second = await deploy(["--all", "--sha", shas.second, "--record", path.join(records, "upgrade-{component}.json")]);
    say(`3/3 release a broken ${o.broken} build: it crash-loops, lgtm-deploy must notice and roll back`);
    const broken = await deploy([o.broken, "--sha", shas.broken, "--record", path.join(records, `broken-${o.broken}.json`)]);
    say("status after the rehearsal");
    await run([...common, "status", "--env", "local"], io);

    const brokenRecord = JSON.parse(readFileSync(path.join(records, `broken-${o.broken}.json`), "utf8")) as { verdict: string; stoppedTasks: Array<{ failed: boolean; logLines?: string[] }> };
    const expectations: Array<[string, boolean]> = [
      ["first release succeeded (exit 0)", first === ExitCode.Success],
      ["upgrade succeeded (exit 0)", second === ExitCode.Success],
      ["broken release was rolled back (exit 3)", broken === ExitCode.RolledBack],
      ["record says rolled-back", brokenRecord.verdict === "rolled-back"],
      ["the report and record show the crashed container's panic line", brokenRecord.stoppedTasks.some((t) => t.failed && (t.logLines ?? []).includes(PANIC))],
    ];
    say(`records in ${records}`);
    for (const [what, ok] of expectations) io.out(`${ok ? "ok  " : "FAIL"} ${what}`);
    return expectations.every(([, ok]) => ok) ? ExitCode.Success : ExitCode.Unexpected;
  } finally {
    await emulator.close();
  }
}
