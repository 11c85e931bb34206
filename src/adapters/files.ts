/** Reads the project tree (--root): environments/, taskdefs/, dockerfiles/<component>/VERSION; checks output paths. */
import { accessSync, constants, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { COMPONENT_NAMES, isComponentName, type ComponentName } from "../core/catalogue.js";
import { ENVIRONMENT_NAME, parseEnvironment, type Environment } from "../core/environment.js";
import { InvalidInputError } from "../core/errors.js";
import type { Templates } from "../core/render.js";
import { parseVersionFile } from "../core/tag.js";
import { decodeText } from "../core/json.js";
import { parseTemplate } from "../core/template.js";

export class Project {
  constructor(readonly root: string) {
    let dir = false;
    try {
      dir = statSync(root).isDirectory();
    } catch {
      // reported below
    }
    if (!dir) throw new InvalidInputError(`--root ${root}: not a directory (it should hold environments/, taskdefs/ and dockerfiles/)`);
  }

  private rel(file: string): string {
    const rel = path.relative(process.cwd(), file);
    return rel === "" || rel.startsWith("..") ? file : rel;
  }

  private read(file: string, what: string): string {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new InvalidInputError(`${what} not found: ${this.rel(file)}`);
      if (code === "EISDIR") throw new InvalidInputError(`${what} ${this.rel(file)} is a directory`);
      throw new InvalidInputError(`cannot read ${what} ${this.rel(file)}: ${(error as Error).message}`);
    }
    return decodeText(bytes, this.rel(file));
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

  /** Throws (exit 2, naming the file) unless the VERSION file can be rewritten. */
  checkVersionWritable(component: ComponentName): void {
    const file = this.versionFile(component);
    try {
      accessSync(file, constants.W_OK);
    } catch (error) {
      throw new InvalidInputError(`${this.rel(file)}: cannot be written (${(error as NodeJS.ErrnoException).code ?? "error"}); nothing was changed`);
    }
  }

  templates(component: ComponentName): Templates {
    const load = (name: string) => {
      const file = path.join(this.root, "taskdefs", name);
      return { file: this.rel(file), ...parseTemplate(this.read(file, "template"), this.rel(file)) };
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

/**
 * Output paths are checked before anything changes: the directory exists and a file can be created in it (proved
 * by creating and removing one, which also catches read-only mounts and full quotas that permission bits miss).
 * `flag` names the option in the message.
 */
export function checkWritableFile(file: string, flag: string): void {
  if (file.trim() === "") throw new InvalidInputError(`${flag} is empty; give a file name`);
  const dir = path.dirname(path.resolve(file));
  let isDir = false;
  try {
    isDir = statSync(file).isDirectory();
  } catch {
    // does not exist yet: fine
  }
  if (isDir) throw new InvalidInputError(`${flag} ${file}: is a directory; give a file name`);
  probeDirectory(dir, `${flag} ${file}`);
}

/** A directory that exists (or can be created: its parent exists) and can be written. */
export function checkWritableDirectory(dir: string, flag: string): void {
  if (dir.trim() === "") throw new InvalidInputError(`${flag} is empty; give a directory`);
  let stat;
  try {
    stat = statSync(dir);
  } catch {
    const parent = path.dirname(path.resolve(dir));
    probeDirectory(parent, `${flag} ${dir}`);
    return;
  }
  if (!stat.isDirectory()) throw new InvalidInputError(`${flag} ${dir}: exists and is not a directory`);
  probeDirectory(dir, `${flag} ${dir}`);
}

function probeDirectory(dir: string, what: string): void {
  let stat;
  try {
    stat = statSync(dir);
  } catch {
    throw new InvalidInputError(`${what}: the directory ${dir} does not exist; create it first`);
  }
  if (!stat.isDirectory()) throw new InvalidInputError(`${what}: ${dir} is not a directory`);
  const probe = path.join(dir, `.lgtm-deploy-write-test-${process.pid}-${Date.now()}`);
  try {
    writeFileSync(probe, "", { flag: "wx" });
  } catch (error) {
    throw new InvalidInputError(`${what}: cannot write in ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); nothing was changed`);
  }
  rmSync(probe, { force: true });
}
