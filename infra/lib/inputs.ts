/**
 * The stack's inputs: environments/<name>.json, parsed and validated by the helper's own schema
 * (src/core/environment.ts, plain TypeScript, no CDK), so the CDK app and lgtm-deploy read one file the same way.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnvironment, type Environment, type StackInputs } from "../../src/core/environment.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export type StackEnvironment = Environment & { stack: StackInputs };

/** An environment with its "stack" inputs; a clear error when it has none (e.g. local, which has no stack). */
export function loadEnvironment(name: string, root = REPO_ROOT): StackEnvironment {
  const rel = path.join("environments", `${name}.json`);
  let text: string;
  try {
    text = readFileSync(path.join(root, rel), "utf8");
  } catch {
    throw new Error(`${rel} does not exist (environments with a stack: ${stackEnvironmentNames(root).join(", ") || "none"})`);
  }
  const env = parseEnvironment(name, rel, text);
  if (env.stack === undefined) throw new Error(`${rel} has no "stack" inputs (vpcId, loadBalancerIngress, ...): it has no CDK stack`);
  return env as StackEnvironment;
}

/** Environments whose file has "stack" inputs: the app synthesizes one stack for each. */
export function stackEnvironmentNames(root = REPO_ROOT): string[] {
  return readdirSync(path.join(root, "environments"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -5))
    .filter((name) => (JSON.parse(readFileSync(path.join(root, "environments", `${name}.json`), "utf8")) as { stack?: unknown }).stack !== undefined)
    .sort();
}

/** The partition of a region (ARNs built from inputs). */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}
