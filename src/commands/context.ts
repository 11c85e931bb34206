import type { Command } from "commander";
import type { Clock } from "../adapters/clock.js";
import { createAwsClients, endpointFor, isLoopback, validateEndpoint, type AwsClients } from "../adapters/aws.js";
import { clusterStatus } from "../adapters/ecs.js";
import type { Environment } from "../core/environment.js";
import { InvalidInputError, PreconditionError } from "../core/errors.js";

/** Options every command accepts (declared once on the root program). */
export interface GlobalOptions {
  root: string;
  json: boolean;
  endpointUrl?: string;
  region?: string;
  /** Print stack traces of errors (otherwise one line). */
  debug: boolean;
}

/** Where a command writes. Injected so commands can be run in-process by tests. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Environment variables (process.env in production). */
  env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal (colour is used only then, and never with NO_COLOR). */
  isTTY?: boolean;
  /** AbortSignal raised on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Raised on a second SIGINT/SIGTERM: write what must be written, synchronously; the process exits right after. */
  hardStop?: AbortSignal;
  /**
   * The release's clock (default: the system clock). Injected by in-process callers only — the benchmarks run deploy
   * against the emulator's simulated time, so every duration (poll, bake, timeouts) keeps its meaning at any time scale.
   */
  clock?: Clock;
}

/** Result of a command: the exit code the entry point will use. */
export type CommandResult = number;

export type Register = (program: Command, io: Io, setResult: (code: CommandResult) => void) => void;

export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as Partial<GlobalOptions>;
  return { root: o.root ?? process.cwd(), json: o.json ?? false, endpointUrl: o.endpointUrl, region: o.region, debug: o.debug ?? false };
}

/** The AWS documentation account id: prod.json carries it until the real values are filled in. */
export const PLACEHOLDER_ACCOUNT = "123456789012";

/**
 * The AWS half of a plan, checked before any client exists: the environment's region is the region (--region may
 * only repeat it), endpoints are well-formed URLs, and an environment still holding the documentation placeholder
 * account is never sent to real AWS (a loopback endpoint, the emulator, is fine).
 */
export function checkAwsTarget(g: Pick<GlobalOptions, "region" | "endpointUrl">, env: Pick<Environment, "region" | "account" | "file">, ioEnv: Io["env"]): void {
  if (g.region !== undefined && g.region !== env.region) {
    throw new InvalidInputError(
      `--region ${JSON.stringify(g.region)} differs from "region" ${env.region} in ${env.file}: the environment file decides the region (leave --region out, or fix the file)`,
    );
  }
  const endpoints = (["ECS", "ECR"] as const).map((service) => endpointFor(service, { endpointUrl: g.endpointUrl, env: ioEnv }));
  const urls = endpoints.map((e) => (e === undefined ? undefined : validateEndpoint(e)));
  const realAws = urls.some((u) => u === undefined || !isLoopback(u));
  if (realAws && env.account === PLACEHOLDER_ACCOUNT) {
    throw new InvalidInputError(
      `${env.file}: field "account" is still the placeholder ${PLACEHOLDER_ACCOUNT}: fill in the real account, subnets, security groups, roles, secrets and Cloud Map services before using AWS (a loopback --endpoint-url such as the emulator is allowed)`,
    );
  }
}

/** AWS clients for a command working on an environment, after checkAwsTarget. Error messages name the file. */
export function awsClients(g: GlobalOptions, env: Environment, io: Io): Promise<AwsClients> {
  checkAwsTarget(g, env, io.env);
  return createAwsClients({ region: env.region, endpointUrl: g.endpointUrl, env: io.env, environmentFile: env.file });
}

/** Read-only: the environment's cluster exists and is ACTIVE (exit 5 naming it, the region and the file otherwise). */
export async function requireCluster(clients: AwsClients, env: Environment): Promise<void> {
  const status = await clusterStatus(clients.ecs, env.cluster);
  if (status !== "ACTIVE") {
    throw new PreconditionError(`ECS cluster "${env.cluster}" ${status === undefined ? "does not exist" : `is ${status}`} in ${env.region}: check "cluster" and "region" in ${env.file}, or create the cluster`);
  }
}
