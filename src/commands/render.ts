import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import { Project, checkWritableDirectory, checkWritableFile, parseComponents } from "../adapters/files.js";
import { InvalidInputError } from "../core/errors.js";
import { renderService, renderTaskDefinition, toUpdateServiceInput, warnings } from "../core/render.js";
import { globals, type Io } from "./context.js";
import { addTagOptions, resolveTag, type TagOptions } from "./options.js";

interface RenderOptions extends TagOptions {
  env: string;
  all: boolean;
  digest?: string;
  out?: string;
  service?: true | "create" | "update";
}

export function registerRender(program: Command, io: Io): void {
  addTagOptions(
    program
      .command("render")
      .description("print the RegisterTaskDefinition (or CreateService/UpdateService) input for components")
      .argument("[components...]", "components to render")
      .requiredOption("--env <name>", "environment (environments/<name>.json)")
      .option("--all", "render all six components", false)
      .option("--digest <sha256>", "pin the image to this digest (single component)")
      .option("--out <file>", "write to a file (a directory when rendering several components)")
      .addOption(new Option("--service [kind]", "render the service input instead: create (default) or update").choices(["create", "update"])),
    { allowTag: true },
  )
    .action(async (names: string[], opts: RenderOptions, cmd: Command) => {
      const g = globals(cmd);
      const project = new Project(g.root);
      const components = parseComponents(names, opts.all);
      if (opts.digest !== undefined && components.length > 1) throw new InvalidInputError("--digest applies to a single component");
      // The output path is part of the plan: checked before rendering, so nothing is written half-way.
      if (opts.out !== undefined) (components.length === 1 ? checkWritableFile : checkWritableDirectory)(opts.out, "--out");
      const env = project.environment(opts.env);
      const rendered: Array<{ component: string; body: unknown }> = [];
      for (const component of components) {
        const tag = await resolveTag(project, component, opts, { releaseBranch: env.releaseBranch });
        const image = { tag, ...(opts.digest === undefined ? {} : { digest: opts.digest }) };
        const templates = project.templates(component);
        const td = renderTaskDefinition(component, env, image, templates.taskDefinition);
        if (opts.service === undefined) {
          rendered.push({ component, body: td });
          continue;
        }
        const create = renderService(component, env, image, templates.service);
        rendered.push({ component, body: opts.service === "update" ? toUpdateServiceInput(create, `${td.family}`) : create });
      }
      for (const w of warnings(env)) if (components.includes(w.component)) io.err(`warning: ${w.message}`);
      const text = (body: unknown) => `${JSON.stringify(body, null, 2)}\n`;
      if (opts.out === undefined) {
        io.out(text(rendered.length === 1 ? rendered[0]!.body : rendered.map((r) => r.body)).trimEnd());
      } else if (rendered.length === 1) {
        writeFileSync(opts.out, text(rendered[0]!.body));
      } else {
        mkdirSync(opts.out, { recursive: true });
        const suffix = opts.service === undefined ? "taskdef" : `${opts.service === true ? "create" : opts.service}-service`;
        for (const r of rendered) writeFileSync(path.join(opts.out, `${r.component}.${suffix}.json`), text(r.body));
      }
    });
}
