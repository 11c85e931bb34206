/** Reads the project tree (--root): environments/, taskdefs/, dockerfiles/<component>/VERSION. */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { COMPONENT_NAMES, isComponentName, type ComponentName } from "../core/catalogue.js";
import { ENVIRONMENT_NAME, parseEnvironment, type Environment } from "../core/environment.js";
import { InvalidInputError } from "../core/errors.js";
import type { Templates } from "../core/render.js";
import { parseVersionFile } from "../core/tag.js";
import { parseTemplateText } from "../core/template.js";

export class Project {
  constructor(readonly root: string) {}

  private rel(file: string): string {
    const rel = path.relative(process.cwd(), file);
    return rel === "" || rel.startsWith("..") ? file : rel;
  }

  private read(file: string, what: string): string {
    try {
      return readFileSync(file, "utf8");
    } catch {
      throw new InvalidInputError(`${what} not found: ${this.rel(file)}`);
    }
  }

  environmentNames(): string[] {
    const dir = path.join(this.root, "environments");
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -5))
      .sort();
  }

  environment(name: string): Environment {
    const source = this.environmentSource(name);
    return parseEnvironment(name, source.rel, source.text);
  }

  /** The environment file's path and text, unparsed (env sync rewrites its outputs section). */
  environmentSource(name: string): { path: string; rel: string; text: string } {
    if (!ENVIRONMENT_NAME.test(name)) throw new InvalidInputError(`invalid --env "${name}": use lower-case letters, digits and dashes`);
    const file = path.join(this.root, "environments", `${name}.json`);
    if (!existsSync(file)) {
      const known = this.environmentNames();
      throw new InvalidInputError(`unknown environment "${name}": ${this.rel(file)} does not exist (known: ${known.join(", ") || "none"})`);
    }
    return { path: file, rel: this.rel(file), text: this.read(file, "environment file") };
  }

  versionFile(component: ComponentName): string {
    return path.join(this.root, "dockerfiles", component, "VERSION");
  }

  version(component: ComponentName): string {
    const file = this.versionFile(component);
    return parseVersionFile(this.read(file, "VERSION file"), this.rel(file));
  }

  writeVersion(component: ComponentName, version: string): void {
    writeFileSync(this.versionFile(component), `${version}\n`);
  }

  templates(component: ComponentName): Templates {
    const load = (name: string) => {
      const file = path.join(this.root, "taskdefs", name);
      return { file: this.rel(file), body: parseTemplateText(this.read(file, "template"), this.rel(file)) };
    };
    return { taskDefinition: load(`${component}.json`), service: load(`${component}.service.json`) };
  }
}

export function parseComponent(value: string): ComponentName {
  if (!isComponentName(value)) throw new InvalidInputError(`unknown component "${value}" (known: ${COMPONENT_NAMES.join(", ")})`);
  return value;
}

/** Positional components or --all, deduplicated, in catalogue order. */
export function parseComponents(values: string[], all: boolean): ComponentName[] {
  if (all && values.length > 0) throw new InvalidInputError("give component names or --all, not both");
  if (all) return [...COMPONENT_NAMES];
  if (values.length === 0) throw new InvalidInputError(`name at least one component (${COMPONENT_NAMES.join(", ")}) or use --all`);
  const chosen = new Set(values.map(parseComponent));
  return COMPONENT_NAMES.filter((c) => chosen.has(c));
}
