/**
 * What would change between the running task definition and the rendered one. Both sides are normalized (fields ECS
 * adds on registration are dropped), then compared structurally with list items matched by identity, never by
 * position: containers, environment variables, secrets, volumes and ulimits by name, port mappings by name or
 * containerPort, mount points by volume and path, tags by key. Removing one environment variable and changing
 * another names exactly those two. Pure.
 */
import type { RegisterTaskDefinitionCommandInput, Tag, TaskDefinition } from "@aws-sdk/client-ecs";

/** Returned by DescribeTaskDefinition but not accepted by RegisterTaskDefinition. */
const SERVER_FIELDS = ["taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt"];

/** Drops what ECS fills in by default on registration (empty lists, hostPort = containerPort) so only real changes show. */
function dropDefaults(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(dropDefaults);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (Array.isArray(v) && v.length === 0) continue;
    if (k === "hostPort" && v === (node as Record<string, unknown>).containerPort) continue;
    out[k] = dropDefaults(v);
  }
  return out;
}

export function normalizeRunning(td: TaskDefinition, tags: readonly Tag[]): Record<string, unknown> {
  const out: Record<string, unknown> = JSON.parse(JSON.stringify(td));
  for (const f of SERVER_FIELDS) delete out[f];
  if (tags.length > 0) out.tags = tags;
  const cleaned = dropDefaults(out) as Record<string, unknown>;
  if (Array.isArray(cleaned.containerDefinitions)) {
    cleaned.containerDefinitions = cleaned.containerDefinitions.map((c: Record<string, unknown>) => {
      const { cpu, ...rest } = c;
      return cpu === 0 ? rest : c;
    });
  }
  return cleaned;
}

export interface DiffLine {
  op: "add" | "remove" | "replace";
  /** Readable path: containerDefinitions[loki].environment[S3_BUCKET].value */
  path: string;
  value?: unknown;
  from?: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** The identity of a list item, or undefined when the item has none (then the list is compared as a whole). */
function identity(item: unknown): string | undefined {
  if (!isObj(item)) return undefined;
  const s = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v) : undefined);
  if (s(item.name) !== undefined) return s(item.name);
  if (s(item.key) !== undefined) return s(item.key);
  if (s(item.containerPort) !== undefined) return s(item.containerPort);
  if (s(item.sourceVolume) !== undefined) return `${s(item.sourceVolume)}:${s(item.containerPath) ?? ""}`;
  if (s(item.containerName) !== undefined) return s(item.containerName);
  if (s(item.namespace) !== undefined) return s(item.namespace);
  if (s(item.hostname) !== undefined) return s(item.hostname);
  if (s(item.sourceContainer) !== undefined) return s(item.sourceContainer);
  if (s(item.type) !== undefined && s(item.expression) !== undefined) return `${s(item.type)}:${s(item.expression)}`;
  return undefined;
}

/** Identities for every item, or undefined when any item lacks one; repeats get "#2", "#3" so none is lost. */
function identities(list: readonly unknown[]): string[] | undefined {
  const seen = new Map<string, number>();
  const out: string[] = [];
  for (const item of list) {
    const id = identity(item);
    if (id === undefined) return undefined;
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    out.push(n === 1 ? id : `${id}#${n}`);
  }
  return out;
}

/** Deep equality, key order ignored (ECS answers with its own key order). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && same(a[k], b[k]));
  }
  return false;
}

function walk(from: unknown, to: unknown, path: string, out: DiffLine[]): void {
  if (same(from, to)) return;
  if (isObj(from) && isObj(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])];
    for (const k of keys) {
      const p = path === "" ? k : `${path}.${k}`;
      if (!(k in to)) out.push({ op: "remove", path: p, from: from[k] });
      else if (!(k in from)) out.push({ op: "add", path: p, value: to[k] });
      else walk(from[k], to[k], p, out);
    }
    return;
  }
  if (Array.isArray(from) && Array.isArray(to)) {
    const a = identities(from);
    const b = identities(to);
    if (a !== undefined && b !== undefined) {
      const before = new Map(a.map((id, i) => [id, from[i]]));
      const after = new Map(b.map((id, i) => [id, to[i]]));
      for (const [id, item] of before) if (!after.has(id)) out.push({ op: "remove", path: `${path}[${id}]`, from: item });
      for (const [id, item] of after) {
        if (!before.has(id)) out.push({ op: "add", path: `${path}[${id}]`, value: item });
        else walk(before.get(id), item, `${path}[${id}]`, out);
      }
      return;
    }
  }
  // Scalars, lists without identities (command, entryPoint) and type changes: the whole value.
  out.push({ op: "replace", path, from, value: to });
}

/** The changes from `running` (undefined: nothing runs yet) to `rendered`, items matched by identity. */
export function diffValues(running: unknown, rendered: unknown): DiffLine[] {
  const out: DiffLine[] = [];
  walk(running ?? {}, JSON.parse(JSON.stringify(rendered)), "", out);
  return out;
}

export async function diffTaskDefinitions(running: Record<string, unknown> | undefined, rendered: RegisterTaskDefinitionCommandInput): Promise<DiffLine[]> {
  return diffValues(running, rendered);
}

export function formatDiff(lines: readonly DiffLine[]): string[] {
  if (lines.length === 0) return ["(no changes)"];
  const show = (v: unknown) => JSON.stringify(v);
  return lines.map((l) => (l.op === "add" ? `+ ${l.path}: ${show(l.value)}` : l.op === "remove" ? `- ${l.path}: ${show(l.from)}` : `~ ${l.path}: ${show(l.from)} -> ${show(l.value)}`));
}
