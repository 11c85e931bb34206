import path from "node:path";
import type { Command } from "commander";
import { effectiveConfig } from "../adapters/configs.js";
import { Project } from "../adapters/files.js";
import { loadOldStack, type OldStack } from "../adapters/old-stack.js";
import { dataSettings } from "../core/data-settings.js";
import type { Environment } from "../core/environment.js";
import { ExitCode, InvalidInputError } from "../core/errors.js";
import { compare, type Finding } from "../core/migrate-check.js";
import { DATA_COMPONENTS, owners, tenancy } from "../core/migration.js";
import { globals, type Io } from "./context.js";

export interface MigrateReport {
  environment: string;
  from: string;
  composeFile: string | null;
  findings: Finding[];
  unsafe: number;
}

/** Compares every backend the old stack runs with what the new stack would run in `env`. */
export async function migrateReport(project: Project, env: Environment, old: OldStack, today: string): Promise<MigrateReport> {
  const findings: Finding[] = [];
  const o = owners(env);
  for (const component of DATA_COMPONENTS) {
    const olds = old.components.filter((c) => c.component === component);
    if (olds.length === 0) {
      findings.push({ component, setting: "stack", severity: "ok", kind: "note", old: "(not found)", new: "-", message: "the old stack runs no such service: nothing to compare" });
      continue;
    }
    const next = dataSettings(component, (await effectiveConfig(project, env, component)).config);
    const ownership = { compactor: o.compactor[component], ruler: o.ruler, alertmanager: o.alertmanager };
    for (const oc of olds) {
      findings.push(...oc.findings);
      if (oc.settings !== undefined) findings.push(...compare({ old: oc.settings, service: olds.length > 1 ? oc.service : undefined, new: next, owners: ownership, tenants: tenancy(env, component).tenants, today }));
    }
  }
  return { environment: env.name, from: old.dir, composeFile: old.composeFile ?? null, findings, unsafe: findings.filter((f) => f.severity === "unsafe").length };
}

const TODAY = /^\d{4}-\d{2}-\d{2}$/;

export function registerMigrate(program: Command, io: Io, setResult: (code: number) => void): void {
  const migrate = program.command("migrate").description("moving the old EC2/docker-compose stack onto the shared bucket (docs/cutover.md)");
  migrate
    .command("check")
    .description("compare the old stack's configs with what the new stack would run: unreadable data, shorter retention, two writers")
    .requiredOption("--from <dir>", "directory with the old stack's docker-compose.yml and the configs it mounts")
    .requiredOption("--env <name>", "environment (environments/<name>.json)")
    .option("--today <date>", "UTC date (YYYY-MM-DD) new Loki schema periods must start after (default: today)")
    .option("--verbose", "also list the settings that match", false)
    .action(async (opts: { from: string; env: string; today?: string; verbose: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (opts.today !== undefined && !TODAY.test(opts.today)) throw new InvalidInputError(`--today must be a date YYYY-MM-DD, got "${opts.today}"`);
      const project = new Project(g.root);
      const env = project.environment(opts.env);
      const old = await loadOldStack(path.resolve(opts.from));
      const report = await migrateReport(project, env, old, opts.today ?? new Date().toISOString().slice(0, 10));
      if (g.json) io.out(JSON.stringify(report));
      else printReport(report, old, io, opts.verbose);
      setResult(report.unsafe > 0 ? ExitCode.Precondition : ExitCode.Success);
    });
}

function printReport(r: MigrateReport, old: OldStack, io: Io, verbose: boolean): void {
  io.out(`migrate check: old stack in ${r.from}${r.composeFile ? ` (${r.composeFile})` : ""} against environment ${r.environment}`);
  for (const component of DATA_COMPONENTS) {
    const files = old.components.filter((c) => c.component === component).map((c) => `${c.service}: ${c.file}`);
    io.out(`\n${component}${files.length ? ` (${files.join("; ")})` : ""}`);
    for (const f of r.findings.filter((x) => x.component === component)) {
      if (f.severity === "ok" && !verbose && f.kind !== "note" && f.kind !== "kept-longer") continue;
      const who = f.service ? `[${f.service}] ` : "";
      io.out(`  ${f.severity === "unsafe" ? "UNSAFE" : "ok    "}  ${who}${f.setting}: ${f.message} (old: ${f.old}; new: ${f.new})`);
    }
  }
  io.out(
    r.unsafe > 0
      ? `\n${r.unsafe} unsafe difference(s): old data would be unreadable, deleted sooner, or written twice. Fix the environment's "migration"/"cutover" blocks or the old stack; exit ${ExitCode.Precondition}.`
      : "\nno unsafe difference: the new stack reads the old data, keeps it at least as long, and no role has two writers.",
  );
}
