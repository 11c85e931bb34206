/** Reads the baked backend configs (dockerfiles/<component>/) and turns them into what a task would run. */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { CreateServiceCommandInput, RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import { BAKED_CONFIG, expandBakedConfig } from "../core/effective-config.js";
import type { Environment } from "../core/environment.js";
import { InvalidInputError } from "../core/errors.js";
import type { DataComponent } from "../core/migration.js";
import { renderService, renderTaskDefinition } from "../core/render.js";
import { makeTag } from "../core/tag.js";
import type { Project } from "./files.js";
import { parseYamlText } from "./yaml.js";

export interface EffectiveConfig {
  component: DataComponent;
  file: string;
  /** Parsed after expansion with the rendered task definition's environment. */
  config: unknown;
  taskDefinition: RegisterTaskDefinitionCommandInput;
  service: CreateServiceCommandInput;
}

/** The image reference does not change the config; any valid tag renders the same environment. */
const PLACEHOLDER_IMAGE = { tag: makeTag({ version: "0.0.0", sha: "0000000" }) };

export async function effectiveConfig(project: Project, env: Environment, component: DataComponent): Promise<EffectiveConfig> {
  const file = path.join(project.root, "dockerfiles", component, BAKED_CONFIG[component]);
  const rel = path.relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new InvalidInputError(`config not found: ${rel}`);
  }
  const templates = project.templates(component);
  const taskDefinition = renderTaskDefinition(component, env, PLACEHOLDER_IMAGE, templates.taskDefinition);
  const service = renderService(component, env, PLACEHOLDER_IMAGE, templates.service);
  const config = await parseYamlText(expandBakedConfig(component, text, taskDefinition), `${rel} (expanded for ${env.name})`);
  return { component, file: rel, config, taskDefinition, service };
}
