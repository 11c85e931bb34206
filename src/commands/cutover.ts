import path from "node:path";
import type { Command } from "commander";
import { effectiveConfig } from "../adapters/configs.js";
import { Project } from "../adapters/files.js";
import { loadOldStack } from "../adapters/old-stack.js";
import { cutoverPlan, type CutoverPlan, type MimirTimings } from "../core/cutover.js";
import { componentContainer, rollingContext } from "../core/effective-config.js";
import { parseDuration } from "../core/duration.js";
import { ExitCode } from "../core/errors.js";
import { ECS_DEFAULT_STOP_TIMEOUT, getPath, STARTUP_ALLOWANCE_SECONDS } from "../core/rolling.js";
import { globals, type Io } from "./context.js";
import { migrateReport } from "./migrate.js";

export function registerCutover(program: Command, io: Io, setResult: (code: number) => void): void {
  const cutover = program.command("cutover").description("move the single-writer roles from the old stack to the new one (docs/cutover.md)");
  cutover
    .command("plan")
    .description("print the ordered cutover steps, each with its command, its check and where the environment stands (read-only)")
    .requiredOption("--env <name>", "environment (environments/<name>.json)")
    .option("--from <dir>", "the old stack's configs: include a migrate check in the plan")
    .action(async (opts: { env: string; from?: string }, cmd: Command) => {
      const g = globals(cmd);
      const project = new Project(g.root);
      const env = project.environment(opts.env);
      const mimir = await effectiveConfig(project, env, "mimir");
      const ctx = rollingContext("mimir", mimir.config, env, mimir.taskDefinition, mimir.service);
      const lb = ctx.loadBalancer;
      const timings: MimirTimings = {
        desiredCount: ctx.desiredCount,
        stopTimeoutSeconds: componentContainer("mimir", mimir.taskDefinition)?.stopTimeout ?? ECS_DEFAULT_STOP_TIMEOUT,
        minReadySeconds: parseDuration(getPath(mimir.config, "ingester.ring.min_ready_duration") ?? "15s") ?? 15,
        startAndDetectSeconds: STARTUP_ALLOWANCE_SECONDS + (lb ? lb.intervalSeconds * lb.healthyThresholdCount : 0),
      };
      let check: { unsafe: number; from: string } | undefined;
      if (opts.from !== undefined) {
        const report = await migrateReport(project, env, await loadOldStack(path.resolve(opts.from)), new Date().toISOString().slice(0, 10));
        check = { unsafe: report.unsafe, from: opts.from };
      }
      const plan = cutoverPlan(env, timings, check);
      if (g.json) io.out(JSON.stringify(plan));
      else printPlan(plan, io);
      if (plan.problems.length > 0) {
        io.err(`lgtm-deploy: ${env.file}: the "cutover" block contradicts itself:\n${plan.problems.map((p) => `  ${p}`).join("\n")}`);
        setResult(ExitCode.InvalidInput);
      }
    });
}

function printPlan(plan: CutoverPlan, io: Io): void {
  io.out(`cutover plan for ${plan.environment} (docs/cutover.md)`);
  io.out(`environment file says: ${plan.state.join("; ")}`);
  for (const s of plan.steps) {
    const mark = s.status === "done" ? "[done]   " : s.status === "current" ? "[NOW]    " : "[later]  ";
    io.out(`\n${mark}${s.n}. ${s.title}`);
    io.out(`  why: ${s.why}`);
    for (const d of s.do) io.out(`  do:    ${d}`);
    for (const c of s.check) io.out(`  check: ${c}`);
  }
}
