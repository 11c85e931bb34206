import type { Command } from "commander";
import { CATALOGUE, COMPONENT_NAMES } from "../core/catalogue.js";
import { globals, type Io } from "./context.js";

export function registerComponents(program: Command, io: Io): void {
  program
    .command("components")
    .description("print the component catalogue (tasks, cpu, memory, ports)")
    .action((_opts, cmd: Command) => {
      const rows = COMPONENT_NAMES.map((n) => CATALOGUE[n]);
      if (globals(cmd).json) {
        io.out(JSON.stringify(rows, null, 2));
        return;
      }
      const table = [["component", "tasks", "vCPU", "memory", "ports", "deploy min/max %", "notes"]];
      for (const c of rows) {
        table.push([
          c.name,
          String(c.tasks),
          String(c.cpu / 1024),
          `${c.memory / 1024} GB`,
          c.ports.map((p) => `${p.containerPort} ${p.name}`).join(", "),
          `${c.deployment.minimumHealthyPercent}/${c.deployment.maximumPercent}`,
          c.notes,
        ]);
      }
      const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
      for (const r of table) io.out(r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
    });
}
