/**
 * Reads the old EC2 stack's configuration from a directory: its docker compose file (services, command-line flags,
 * bind mounts, environment, .env) and the Mimir/Loki/Tempo/Pyroscope YAML files it mounts. Without a compose file,
 * the YAML files are found by name (mimir.yaml, loki.yaml, ... or <component>/config.yaml).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { dataSettings, tenantRetention, type DataSettings } from "../core/data-settings.js";
import { DIALECT } from "../core/effective-config.js";
import { InvalidInputError } from "../core/errors.js";
import { expandEnv } from "../core/expand.js";
import { BOOLEAN_FLAGS, BOOLEAN_KEYS, classifyFlag, FLAG_KEYS, type Finding } from "../core/migrate-check.js";
import { DATA_COMPONENTS, type DataComponent } from "../core/migration.js";
import { COMPOSE_FILES, composeServices, hostPath, IMAGE_DEFAULT_CONFIG, parseDotEnv, setPath, type OldService } from "../core/old-stack.js";
import { parseYamlText } from "./yaml.js";

export interface OldComponent {
  component: DataComponent;
  service: string;
  /** The config file on the host, relative to --from when inside it. */
  file: string;
  /** Undefined when the config could not be read (then only the finding saying so is reported). */
  settings: DataSettings | undefined;
  /** What could not be read or modelled: always unsafe, never silently ignored. */
  findings: Finding[];
}

export interface OldStack {
  dir: string;
  composeFile: string | undefined;
  components: OldComponent[];
}

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
};

const FALLBACK_NAMES = (c: DataComponent) => [`${c}.yaml`, `${c}.yml`, `${c}-config.yaml`, `${c}-config.yml`, `${c}/config.yaml`, `${c}/${c}.yaml`, `${c}/config.yml`];

export async function loadOldStack(dir: string): Promise<OldStack> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InvalidInputError(`--from ${dir}: not a directory (give the directory holding the old stack's docker-compose.yml and configs)`);
  const composeName = COMPOSE_FILES.find((f) => existsSync(path.join(dir, f)));
  let services: OldService[];
  if (composeName !== undefined) {
    const doc = await parseYamlText(readFileSync(path.join(dir, composeName), "utf8"), path.join(dir, composeName));
    const dotEnv = parseDotEnv(read(path.join(dir, ".env")) ?? "");
    services = composeServices(doc, dotEnv, () => BOOLEAN_FLAGS);
  } else {
    services = [];
    for (const c of DATA_COMPONENTS) {
      const name = FALLBACK_NAMES(c).find((f) => existsSync(path.join(dir, f)));
      if (name !== undefined) services.push({ name, component: c, image: `grafana/${c}`, flags: { "config.file": `/config/${name}` }, environment: {}, volumes: [{ host: `./${name}`, container: `/config/${name}` }] });
    }
  }
  if (services.length === 0) throw new InvalidInputError(`--from ${dir}: no Mimir, Loki, Tempo or Pyroscope found (${composeName ?? `no ${COMPOSE_FILES.join("/")}, no ${FALLBACK_NAMES("mimir").join("/")} ...`})`);
  const components: OldComponent[] = [];
  for (const s of services) components.push(await loadService(dir, s));
  return { dir, composeFile: composeName, components };
}

async function loadService(dir: string, s: OldService): Promise<OldComponent> {
  const findings: Finding[] = [];
  const unverified = (setting: string, message: string) => findings.push({ component: s.component, service: s.name, setting, severity: "unsafe", kind: "unverified", old: "?", new: "-", message });
  const containerFile = s.flags["config.file"] ?? IMAGE_DEFAULT_CONFIG[s.component];
  const host = containerFile === undefined ? undefined : hostPath(s, containerFile);
  const file = host === undefined ? undefined : path.resolve(dir, host);
  const text = file === undefined ? undefined : read(file);
  const shown = file === undefined ? (containerFile ?? "(no -config.file)") : path.relative(dir, file).startsWith("..") ? file : path.relative(dir, file);
  let config: Record<string, unknown> = {};
  if (text === undefined) {
    unverified("config file", `${s.name}: its config ${containerFile ?? "(none named)"} is ${host === undefined ? "not bind-mounted from the host" : `missing (${shown})`}: copy it into --from so it can be compared`);
    return { component: s.component, service: s.name, file: shown, settings: undefined, findings };
  } else {
    const expanded = s.flags["config.expand-env"] === "true" ? expandEnv(text, DIALECT[s.component], s.environment) : text;
    const parsed = await parseYamlText(expanded, shown);
    config = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  }
  // Command-line flags override the file.
  for (const [flag, value] of Object.entries(s.flags)) {
    const kind = classifyFlag(s.component, flag);
    if (kind === "unverifiable") unverified(`-${flag}`, `${s.name}: the flag -${flag}=${value} may change where data lives or how long it is kept, and migrate check does not model it: check it by hand`);
    if (kind !== "mapped") continue;
    const key = FLAG_KEYS[s.component][flag]!;
    setPath(config, key, BOOLEAN_KEYS.has(key) ? value === "true" : value);
  }
  const settings = dataSettings(s.component, config);
  if (settings.overridesFile !== undefined) {
    const overridesHost = hostPath(s, settings.overridesFile);
    const overridesText = overridesHost === undefined ? undefined : read(path.resolve(dir, overridesHost));
    if (overridesText === undefined) unverified("overrides file", `${s.name}: per-tenant overrides in ${settings.overridesFile} (retention may differ per tenant) could not be read: copy the file into --from with its bind mount`);
    else settings.tenantRetention = tenantRetention(s.component, await parseYamlText(overridesText, overridesHost!));
  }
  return { component: s.component, service: s.name, file: shown, settings, findings };
}
