import { Command } from "commander";
import { Project } from "../adapters/files.js";
import { COMPONENT_NAMES } from "../core/catalogue.js";
import type { CostReport, PriceFile } from "../core/cost.js";
import { renderService, renderTaskDefinition } from "../core/render.js";
import { makeTag } from "../core/tag.js";
import { globals, type Io } from "./context.js";

const PRICE_FILE = "data/fargate-prices.json";

const COST_HELP = `
Renders all six task and service definitions of the environment (cpu, memory, ephemeral storage, architecture,
desired count) and multiplies them by the region's Fargate on-demand Linux prices in ${PRICE_FILE} (dated, with
their source) for 730 hours a month. Works before the stack exists (ARNs do not affect the cost). Shows both
architectures, the ARM64 saving, the original plan's estimate, and what is not included.

Failures: invalid environment or templates, no prices for the region: 2.`;

const usd = (n: number) => `$${n.toFixed(2)}`;

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ").trimEnd());
}

function textReport(r: CostReport): string[] {
  const p = r.prices;
  const storageNote = p.ephemeralStorageGbHour.verified ? "" : " (rate UNVERIFIED for this region)";
  const rows = [["component", "tasks", "vCPU", "memory", "disk", "x86_64/month", "ARM64/month", "plan"]];
  for (const l of r.lines) {
    rows.push([l.component, String(l.tasks), String(l.vcpu), `${l.memoryGb} GB`, `${l.ephemeralGiB} GiB`, usd(l.compute.X86_64), usd(l.compute.ARM64), l.plan === undefined ? "" : `~$${l.plan}`]);
  }
  rows.push(["compute", "", "", "", "", usd(r.totals.compute.X86_64), usd(r.totals.compute.ARM64), `~$${r.plan.monthly}`]);
  const extra = r.lines.reduce((a, l) => a + l.tasks * l.extraStorageGb, 0);
  return [
    `Fargate compute for ${r.environment} (${r.region}, ${p.name}), on-demand Linux, ${r.hoursPerMonth} h/month, ${r.currency}`,
    `prices: effective ${p.effective}, published ${p.published}, checked ${p.checked}; x86_64 ${p.X86_64.vcpuHour}/vCPU-h ${p.X86_64.gbHour}/GB-h, ARM64 ${p.ARM64.vcpuHour}/vCPU-h ${p.ARM64.gbHour}/GB-h (${PRICE_FILE})`,
    `  source: ${p.source}`,
    `  ${p.verification}`,
    "",
    ...table(rows),
    "",
    `ephemeral storage above ${20} GiB per task: ${extra} GB in all, ${usd(r.totals.storage)}/month at ${p.ephemeralStorageGbHour.price}/GB-h${storageNote}`,
    `total for this environment (${r.architecture}): ${usd(r.totals.total)}/month`,
    `ARM64 saves ${usd(r.armSaving.monthly)}/month on compute (${r.armSaving.percent.toFixed(1)} %): set "cpuArchitecture": "ARM64" (images are built for it)`,
    `the original plan estimated ~$${r.plan.monthly}/month for compute; this environment's compute is ${usd(Math.abs(r.plan.difference))} ${r.plan.difference >= 0 ? "less" : "more"} (${Math.abs(r.plan.percent).toFixed(1)} %)`,
    "not included:",
    ...r.notIncluded.map((n) => `  - ${n}`),
  ];
}

export function registerCost(program: Command, io: Io): void {
  program
    .command("cost")
    .description("monthly Fargate compute cost of an environment (x86_64 and ARM64), from its rendered task definitions")
    .requiredOption("--env <name>", "environment (environments/<name>.json)")
    .addHelpText("after", COST_HELP)
    .action(async (opts: { env: string }, cmd: Command) => {
      // Loaded on use: commands that do not price start no slower.
      const [{ costReport, standInOutputs, taskShape }, { default: prices }] = await Promise.all([import("../core/cost.js"), import("../../data/fargate-prices.json", { with: { type: "json" } })]);
      const g = globals(cmd);
      const project = new Project(g.root);
      const parsed = project.environment(opts.env);
      const env = parsed.outputs === undefined ? { ...parsed, outputs: standInOutputs(parsed) } : parsed;
      // The image does not change the bill; any valid tag renders.
      const image = { tag: makeTag({ version: "0.0.0", sha: "0000000" }) };
      const shapes = COMPONENT_NAMES.map((c) => {
        const templates = project.templates(c);
        return taskShape(c, renderTaskDefinition(c, env, image, templates.taskDefinition), renderService(c, env, image, templates.service));
      });
      const report = costReport(env, shapes, prices as PriceFile, PRICE_FILE);
      if (g.json) io.out(JSON.stringify(report, null, 2));
      else for (const line of textReport(report)) io.out(line);
    });
}
