import { Command } from "commander";
import { Project, parseComponent } from "../adapters/files.js";
import { InvalidInputError } from "../core/errors.js";
import { bumpVersion } from "../core/tag.js";
import { globals, type Io } from "./context.js";

const PARTS = ["major", "minor", "patch"] as const;

export function registerVersion(program: Command, io: Io): void {
  const version = program.command("version").description("show or bump a component's VERSION (dockerfiles/<component>/VERSION)");
  version
    .command("show")
    .argument("<component>")
    .action((componentArg: string, _opts, cmd: Command) => {
      const g = globals(cmd);
      const component = parseComponent(componentArg);
      const v = new Project(g.root).version(component);
      io.out(g.json ? JSON.stringify({ component, version: v }) : v);
    });
  version
    .command("bump")
    .argument("<component>")
    .argument("<part>", "major, minor or patch")
    .action((componentArg: string, part: string, _opts, cmd: Command) => {
      const g = globals(cmd);
      const component = parseComponent(componentArg);
      if (!(PARTS as readonly string[]).includes(part)) throw new InvalidInputError(`invalid bump "${part}": use major, minor or patch`);
      const project = new Project(g.root);
      const from = project.version(component);
      const to = bumpVersion(from, part as (typeof PARTS)[number]);
      project.checkVersionWritable(component);
      project.writeVersion(component, to);
      io.out(g.json ? JSON.stringify({ component, from, to }) : `${component}: ${from} -> ${to}`);
    });
}
