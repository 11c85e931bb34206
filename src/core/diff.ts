/**
 * What would change between the running task definition and the rendered one. The diff itself is jsondiffpatch's;
 * this module only normalizes both sides (fields ECS adds on registration) and prints RFC 6902 operations.
 */
import type { RegisterTaskDefinitionCommandInput, Tag, TaskDefinition } from "@aws-sdk/client-ecs";
import { vendor } from "../adapters/vendor.js";

/** Returned by DescribeTaskDefinition but not accepted by RegisterTaskDefinition. */
const SERVER_FIELDS = ["taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt"];

// Loaded on first use: only diff and deploy --dry-run need it.
async function jsonPatch(from: unknown, to: unknown) {
  const { createDiffPatcher, toJsonPatch } = await vendor();
  const differ = createDiffPatcher({
    // Match array items by identity rather than position: containers by name, env vars by name, ports by number.
    objectHash: (item: object, index?: number) => {
      const o = item as Record<string, unknown>;
      return String(o.name ?? o.containerPort ?? o.key ?? o.sourceVolume ?? `$$index:${index}`);
    },
    arrays: { detectMove: false },
  });
  const delta = differ.diff(from, to);
  return delta === undefined ? [] : toJsonPatch(delta);
}

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
  // lgtm:outcome* tags record how a release of this revision went (engine/targets.ts); they are not rendered.
  const rendered = tags.filter((t) => !t.key?.startsWith("lgtm:outcome"));
  if (rendered.length > 0) out.tags = rendered;
  const cleaned = dropDefaults(out) as Record<string, unknown>;
  if (Array.isArray(cleaned.containerDefinitions)) {
    cleaned.containerDefinitions = cleaned.containerDefinitions.map((c: Record<string, unknown>) => {
      const { cpu, ...rest } = c;
      return cpu === 0 ? rest : c;
    });
  }
  return cleaned;
}

/** /containerDefinitions/0/environment/3/value -> containerDefinitions[tempo].environment[S3_BUCKET].value */
function readablePath(pointer: string, ...roots: unknown[]): string {
  const parts = pointer.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  let out = "";
  let nodes = roots;
  for (const part of parts) {
    const items = nodes.map((n) => (n !== null && typeof n === "object" ? (n as Record<string, unknown>)[part] : undefined));
    if (/^\d+$/.test(part) && nodes.some(Array.isArray)) {
      const item = items.find((i) => i !== null && typeof i === "object") as Record<string, unknown> | undefined;
      const id = item?.name ?? item?.key ?? item?.containerPort;
      out += id === undefined ? `[${part}]` : `[${String(id)}]`;
    } else {
      out += out === "" ? part : `.${part}`;
    }
    nodes = items;
  }
  return out;
}

export interface DiffLine {
  op: "add" | "remove" | "replace";
  path: string;
  value?: unknown;
  from?: unknown;
}

const lookup = (root: unknown, pointer: string): unknown =>
  pointer
    .split("/")
    .slice(1)
    .reduce<unknown>((node, key) => (node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined), root);

export async function diffTaskDefinitions(running: Record<string, unknown> | undefined, rendered: RegisterTaskDefinitionCommandInput): Promise<DiffLine[]> {
  const target = JSON.parse(JSON.stringify(rendered)) as Record<string, unknown>;
  return (await jsonPatch(running ?? {}, target))
    .filter((op) => op.op === "add" || op.op === "remove" || op.op === "replace")
    .map((op) => ({
      op: op.op as DiffLine["op"],
      path: readablePath(op.path, op.op === "add" ? target : running, target),
      ...("value" in op ? { value: op.value } : {}),
      ...(op.op === "replace" || op.op === "remove" ? { from: lookup(running, op.path) } : {}),
    }));
}

export function formatDiff(lines: readonly DiffLine[]): string[] {
  if (lines.length === 0) return ["(no changes)"];
  const show = (v: unknown) => JSON.stringify(v);
  return lines.map((l) => (l.op === "add" ? `+ ${l.path}: ${show(l.value)}` : l.op === "remove" ? `- ${l.path}: ${show(l.from)}` : `~ ${l.path}: ${show(l.from)} -> ${show(l.value)}`));
}
