import { Option, type Command } from "commander";
import type { AwsClients } from "../adapters/aws.js";
import { COMPONENT_NAMES } from "../core/catalogue.js";
import type { Environment } from "../core/environment.js";
import { ExitCode, InvalidInputError, PreconditionError } from "../core/errors.js";
import type { Scenario } from "../emulator/index.js";
import type { RunningEmulator } from "../emulator/server.js";
import { globals, type CommandResult, type Io } from "./context.js";
import { parseDuration } from "./options.js";

function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new InvalidInputError(`--port: expected 0..65535, got '${text}'`);
  return Number(text);
}

function parseTimeScale(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0) || n > 10_000) throw new InvalidInputError(`--time-scale: expected a number above 0 and at most 10000, got '${text}'`);
  return n;
}

interface EmulatorFlags {
  port: string;
  scenario?: string;
  maxLifetime: number;
  timeScale?: number;
  timing?: "default" | "fargate";
  seed: boolean;
  env: string;
  sha?: string[];
}

/** What --seed will create, worked out (and validated) before the server starts. */
interface SeedPlan {
  env: Environment;
  envName: string;
  shas: string[];
  tagFor: (component: (typeof COMPONENT_NAMES)[number], sha: string) => string;
}

const SEED_COMMITS = 4;

async function planSeed(root: string, flags: EmulatorFlags): Promise<SeedPlan> {
  const [{ Project }, { recentShas }, { makeTag, normalizeSha }] = await Promise.all([import("../adapters/files.js"), import("../adapters/git.js"), import("../core/tag.js")]);
  const project = new Project(root);
  const env = project.environment(flags.env);
  let shas: string[];
  if (flags.sha !== undefined) shas = flags.sha.map((s) => normalizeSha(s));
  else {
    try {
      shas = await recentShas(root, SEED_COMMITS);
    } catch (error) {
      throw new InvalidInputError(`emulator --seed: cannot read the commits to seed images for (${(error as Error).message.split(";")[0]}); pass --sha <commit> instead`);
    }
  }
  const versions = new Map(COMPONENT_NAMES.map((c) => [c, project.version(c)]));
  return { env, envName: flags.env, shas, tagFor: (c, sha) => makeTag({ version: versions.get(c)!, sha }).tag };
}

async function runSeed(io: Io, json: boolean, emu: RunningEmulator, plan: SeedPlan): Promise<void> {
  const [{ createAwsClients }, { seedEnvironment }] = await Promise.all([import("../adapters/aws.js"), import("../rehearsal/seed.js")]);
  const clients: AwsClients = await createAwsClients({ region: plan.env.region, endpointUrl: emu.url, env: {} });
  try {
    const images = await seedEnvironment(clients, plan.env, plan.tagFor, plan.shas);
    const repositories = COMPONENT_NAMES.map((c) => `${plan.env.ecr.repositoryPrefix}${c}`);
    const next = `AWS_ENDPOINT_URL=${emu.url} lgtm-deploy deploy --all --env ${plan.envName} --create-missing --sha ${plan.shas[0]}`;
    if (json) {
      io.out(JSON.stringify({ event: "seeded", env: plan.envName, region: plan.env.region, cluster: plan.env.cluster, repositories, shas: plan.shas, images, next }));
      return;
    }
    io.err(`seeded for environment ${plan.envName} (${plan.env.region}): cluster ${plan.env.cluster}, repositories ${repositories.join(", ")}`);
    io.err(`images for ${plan.shas.length} commit(s), newest first: ${plan.shas.join(", ")} (e.g. ${repositories[0]}:${images.mimir[0]})`);
    io.err(`next: ${next}`);
  } finally {
    clients.destroy();
  }
}

export function registerEmulator(program: Command, io: Io, setResult: (code: CommandResult) => void): void {
  program
    .command("emulator")
    .description("run a local ECS + ECR + CloudWatch Logs emulator on 127.0.0.1 (AWS JSON 1.1; point the SDK/CLI at it with --endpoint-url)")
    .option("--port <port>", "TCP port on 127.0.0.1 (0 = random)", "4566")
    .option("--scenario <file>", "scenario JSON: timings, per-image behaviours, API faults, consistency (see docs/emulator.md)")
    .addOption(new Option("--max-lifetime <duration>", "stop by itself after this long (e.g. 30m, 2h)").default(2 * 3_600_000, "2h").argParser(parseDuration("--max-lifetime")))
    .addOption(new Option("--time-scale <n>", "run the simulation n times faster than the wall clock (timestamps stay consistent)").argParser(parseTimeScale))
    .addOption(new Option("--timing <profile>", "timing profile: default (a demo in seconds) or fargate (realistic, sourced)").choices(["default", "fargate"]))
    .option("--seed", "create the environment's cluster, the six ECR repositories and images for the current commit and 3 before it", false)
    .option("--env <name>", "environment file to seed from (environments/<name>.json)", "local")
    .option("--sha <commit...>", "with --seed: seed images for these commits instead of git's")
    .action(async (flags: EmulatorFlags, cmd: Command) => {
      const g = globals(cmd);
      const port = parsePort(flags.port);
      if (flags.sha !== undefined && !flags.seed) throw new InvalidInputError("--sha: only with --seed");
      // Loaded on demand: no other command needs the emulator.
      const [{ loadScenarioFile }, { startEmulatorServer }] = await Promise.all([import("../emulator/index.js"), import("../emulator/server.js")]);
      let scenario: Scenario | undefined = flags.scenario !== undefined ? loadScenarioFile(flags.scenario) : undefined;
      if (flags.timing !== undefined) scenario = { ...(scenario ?? {}), timing: { ...(scenario?.timing ?? {}), profile: flags.timing } };
      const seed = flags.seed ? await planSeed(g.root, flags) : undefined;
      if (io.signal.aborted) {
        setResult(ExitCode.Success);
        return;
      }
      const region = g.region ?? seed?.env.region;
      let emu: RunningEmulator;
      try {
        emu = await startEmulatorServer({
          port,
          maxLifetimeMs: flags.maxLifetime,
          ...(scenario !== undefined ? { scenario } : {}),
          ...(flags.timeScale !== undefined ? { timeScale: flags.timeScale } : {}),
          ...(region !== undefined ? { region } : {}),
          ...(seed !== undefined ? { account: seed.env.account } : {}),
          log: (line) => io.err(line),
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EADDRINUSE") throw new PreconditionError(`emulator: port ${port} on 127.0.0.1 is already in use (try --port 0)`);
        throw error;
      }
      io.out(g.json ? JSON.stringify({ event: "listening", url: emu.url, timeScale: flags.timeScale ?? scenario?.timeScale ?? 1 }) : `lgtm-deploy emulator listening on ${emu.url}`);
      const onAbort = (): void => void emu.close();
      io.signal.addEventListener("abort", onAbort, { once: true });
      try {
        if (seed !== undefined) await runSeed(io, g.json, emu, seed);
        await emu.closed;
      } finally {
        io.signal.removeEventListener("abort", onAbort);
        await emu.close();
      }
      const reason = io.signal.aborted ? "signal" : (emu.closeReason() ?? "close");
      if (g.json) io.out(JSON.stringify({ event: "stopped", reason }));
      else io.err(`lgtm-deploy emulator stopped (${reason})`);
      setResult(ExitCode.Success);
    });
}
