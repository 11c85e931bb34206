import type { Command } from "commander";
import { effectiveConfig } from "../adapters/configs.js";
import { Project, parseComponents } from "../adapters/files.js";
import type { ComponentName } from "../core/catalogue.js";
import { rollingContext } from "../core/effective-config.js";
import type { Environment } from "../core/environment.js";
import { InvalidInputError } from "../core/errors.js";
import { isDataComponent } from "../core/migration.js";
import { checkClusterLabels, checkRollingSafety, getPath, type RollingProblem } from "../core/rolling.js";
import { globals, type Io } from "./context.js";

/**
 * The rolling-safety check of the stateful components in an environment (docs/images.md, "Rolling-safe settings").
 * Cluster labels are compared across all four even when fewer are named.
 */
export async function rollingProblems(project: Project, env: Environment, components: readonly ComponentName[]): Promise<RollingProblem[]> {
  const problems: RollingProblem[] = [];
  const labels = new Map<ComponentName, unknown>();
  for (const component of ["mimir", "loki", "tempo", "pyroscope"] as const) {
    const e = await effectiveConfig(project, env, component);
    labels.set(component, getPath(e.config, "memberlist.cluster_label"));
    if (components.includes(component)) problems.push(...checkRollingSafety(rollingContext(component, e.config, env, e.taskDefinition, e.service)));
  }
  problems.push(...checkClusterLabels(labels).filter((p) => components.includes(p.component)));
  return problems;
}

/** Throws (exit 2, nothing changed) when a component would lose or hide data in a rolling release. */
export async function assertRollingSafe(project: Project, env: Environment, components: readonly ComponentName[]): Promise<void> {
  const stateful = components.filter(isDataComponent);
  if (stateful.length === 0) return;
  const problems = await rollingProblems(project, env, stateful);
  if (problems.length > 0) {
    throw new InvalidInputError(`${env.file}: not rolling-safe (lgtm-deploy check; docs/images.md "Rolling-safe settings"):\n${problems.map((p) => `  ${p.component}: ${p.message} [${p.source}]`).join("\n")}`);
  }
}

export function registerCheck(program: Command, io: Io): void {
  program
    .command("check")
    .description("refuse configs that would lose or hide data in a rolling release (flush, visibility, pacing, cluster labels)")
    .argument("[components...]", "components to check (the four stateful ones with --all)")
    .requiredOption("--env <name>", "environment (environments/<name>.json)")
    .option("--all", "check mimir, loki, tempo and pyroscope", false)
    .action(async (names: string[], opts: { env: string; all: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const project = new Project(g.root);
      const components = parseComponents(names, opts.all).filter(isDataComponent);
      const env = project.environment(opts.env);
      const problems = await rollingProblems(project, env, components);
      if (g.json) io.out(JSON.stringify({ environment: env.name, components, problems }));
      else for (const c of components) io.out(`${c}: ${problems.some((p) => p.component === c) ? "NOT rolling-safe" : "rolling-safe"}`);
      if (problems.length > 0) {
        throw new InvalidInputError(`${env.file}: not rolling-safe:\n${problems.map((p) => `  ${p.component}: ${p.message} [${p.source}]`).join("\n")}`);
      }
    });
}
