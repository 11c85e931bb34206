/**
 * The old EC2 stack as docker compose runs it: which service runs which backend, the command-line flags that override
 * its config file, the config file's path on the host, and the environment `-config.expand-env` sees. Pure: the
 * caller reads files (adapters/old-stack.ts).
 */
import { expandEnv } from "./expand.js";
import type { DataComponent } from "./migration.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export const COMPOSE_FILES = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];

export interface OldService {
  /** The compose service name (e.g. mimir-1). */
  name: string;
  component: DataComponent;
  image: string;
  /** Flags as given, without the leading dashes: {"config.file": "/etc/mimir.yaml", ...}. */
  flags: Record<string, string>;
  environment: Record<string, string>;
  /** container path → host path (relative to the compose file's directory, as written). */
  volumes: Array<{ host: string; container: string }>;
}

/** The image each backend ships as (grafana/mimir:2.10.0, docker.io/grafana/loki, a mirror's .../grafana/tempo). */
export function componentOfImage(image: string): DataComponent | undefined {
  const name = image.split("@")[0]!.replace(/:[^/]*$/, "");
  const m = /(?:^|\/)(mimir|loki|tempo|pyroscope)$/.exec(name);
  return m ? (m[1] as DataComponent) : undefined;
}

/** Splits a shell-like command string (compose's string form) on blanks, honouring single and double quotes. */
export function splitCommand(text: string): string[] {
  const out: string[] = [];
  let current = "";
  let quote: string | undefined;
  let started = false;
  for (const c of text) {
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (/\s/.test(c)) {
      if (started) out.push(current);
      current = "";
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

/** Go's flag syntax: -name=value, --name=value, -name value (non-boolean), -name (boolean true). */
export function parseFlags(args: readonly string[], booleans: ReadonlySet<string>): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("-") || a === "-" || a === "--") continue;
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    if (eq >= 0) flags[body.slice(0, eq)] = body.slice(eq + 1);
    else if (booleans.has(body) || i + 1 >= args.length || args[i + 1]!.startsWith("-")) flags[body] = "true";
    else flags[body] = args[++i]!;
  }
  return flags;
}

/** Compose's .env file: KEY=VALUE lines, # comments, optional quotes. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trim().startsWith("#")) continue;
    out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, "$2");
  }
  return out;
}

const asStrings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === "string" ? splitCommand(v) : []);

function environmentOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v)) {
    for (const item of v.map(String)) {
      const eq = item.indexOf("=");
      if (eq > 0) out[item.slice(0, eq)] = item.slice(eq + 1);
    }
  } else if (isObj(v)) {
    for (const [k, val] of Object.entries(v)) out[k] = val === null || val === undefined ? "" : String(val);
  }
  return out;
}

function volumesOf(v: unknown): Array<{ host: string; container: string }> {
  const out: Array<{ host: string; container: string }> = [];
  for (const item of Array.isArray(v) ? v : []) {
    if (typeof item === "string") {
      const [host, container] = item.split(":");
      if (host !== undefined && container !== undefined && /^[./~]/.test(host)) out.push({ host, container });
    } else if (isObj(item) && item.type === "bind" && typeof item.source === "string" && typeof item.target === "string") {
      out.push({ host: item.source, container: item.target });
    }
  }
  return out;
}

/**
 * The backend services of a parsed compose document. `${VAR}` in it is interpolated from .env first, as compose does.
 * `booleans` lists each backend's boolean flags (so `-auth.enabled -target=all` parses).
 */
export function composeServices(doc: unknown, dotEnv: Readonly<Record<string, string>>, booleans: (c: DataComponent) => ReadonlySet<string>): OldService[] {
  const services = isObj(doc) && isObj(doc.services) ? doc.services : {};
  const interpolate = (v: unknown): unknown =>
    typeof v === "string" ? expandEnv(v, "envsubst", dotEnv) : Array.isArray(v) ? v.map(interpolate) : isObj(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolate(x)])) : v;
  const out: OldService[] = [];
  for (const [name, raw] of Object.entries(services)) {
    const svc = interpolate(raw);
    if (!isObj(svc) || typeof svc.image !== "string") continue;
    const component = componentOfImage(svc.image);
    if (component === undefined) continue;
    const args = [...asStrings(svc.entrypoint).filter((a) => a.startsWith("-")), ...asStrings(svc.command)];
    out.push({ name, component, image: svc.image, flags: parseFlags(args, booleans(component)), environment: environmentOf(svc.environment), volumes: volumesOf(svc.volumes) });
  }
  return out;
}

/** The host path behind a container path, through the longest matching bind mount. */
export function hostPath(service: OldService, containerPath: string): string | undefined {
  let best: { host: string; container: string } | undefined;
  for (const v of service.volumes) {
    const c = v.container.replace(/\/$/, "");
    if ((containerPath === c || containerPath.startsWith(`${c}/`)) && (best === undefined || c.length > best.container.length)) best = { host: v.host, container: c };
  }
  if (best === undefined) return undefined;
  return `${best.host.replace(/\/$/, "")}${containerPath.slice(best.container.length)}`;
}

/** The config file each upstream image reads when the command names none (its default CMD). */
export const IMAGE_DEFAULT_CONFIG: Readonly<Partial<Record<DataComponent, string>>> = {
  loki: "/etc/loki/local-config.yaml",
  pyroscope: "/etc/pyroscope/config.yaml",
};

/** Sets a dotted key in a nested object (creating the parents), for flags that override the file. */
export function setPath(doc: Obj, dotted: string, value: unknown): void {
  const keys = dotted.split(".");
  let node = doc;
  for (const k of keys.slice(0, -1)) {
    if (!isObj(node[k])) node[k] = {};
    node = node[k] as Obj;
  }
  node[keys.at(-1)!] = value;
}
