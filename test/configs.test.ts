/**
 * Config checks for the baked image configurations (dockerfiles/<component>/).
 *
 * - every YAML file parses (before and after ${VAR} expansion);
 * - every key path exists in the pinned upstream version (key lists vendored in test/fixtures/upstream/);
 * - every Alloy component exists in Alloy 1.18 and every reference resolves;
 * - the Fargate-critical settings are present (interfaces, joins, flush on shutdown, S3 layout, ...);
 * - every ${VAR} a config reads is provided by its rendered task definition (prod AND local), and every port a config
 *   listens on or points at is in the catalogue.
 * Each check is a function returning problems; the negative tests at the bottom prove each one can fail.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { Project } from "../src/adapters/files.js";
import { CATALOGUE, COMPONENT_NAMES, discoveryName, type ComponentName } from "../src/core/catalogue.js";
import type { Environment } from "../src/core/environment.js";
import { effectiveSizing, renderService, renderTaskDefinition } from "../src/core/render.js";
import { rollingContext, TARGET_HEALTH_CHECK } from "../src/core/effective-config.js";
import { isDataComponent, lokiSchema, s3PrefixesFor } from "../src/core/migration.js";
import { checkClusterLabels, checkRollingSafety, MIN_FLUSH_BUDGET_SECONDS, STARTUP_ALLOWANCE_SECONDS } from "../src/core/rolling.js";
import { parseDuration as parseDurationSeconds } from "../src/core/duration.js";
import { parseEnvironment } from "../src/core/environment.js";
import { makeTag } from "../src/core/tag.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FIXTURES = path.join(ROOT, "test", "fixtures", "upstream");
const project = new Project(ROOT);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** The config files each image bakes, relative to dockerfiles/<component>/. */
const CONFIG_FILES: Record<ComponentName, string[]> = {
  mimir: ["mimir.yaml"],
  loki: ["config.yaml"],
  tempo: ["tempo.yaml"],
  pyroscope: ["config.yaml"],
  grafana: ["grafana.ini", "provisioning/datasources/lgtm.yaml"],
  alloy: ["config.alloy"],
};

/** Upstream key lists each YAML file must satisfy (Mimir: both lists, so a key must exist in 3.0.2 and in 3.1). */
const KEY_LISTS: Partial<Record<ComponentName, string[]>> = {
  mimir: ["mimir-3.0.2.keys.json", "mimir.keys.json"],
  loki: ["loki.keys.json"],
  tempo: ["tempo.keys.json"],
  pyroscope: ["pyroscope.keys.json"],
};

type Files = Record<string, string>;

function readConfigs(component: ComponentName): Files {
  return Object.fromEntries(CONFIG_FILES[component].map((f) => [f, readFileSync(path.join(ROOT, "dockerfiles", component, f), "utf8")]));
}

// ---------------------------------------------------------------------------------------------------------------
// Upstream key lists

interface KeyList {
  name: string;
  exact: Set<string>;
  wildcard: string[][];
  freeform: string[];
}

const keyListCache = new Map<string, KeyList>();
function keyList(file: string): KeyList {
  let list = keyListCache.get(file);
  if (list === undefined) {
    const raw = JSON.parse(readFileSync(path.join(FIXTURES, file), "utf8")) as { keys: string[]; freeform: string[] };
    list = {
      name: file,
      exact: new Set(raw.keys),
      wildcard: raw.keys.filter((k) => k.split(".").includes("*")).map((k) => k.split(".")),
      freeform: raw.freeform.map((p) => p.replace(/\.\*$/, "")),
    };
    keyListCache.set(file, list);
  }
  return list;
}

function keyValid(list: KeyList, key: string): boolean {
  if (list.exact.has(key)) return true;
  if (list.freeform.some((f) => key === f || key.startsWith(`${f}.`) || key.startsWith(`${f}[]`))) return true;
  const segs = key.split(".");
  return list.wildcard.some((w) => w.length === segs.length && w.every((s, i) => s === "*" || s === segs[i]));
}

/** Every mapping key's dotted path ("[]" for list items), as the README of the key lists describes. */
export function keyPaths(doc: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown, prefix: string): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, `${prefix}[]`);
      return;
    }
    if (!isObj(node)) return;
    for (const [k, v] of Object.entries(node)) {
      const p = prefix === "" ? k : `${prefix}.${k}`;
      out.push(p);
      walk(v, p);
    }
  };
  walk(doc, "");
  return out;
}

function checkKeys(component: ComponentName, files: Files): string[] {
  if (KEY_LISTS[component] === undefined) return [];
  const problems: string[] = [];
  for (const [file, text] of Object.entries(files)) problems.push(...checkDocKeys(component, parseYaml(text, file, problems), file));
  return problems;
}

/** Key check of one parsed document (also run on the expanded config: a variable can hold YAML, e.g. Loki's schema). */
function checkDocKeys(component: ComponentName, doc: unknown, file: string): string[] {
  const lists = KEY_LISTS[component];
  if (lists === undefined) return [];
  const problems: string[] = [];
  for (const key of keyPaths(doc)) {
    for (const l of lists) {
      // Freeform subtrees (receivers, labels) stop the walk below them.
      if (!keyValid(keyList(l), key)) problems.push(`${component}/${file}: key "${key}" does not exist upstream (${l})`);
    }
  }
  return problems;
}

function parseYaml(text: string, file: string, problems: string[]): unknown {
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) {
    problems.push(`${file}: YAML parse error: ${doc.errors[0]!.message}`);
    return undefined;
  }
  return doc.toJS();
}

// ---------------------------------------------------------------------------------------------------------------
// Environment variables: syntax, provided by the rendered task definition, expansion

type Dialect = "mimir" | "envsubst" | "grafana" | "alloy" | "ini";
const DIALECT: Record<ComponentName, Dialect> = {
  mimir: "mimir",
  loki: "envsubst",
  tempo: "envsubst",
  pyroscope: "envsubst",
  grafana: "grafana",
  alloy: "alloy",
};

const VAR = /^\$\{([A-Z_][A-Z0-9_]*)\}/;
/** Variables that are legitimately empty: the compactor's disabled tenants outside a cutover. */
const MAY_BE_EMPTY = new Set(["MIMIR_COMPACTOR_DISABLED_TENANTS", "PYROSCOPE_COMPACTOR_DISABLED_TENANTS"]);

/** The variables a config reads, plus problems with the syntax (only plain ${VAR}; Alloy: sys.env("VAR")). */
export function configVariables(text: string, dialect: Dialect, file: string): { vars: Set<string>; problems: string[] } {
  const vars = new Set<string>();
  const problems: string[] = [];
  if (dialect === "alloy") {
    for (const m of text.matchAll(/\b(?:sys\.)?env\(\s*"([^"]*)"\s*\)/g)) vars.add(m[1]!);
    if (/\bconstants\.|\$\{/.test(text)) problems.push(`${file}: use sys.env("NAME") only`);
    return { vars, problems };
  }
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "$") continue;
    if (dialect === "grafana" && text[i + 1] === "$") {
      i += 1; // "$$" is Grafana's literal "$"
      continue;
    }
    const m = VAR.exec(text.slice(i));
    if (m === null) {
      const line = text.slice(0, i).split("\n").length;
      const what = dialect === "mimir" ? "Mimir cannot escape a literal $" : "use plain ${VAR} only";
      problems.push(`${file}:${line}: "${text.slice(i, i + 20).split("\n")[0]}" is not a plain \${VAR} (${what})`);
      continue;
    }
    vars.add(m[1]!);
    i += m[0].length - 1;
  }
  return { vars, problems };
}

function expand(text: string, dialect: Dialect, env: Readonly<Record<string, string>>): string {
  if (dialect === "alloy" || dialect === "ini") return text;
  return text.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)\}/g, (m, name: string | undefined) => (name === undefined ? (dialect === "grafana" ? "$" : m) : (env[name] ?? "")));
}

const SAMPLE_TAG = makeTag({ version: "1.0.0", sha: "0123456" });

interface Rendered {
  env: Record<string, string>;
  container: Obj;
  td: ReturnType<typeof renderTaskDefinition>;
}

function renderContainer(component: ComponentName, environment: Environment): Rendered {
  const td = renderTaskDefinition(component, environment, { tag: SAMPLE_TAG }, project.templates(component).taskDefinition);
  const container = (td.containerDefinitions ?? []).find((c) => c.name === component) as Obj | undefined;
  assert.ok(container, `${component}: rendered task definition has no container named ${component}`);
  const env: Record<string, string> = {};
  for (const kv of (container.environment as Array<{ name: string; value: string }> | undefined) ?? []) env[kv.name] = kv.value;
  for (const s of (container.secrets as Array<{ name: string }> | undefined) ?? []) env[s.name] = "<secret>";
  return { env, container, td };
}

function checkVariables(component: ComponentName, files: Files, rendered: Rendered, envName: string): string[] {
  const problems: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    const dialect: Dialect = file.endsWith(".ini") ? "ini" : DIALECT[component];
    if (dialect === "ini") {
      if (text.includes("$")) problems.push(`${component}/${file}: no variables in grafana.ini (GF_* environment variables override it)`);
      continue;
    }
    const { vars, problems: syntax } = configVariables(text, dialect, `${component}/${file}`);
    problems.push(...syntax);
    for (const v of vars) {
      if (!(v in rendered.env)) problems.push(`${component}/${file}: reads \${${v}}, which the rendered task definition (${envName}) does not provide`);
      else if (rendered.env[v] === "" && !MAY_BE_EMPTY.has(v)) problems.push(`${component}/${file}: \${${v}} is empty in the rendered task definition (${envName})`);
      // An empty value must stay a string (""), not become YAML null.
      if (MAY_BE_EMPTY.has(v) && !text.includes(`"\${${v}}"`)) problems.push(`${component}/${file}: \${${v}} may be empty and must be double-quoted`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Ports

const portOf = (endpoint: unknown): number | undefined => {
  const m = /:(\d+)$/.exec(String(endpoint ?? ""));
  return m ? Number(m[1]) : undefined;
};
const get = (doc: unknown, dotted: string): unknown =>
  dotted.split(".").reduce<unknown>((node, key) => (isObj(node) ? node[key] : undefined), doc);

/** Ports each backend listens on, with the upstream defaults for anything the config leaves out. */
export function listeningPorts(component: ComponentName, doc: unknown, files: Files): number[] {
  const http: Record<string, number> = { mimir: 8080, loki: 3100, tempo: 3200, pyroscope: 4040 };
  const ports: number[] = [];
  if (component === "grafana") {
    const m = /^\s*http_port\s*=\s*(\d+)/m.exec(files["grafana.ini"] ?? "");
    return [m ? Number(m[1]) : 3000];
  }
  if (component === "alloy") {
    const df = readFileSync(path.join(ROOT, "dockerfiles", "alloy", "Dockerfile"), "utf8");
    const listen = /--server\.http\.listen-addr=([^"\s]+)/.exec(df)?.[1] ?? "127.0.0.1:12345";
    ports.push(portOf(listen)!);
    const text = files["config.alloy"] ?? "";
    const otlp = /otelcol\.receiver\.otlp\s+"[^"]+"\s*\{([\s\S]*?)\n\}/.exec(text)?.[1] ?? "";
    for (const proto of ["grpc", "http"] as const) {
      const block = new RegExp(`\\b${proto}\\s*\\{([^}]*)\\}`).exec(otlp);
      if (block) ports.push(portOf(/endpoint\s*=\s*"([^"]+)"/.exec(block[1]!)?.[1]) ?? (proto === "grpc" ? 4317 : 4318));
    }
    return ports;
  }
  ports.push(Number(get(doc, "server.http_listen_port") ?? http[component]));
  ports.push(Number(get(doc, "server.grpc_listen_port") ?? 9095));
  const stores = keyPaths(doc).filter((k) => k.endsWith("kvstore.store")).map((k) => get(doc, k));
  const joins = get(doc, "memberlist.join_members");
  const usesMemberlist = (Array.isArray(joins) && joins.length > 0) || stores.some((s) => s === "memberlist") || (component !== "tempo" && stores.length === 0);
  if (usesMemberlist) ports.push(Number(get(doc, "memberlist.bind_port") ?? 7946));
  const receivers = get(doc, "distributor.receivers");
  if (isObj(receivers)) {
    for (const k of keyPaths(receivers).filter((p) => p.endsWith(".endpoint"))) {
      const p = portOf(get(receivers, k));
      if (p !== undefined) ports.push(p);
    }
  }
  return ports;
}

/**
 * Ports a config listens on that the catalogue does not expose, each with its reason. Pyroscope 1.x serves its APIs
 * (connect-go) on the HTTP port; dskit still opens the gRPC listener, which nothing outside the task uses.
 */
const NOT_EXPOSED: Partial<Record<ComponentName, number[]>> = { pyroscope: [9095] };

function checkPorts(component: ComponentName, doc: unknown, files: Files): string[] {
  const problems: string[] = [];
  const known = CATALOGUE[component].ports.map((p) => p.containerPort);
  for (const port of listeningPorts(component, doc, files)) {
    if (!known.includes(port) && !(NOT_EXPOSED[component] ?? []).includes(port)) {
      problems.push(`${component}: listens on port ${port}, which is not a ${component} port in the catalogue (${known.join(", ")})`);
    }
  }
  const http = CATALOGUE[component].ports.find((p) => p.name === "http")!.containerPort;
  if (!listeningPorts(component, doc, files).includes(http)) problems.push(`${component}: does not listen on its catalogue HTTP port ${http}`);
  // Addresses of other components: <component>.${LGTM_NAMESPACE}:<port> (YAML) or "<component>.%s:<port>" (Alloy).
  for (const [file, text] of Object.entries(files)) {
    for (const m of text.matchAll(/\b(mimir|loki|tempo|pyroscope|grafana|alloy)\.(?:\$\{LGTM_NAMESPACE\}|%s|lgtm\.local):(\d+)/g)) {
      const target = m[1] as ComponentName;
      const port = Number(m[2]);
      if (!CATALOGUE[target].ports.some((p) => p.containerPort === port)) {
        problems.push(`${component}/${file}: points at ${target} port ${port}, which is not a ${target} port in the catalogue`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Alloy

const ALLOY_CONFIG_BLOCKS = new Set(["logging", "tracing", "livedebugging", "http", "remotecfg", "foreach"]);

/** Strips // and block comments outside strings. */
function stripAlloyComments(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
      continue;
    }
    out += c;
  }
  return out;
}

export function alloyComponents(text: string): { defined: Array<{ name: string; label: string }>; references: string[]; problems: string[] } {
  const src = stripAlloyComments(text);
  const problems: string[] = [];
  const defined: Array<{ name: string; label: string }> = [];
  let depth = 0;
  for (const [i, line] of src.split("\n").entries()) {
    if (depth === 0) {
      const comp = /^\s*([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+)\s+"([^"]+)"\s*\{/.exec(line);
      const block = /^\s*([a-z_][a-z0-9_]*)\s*\{/.exec(line);
      if (comp) defined.push({ name: comp[1]!, label: comp[2]! });
      else if (block) {
        if (!ALLOY_CONFIG_BLOCKS.has(block[1]!)) problems.push(`config.alloy:${i + 1}: unknown top-level block "${block[1]}"`);
      } else if (line.trim() !== "" && !line.trim().startsWith("}")) problems.push(`config.alloy:${i + 1}: unexpected top-level statement "${line.trim()}"`);
    }
    const noStrings = line.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    depth += (noStrings.match(/\{/g) ?? []).length - (noStrings.match(/\}/g) ?? []).length;
    if (depth < 0) problems.push(`config.alloy:${i + 1}: unbalanced "}"`);
  }
  if (depth !== 0) problems.push(`config.alloy: ${depth} unclosed block(s)`);
  const references = [...src.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/\b((?:otelcol|prometheus|loki|pyroscope|discovery|local|remote|faro|beyla)\.[a-z0-9_.]+?)\.(input|receiver|targets|output|exports)\b/g)].map((m) => m[1]!);
  return { defined, references, problems };
}

function checkAlloy(files: Files, rendered: Rendered): string[] {
  const text = files["config.alloy"] ?? "";
  const list = JSON.parse(readFileSync(path.join(FIXTURES, "alloy.components.json"), "utf8")) as { components: string[]; stability: Record<string, string> };
  const { defined, references, problems } = alloyComponents(text);
  for (const c of defined) {
    if (!list.components.includes(c.name)) problems.push(`config.alloy: component ${c.name} does not exist in Alloy 1.18`);
    else if (list.stability[c.name] !== "generally-available") problems.push(`config.alloy: component ${c.name} is ${list.stability[c.name]}, not generally available`);
  }
  const names = new Set(defined.map((c) => `${c.name}.${c.label}`));
  for (const ref of references) if (!names.has(ref)) problems.push(`config.alloy: reference to ${ref}, which is not defined`);
  const has = (name: string) => defined.some((c) => c.name === name);
  for (const need of ["otelcol.receiver.otlp", "otelcol.exporter.otlp", "prometheus.remote_write", "loki.write", "prometheus.exporter.cloudwatch", "prometheus.scrape"]) {
    if (!has(need)) problems.push(`config.alloy: ${need} is required`);
  }
  const src = stripAlloyComments(text);
  for (const ns of ["AWS/ECS", "ECS/ContainerInsights", "AWS/RDS", "AWS/ApplicationELB", "AWS/NetworkELB", "AWS/ElastiCache"]) {
    if (!src.includes(`type    = "${ns}"`) && !new RegExp(`type\\s*=\\s*"${ns.replace("/", "\\/")}"`).test(src)) problems.push(`config.alloy: CloudWatch discovery for ${ns} is missing`);
  }
  if (!/sts_region\s*=\s*sys\.env\("CLOUDWATCH_REGION"\)/.test(src)) problems.push(`config.alloy: the CloudWatch region must come from sys.env("CLOUDWATCH_REGION")`);
  for (const m of src.matchAll(/regions\s*=\s*\[([^\]]*)\]/g)) if (m[1]!.trim() !== 'sys.env("CLOUDWATCH_REGION")') problems.push(`config.alloy: regions must be [sys.env("CLOUDWATCH_REGION")]`);
  if (rendered.env.CLOUDWATCH_REGION === undefined) problems.push("alloy: CLOUDWATCH_REGION missing from the task definition");
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Fargate-critical settings, per component (on the expanded document)

const eth1 = (doc: unknown, key: string): string | undefined => {
  const v = get(doc, key);
  return Array.isArray(v) && v.length === 1 && v[0] === "eth1" ? undefined : `${key} must be [eth1] (got ${JSON.stringify(v)})`;
};
const equal = (doc: unknown, key: string, want: unknown): string | undefined => {
  const v = get(doc, key);
  return JSON.stringify(v) === JSON.stringify(want) ? undefined : `${key} must be ${JSON.stringify(want)} (got ${JSON.stringify(v)})`;
};
const noStaticKeys = (doc: unknown): string[] =>
  keyPaths(doc)
    .filter((k) => /(access_key_id|secret_access_key|session_token|secret_key)$/.test(k) && get(doc, k) !== undefined && get(doc, k) !== "")
    .map((k) => `${k}: S3 credentials come from the task role, never from the config`);

const MIMIR_RINGS = [
  "ingester.ring.instance_interface_names",
  "distributor.ring.instance_interface_names",
  "store_gateway.sharding_ring.instance_interface_names",
  "compactor.sharding_ring.instance_interface_names",
  "ruler.ring.instance_interface_names",
  "alertmanager.sharding_ring.instance_interface_names",
  "query_scheduler.ring.instance_interface_names",
  "overrides_exporter.ring.instance_interface_names",
  "frontend.instance_interface_names",
];
const TEMPO_RINGS = [
  "distributor.ring.instance_interface_names",
  "ingester.lifecycler.interface_names",
  "compactor.ring.instance_interface_names",
  "metrics_generator.ring.instance_interface_names",
];
const PYROSCOPE_RINGS = [
  "ingester.lifecycler.interface_names",
  "distributor.ring.instance_interface_names",
  "store_gateway.sharding_ring.instance_interface_names",
  "compactor.sharding_ring.instance_interface_names",
];
const MIMIR_PREFIX = /^[\da-zA-Z]+$/;
const LOKI_PREFIX = /^[\da-zA-Z-]+$/;

function checkSettings(component: ComponentName, doc: unknown, files: Files, environment: Environment, rendered: Rendered): string[] {
  const p: Array<string | undefined> = [];
  const ns = environment.cloudMap.namespace;
  const join = `dns+${discoveryName(component, ns)}:7946`;
  // The layout the environment says the old data uses (migration.prefixes; default: the catalogue).
  const prefixes = s3PrefixesFor(component, environment);
  const sizing = effectiveSizing(component, environment);
  const s3Endpoint = `s3.${environment.region}.amazonaws.com`;
  switch (component) {
    case "mimir": {
      p.push(equal(doc, "memberlist.join_members", [join]), equal(doc, "memberlist.abort_if_cluster_join_fails", false));
      p.push(...MIMIR_RINGS.map((k) => eth1(doc, k)));
      p.push(equal(doc, "server.http_listen_port", CATALOGUE.mimir.ports.find((x) => x.name === "http")!.containerPort));
      p.push(equal(doc, "common.storage.backend", "s3"), equal(doc, "common.storage.s3.bucket_name", environment.s3Bucket), equal(doc, "common.storage.s3.endpoint", s3Endpoint));
      const want = { blocks_storage: prefixes.blocks, ruler_storage: prefixes.ruler, alertmanager_storage: prefixes.alertmanager };
      for (const [block, prefix] of Object.entries(want)) {
        p.push(equal(doc, `${block}.storage_prefix`, prefix));
        const got = String(get(doc, `${block}.storage_prefix`));
        if (!MIMIR_PREFIX.test(got)) p.push(`${block}.storage_prefix "${got}": Mimir accepts letters and digits only`);
      }
      if (new Set(Object.values(want)).size !== 3) p.push("Mimir's blocks, ruler and alertmanager prefixes must differ");
      p.push(equal(doc, "blocks_storage.tsdb.flush_blocks_on_shutdown", true));
      const dir = String(get(doc, "blocks_storage.tsdb.dir") ?? "./tsdb/");
      if (!dir.startsWith("/")) p.push(`blocks_storage.tsdb.dir must be an absolute path on the task's ephemeral storage (got ${dir})`);
      p.push(equal(doc, "ingester.ring.replication_factor", sizing.replicationFactor));
      break;
    }
    case "loki": {
      p.push(eth1(doc, "common.instance_interface_names"));
      p.push(equal(doc, "memberlist.join_members", [join]), equal(doc, "memberlist.abort_if_cluster_join_fails", false));
      p.push(equal(doc, "storage_config.use_thanos_objstore", true));
      p.push(equal(doc, "common.storage.object_store.s3.bucket_name", environment.s3Bucket), equal(doc, "common.storage.object_store.s3.endpoint", s3Endpoint));
      const prefix = String(get(doc, "common.storage.object_store.storage_prefix"));
      if (`${prefix}/` !== prefixes.storage) p.push(`common.storage.object_store.storage_prefix "${prefix}" does not give the existing layout "${prefixes.storage}"`);
      if (!LOKI_PREFIX.test(prefix)) p.push(`common.storage.object_store.storage_prefix "${prefix}": Loki accepts letters, digits and dashes only`);
      const schemas = get(doc, "schema_config.configs");
      const last = Array.isArray(schemas) ? (schemas.at(-1) as Obj | undefined) : undefined;
      if (last?.store !== "tsdb" || last.schema !== "v13" || last.object_store !== "s3") p.push("schema_config: the current period must be tsdb / v13 / s3");
      // Every period of the old stack, as the environment lists them (migration.lokiSchema).
      p.push(equal(doc, "schema_config.configs", lokiSchema(environment)));
      p.push(equal(doc, "ingester.wal.flush_on_shutdown", true), equal(doc, "ingester.autoforget_unhealthy", true));
      p.push(equal(doc, "common.replication_factor", sizing.replicationFactor));
      break;
    }
    case "tempo": {
      p.push(...TEMPO_RINGS.map((k) => eth1(doc, k)));
      p.push(equal(doc, "distributor.receivers.otlp.protocols.grpc.endpoint", "0.0.0.0:4317"), equal(doc, "distributor.receivers.otlp.protocols.http.endpoint", "0.0.0.0:4318"));
      p.push(equal(doc, "storage.trace.backend", "s3"), equal(doc, "storage.trace.s3.bucket", environment.s3Bucket), equal(doc, "storage.trace.s3.prefix", prefixes.storage));
      p.push(equal(doc, "storage.trace.s3.endpoint", s3Endpoint));
      p.push(equal(doc, "ingester.flush_all_on_shutdown", true));
      // A single monolithic instance: rings in memory, never shared with a second Tempo.
      if (sizing.desiredCount !== 1) p.push(`tempo runs ${sizing.desiredCount} tasks; the in-memory rings assume exactly 1`);
      for (const k of keyPaths(doc).filter((x) => x.endsWith("kvstore.store"))) p.push(equal(doc, k, "inmemory"));
      break;
    }
    case "pyroscope": {
      p.push(...PYROSCOPE_RINGS.map((k) => eth1(doc, k)));
      p.push(equal(doc, "memberlist.join_members", [join]), equal(doc, "memberlist.abort_if_cluster_join_fails", false));
      p.push(equal(doc, "storage.backend", "s3"), equal(doc, "storage.prefix", prefixes.storage), equal(doc, "storage.s3.bucket_name", environment.s3Bucket));
      p.push(equal(doc, "storage.s3.endpoint", s3Endpoint));
      const threshold = Number(get(doc, "pyroscopedb.min_free_disk_gb") ?? 10);
      const disk = sizing.ephemeralStorageGiB ?? 20;
      // Retention starts deleting local blocks below the threshold: it must leave most of the disk usable.
      if (!(threshold > 0 && threshold <= disk / 4)) p.push(`pyroscopedb.min_free_disk_gb ${threshold} does not suit ${disk} GiB of ephemeral storage (want 1..${disk / 4})`);
      break;
    }
    case "grafana": {
      p.push(...checkGrafana(doc, files, environment, rendered));
      break;
    }
    case "alloy":
      break;
  }
  if (component !== "grafana" && component !== "alloy") p.push(...noStaticKeys(doc));
  return p.filter((x): x is string => x !== undefined).map((x) => `${component}: ${x}`);
}

function checkGrafana(doc: unknown, files: Files, environment: Environment, rendered: Rendered): string[] {
  const p: string[] = [];
  const list = get(doc, "datasources");
  const sources = Array.isArray(list) ? (list as Obj[]) : [];
  const want: Array<{ uid: string; type: string; component: ComponentName; path: string }> = [
    { uid: "mimir", type: "prometheus", component: "mimir", path: "/prometheus" },
    { uid: "loki", type: "loki", component: "loki", path: "" },
    { uid: "tempo", type: "tempo", component: "tempo", path: "" },
    { uid: "pyroscope", type: "grafana-pyroscope-datasource", component: "pyroscope", path: "" },
  ];
  const uids = new Set(sources.map((s) => s.uid));
  for (const w of want) {
    const ds = sources.find((s) => s.uid === w.uid);
    if (ds === undefined) {
      p.push(`datasource with uid "${w.uid}" is missing`);
      continue;
    }
    if (ds.type !== w.type) p.push(`datasource ${w.uid}: type must be ${w.type}`);
    const http = CATALOGUE[w.component].ports.find((x) => x.name === "http")!.containerPort;
    const url = `http://${discoveryName(w.component, environment.cloudMap.namespace)}:${http}${w.path}`;
    if (ds.url !== url) p.push(`datasource ${w.uid}: url must be ${url} (got ${String(ds.url)})`);
  }
  // Every datasourceUid anywhere must name a provisioned datasource.
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${where}[${i}]`));
    else if (isObj(node)) {
      for (const [k, v] of Object.entries(node)) {
        if (k === "datasourceUid" && !uids.has(v)) p.push(`${where}.${k}: "${String(v)}" is not a provisioned datasource uid`);
        walk(v, `${where}.${k}`);
      }
    }
  };
  walk(sources, "datasources");
  const json = (uid: string, key: string) => get(sources.find((s) => s.uid === uid)?.jsonData, key);
  const links: Array<[string, string, string]> = [
    ["tempo", "tracesToLogsV2.datasourceUid", "loki"],
    ["tempo", "tracesToMetrics.datasourceUid", "mimir"],
    ["tempo", "tracesToProfiles.datasourceUid", "pyroscope"],
    ["tempo", "serviceMap.datasourceUid", "mimir"],
    ["tempo", "lokiSearch.datasourceUid", "loki"],
  ];
  for (const [uid, key, target] of links) if (json(uid, key) !== target) p.push(`datasource ${uid}: jsonData.${key} must be "${target}"`);
  const exemplars = json("mimir", "exemplarTraceIdDestinations");
  if (!Array.isArray(exemplars) || !exemplars.some((e) => isObj(e) && e.datasourceUid === "tempo")) p.push("datasource mimir: exemplars must link to tempo");
  const derived = json("loki", "derivedFields");
  if (!Array.isArray(derived) || !derived.some((e) => isObj(e) && e.datasourceUid === "tempo")) p.push("datasource loki: derived fields must link trace ids to tempo");
  // Database and admin password: environment and secrets, never the file.
  const ini = files["grafana.ini"] ?? "";
  if (/^\s*\[database\]/m.test(ini) || /^\s*(admin_password|password)\s*=/m.test(ini)) p.push("grafana.ini: database and passwords come from GF_DATABASE_* / secrets, not the file");
  const secrets = ((rendered.container.secrets as Array<{ name: string }> | undefined) ?? []).map((s) => s.name);
  for (const s of ["GF_SECURITY_ADMIN_PASSWORD", "GF_DATABASE_PASSWORD"]) if (!secrets.includes(s)) p.push(`task definition: ${s} must come from secrets`);
  for (const e of ["GF_DATABASE_TYPE", "GF_DATABASE_HOST", "GF_DATABASE_NAME", "GF_DATABASE_USER", "GF_DATABASE_SSL_MODE"]) if (!(e in rendered.env)) p.push(`task definition: ${e} missing`);
  const dbType = rendered.env.GF_DATABASE_TYPE;
  if (environment.name === "local" ? dbType !== "sqlite3" : dbType === "sqlite3") p.push(`environment ${environment.name}: database type ${dbType} (SQLite is for local only: Fargate's disk is wiped on every deploy)`);
  return p;
}

// ---------------------------------------------------------------------------------------------------------------
// Everything for one component and one environment

function checkComponent(component: ComponentName, files: Files, environment: Environment): string[] {
  const rendered = renderContainer(component, environment);
  const problems = [...checkKeys(component, files), ...checkVariables(component, files, rendered, environment.name)];
  const yamlFile = Object.keys(files).find((f) => f.endsWith(".yaml"));
  let doc: unknown;
  if (yamlFile !== undefined) {
    const parseProblems: string[] = [];
    doc = parseYaml(expand(files[yamlFile]!, DIALECT[component], rendered.env), `${component}/${yamlFile} (expanded for ${environment.name})`, parseProblems);
    problems.push(...parseProblems, ...checkDocKeys(component, doc, `${yamlFile} (expanded for ${environment.name})`));
  }
  if (isDataComponent(component)) {
    const svc = renderService(component, environment, { tag: SAMPLE_TAG }, project.templates(component).service);
    problems.push(...checkRollingSafety(rollingContext(component, doc, environment, rendered.td, svc)).map((p) => `${component}: rolling-safe: ${p.message}`));
  }
  if (component === "alloy") problems.push(...checkAlloy(files, rendered));
  problems.push(...checkPorts(component, doc, files));
  problems.push(...checkSettings(component, doc, files, environment, rendered));
  return problems;
}

const ENVIRONMENTS = ["prod", "local"] as const;
const environments = Object.fromEntries(ENVIRONMENTS.map((e) => [e, project.environment(e)])) as Record<(typeof ENVIRONMENTS)[number], Environment>;

describe("image configs", () => {
  for (const component of COMPONENT_NAMES) {
    for (const envName of ENVIRONMENTS) {
      it(`${component} (${envName}): keys, variables, ports and Fargate settings`, () => {
        assert.deepEqual(checkComponent(component, readConfigs(component), environments[envName]), []);
      });
    }
  }

  it("every YAML config parses as written (before expansion)", () => {
    for (const component of COMPONENT_NAMES) {
      for (const [file, text] of Object.entries(readConfigs(component))) {
        if (!file.endsWith(".yaml")) continue;
        const problems: string[] = [];
        parseYaml(text, file, problems);
        assert.deepEqual(problems, [], `${component}/${file}`);
      }
    }
  });

  it("loki follows the replication-factor default: RF 1 with 2 tasks, RF 3 when the environment runs 3", () => {
    const prod = environments.prod;
    assert.equal(renderContainer("loki", prod).env.REPLICATION_FACTOR, "1");
    const three: Environment = { ...prod, components: { ...prod.components, loki: { desiredCount: 3 } } };
    assert.equal(renderContainer("loki", three).env.REPLICATION_FACTOR, "3");
    assert.deepEqual(checkComponent("loki", readConfigs("loki"), three), []);
  });

  it("the catalogue's Mimir prefixes are valid Mimir prefixes and the other components keep their folders", () => {
    for (const prefix of Object.values(CATALOGUE.mimir.s3Prefixes)) assert.match(prefix, MIMIR_PREFIX);
    assert.deepEqual(CATALOGUE.mimir.s3Prefixes, { blocks: "blocks", ruler: "rules", alertmanager: "alerts" });
    assert.equal(CATALOGUE.loki.s3Prefixes.storage, "ftt-loki/");
    assert.equal(CATALOGUE.tempo.s3Prefixes.storage, "ftt-tempo/");
    assert.equal(CATALOGUE.pyroscope.s3Prefixes.storage, "ftt-pyroscope/");
  });

  it("a container healthCheck exists only for grafana (curl /api/health) and loki (loki -health)", () => {
    for (const component of COMPONENT_NAMES) {
      const hc = renderContainer(component, environments.prod).container.healthCheck as { command?: string[] } | undefined;
      if (component === "grafana") assert.match(hc?.command?.join(" ") ?? "", /^CMD-SHELL curl -fsS http:\/\/localhost:3000\/api\/health/);
      else if (component === "loki") assert.deepEqual(hc?.command, ["CMD", "/usr/bin/loki", "-health"]);
      else assert.equal(hc, undefined, `${component}: no shell or probe binary in the image; the ALB / readiness path covers it`);
      assert.equal((renderContainer(component, environments.prod).container.linuxParameters as Obj | undefined)?.initProcessEnabled, true);
    }
  });
});

describe("config checks catch mistakes (negative tests)", () => {
  const mutate = (component: ComponentName, file: string, from: string | RegExp, to: string): Files => {
    const files = readConfigs(component);
    const before = files[file]!;
    const after = before.replace(from, to);
    assert.notEqual(after, before, `mutation of ${component}/${file} did not apply`);
    return { ...files, [file]: after };
  };
  const expectProblem = (component: ComponentName, files: Files, pattern: RegExp, envName: (typeof ENVIRONMENTS)[number] = "prod") => {
    const problems = checkComponent(component, files, environments[envName]);
    assert.ok(problems.some((p) => pattern.test(p)), `expected a problem matching ${pattern}, got:\n${problems.join("\n")}`);
  };

  it("a bogus key is caught (Mimir, Loki, Tempo, Pyroscope)", () => {
    expectProblem("mimir", mutate("mimir", "mimir.yaml", "  flush_blocks_on_shutdown: true", "  flush_blocks_on_shutdown: true\n    flush_on_exit: true"), /key "blocks_storage\.tsdb\.flush_on_exit" does not exist/);
    expectProblem("loki", mutate("loki", "config.yaml", "autoforget_unhealthy: true", "autoforget_unhealthy: true\n  autoforget: true"), /key "ingester\.autoforget" does not exist/);
    expectProblem("tempo", mutate("tempo", "tempo.yaml", "flush_all_on_shutdown: true", "flush_all_on_shutdown: true\n  flush_on_shutdown: true"), /key "ingester\.flush_on_shutdown"/);
    expectProblem("pyroscope", mutate("pyroscope", "config.yaml", "min_free_disk_gb: 5", "min_free_disk_gb: 5\n  min_free_disk: 5"), /key "pyroscopedb\.min_free_disk"/);
  });

  it("a Mimir key that exists only in one of the two Mimir lists is caught", () => {
    // The flusher block was removed after 3.0.2.
    expectProblem("mimir", mutate("mimir", "mimir.yaml", "limits:", "flusher:\n  exit_after_flush: true\n\nlimits:"), /"flusher\.exit_after_flush" does not exist upstream \(mimir\.keys\.json\)/);
  });

  it("a variable the task definition does not provide, and non-plain ${VAR} syntax, are caught", () => {
    expectProblem("mimir", mutate("mimir", "mimir.yaml", "${S3_BUCKET}", "${MIMIR_BUCKET}"), /reads \$\{MIMIR_BUCKET\}, which the rendered task definition \(prod\) does not provide/);
    expectProblem("loki", mutate("loki", "config.yaml", "${S3_BUCKET}", "${S3_BUCKET:-sys-lgtm-s3}"), /is not a plain \$\{VAR\}/);
    expectProblem("mimir", mutate("mimir", "mimir.yaml", "log_level: info", "log_level: $LOG_LEVEL"), /Mimir cannot escape a literal \$/);
    expectProblem("tempo", mutate("tempo", "tempo.yaml", "${LGTM_NAMESPACE}", "${LGTM_NS}"), /LGTM_NS/, "local");
    expectProblem("alloy", mutate("alloy", "config.alloy", 'sys.env("LGTM_NAMESPACE"))\n\n    tls', 'sys.env("TEMPO_HOST"))\n\n    tls'), /TEMPO_HOST/);
    expectProblem("grafana", mutate("grafana", "provisioning/datasources/lgtm.yaml", "$${__value.raw}", "${__value.raw}"), /not a plain/);
  });

  it("a port that is not in the catalogue is caught (Mimir's 8080 default, a wrong cross-link port)", () => {
    expectProblem("mimir", mutate("mimir", "mimir.yaml", "  http_listen_port: 9009\n", ""), /listens on port 8080/);
    expectProblem("grafana", mutate("grafana", "provisioning/datasources/lgtm.yaml", ":9009/prometheus", ":8080/prometheus"), /points at mimir port 8080/);
    expectProblem("alloy", mutate("alloy", "config.alloy", "mimir.%s:9009", "mimir.%s:8080"), /points at mimir port 8080/);
    expectProblem("tempo", mutate("tempo", "tempo.yaml", "0.0.0.0:4318", "0.0.0.0:4319"), /listens on port 4319/);
    expectProblem("pyroscope", mutate("pyroscope", "config.yaml", "  bind_port: 7946", "  bind_port: 7947"), /listens on port 7947/);
  });

  it("missing Fargate settings are caught", () => {
    expectProblem("mimir", mutate("mimir", "mimir.yaml", "flush_blocks_on_shutdown: true", "flush_blocks_on_shutdown: false"), /flush_blocks_on_shutdown must be true/);
    expectProblem("mimir", mutate("mimir", "mimir.yaml", /store_gateway:\n  sharding_ring:\n    instance_interface_names: \[eth1\]\n/, ""), /store_gateway\.sharding_ring\.instance_interface_names must be \[eth1\]/);
    expectProblem("mimir", mutate("mimir", "mimir.yaml", "abort_if_cluster_join_fails: false", "abort_if_cluster_join_fails: true"), /abort_if_cluster_join_fails/);
    expectProblem("loki", mutate("loki", "config.yaml", "flush_on_shutdown: true", "flush_on_shutdown: false"), /flush_on_shutdown must be true/);
    expectProblem("loki", mutate("loki", "config.yaml", "replication_factor: ${REPLICATION_FACTOR}", "replication_factor: 2"), /common\.replication_factor must be 1/);
    expectProblem("tempo", mutate("tempo", "tempo.yaml", "0.0.0.0:4317", "localhost:4317"), /grpc\.endpoint must be "0\.0\.0\.0:4317"/);
    expectProblem("tempo", mutate("tempo", "tempo.yaml", "  lifecycler:\n    interface_names: [eth1]\n", "  lifecycler:\n"), /ingester\.lifecycler\.interface_names must be \[eth1\]/);
    expectProblem("pyroscope", mutate("pyroscope", "config.yaml", "min_free_disk_gb: 5", "min_free_disk_gb: 10"), /min_free_disk_gb 10 does not suit 30 GiB/);
    expectProblem("mimir", mutate("mimir", "mimir.yaml", "bucket_name: ${S3_BUCKET}", "bucket_name: ${S3_BUCKET}\n      secret_access_key: hunter2"), /credentials come from the task role/);
  });

  it("S3 prefixes that differ from the existing layout, or that Mimir/Loki would reject, are caught", () => {
    expectProblem("loki", mutate("loki", "config.yaml", "storage_prefix: ${LOKI_STORAGE_PREFIX}", "storage_prefix: loki"), /does not give the existing layout "ftt-loki\/"/);
    expectProblem("loki", mutate("loki", "config.yaml", "storage_prefix: ${LOKI_STORAGE_PREFIX}", "storage_prefix: ftt-loki/"), /letters, digits and dashes only/);
    expectProblem("tempo", mutate("tempo", "tempo.yaml", "prefix: ${S3_PREFIX}", "prefix: tempo/"), /storage\.trace\.s3\.prefix must be "ftt-tempo\/"/);
    const mimir = mutate("mimir", "mimir.yaml", "storage_prefix: ${MIMIR_RULER_PREFIX}", "storage_prefix: mimir-rules/");
    expectProblem("mimir", mimir, /Mimir accepts letters and digits only/);
  });

  it("Alloy: an unknown component, a dangling reference and a missing CloudWatch namespace are caught", () => {
    expectProblem("alloy", mutate("alloy", "config.alloy", 'otelcol.exporter.loki "default"', 'otelcol.exporter.lokiexporter "default"'), /otelcol\.exporter\.lokiexporter does not exist in Alloy 1\.18/);
    expectProblem("alloy", mutate("alloy", "config.alloy", "[loki.write.default.receiver]", "[loki.write.logs.receiver]"), /reference to loki\.write\.logs, which is not defined/);
    expectProblem("alloy", mutate("alloy", "config.alloy", '"AWS/ElastiCache"', '"AWS/Lambda"'), /CloudWatch discovery for AWS\/ElastiCache is missing/);
    expectProblem("alloy", mutate("alloy", "config.alloy", /\n}\n\nprometheus\.scrape/, "\n\nprometheus.scrape"), /unclosed block/);
  });

  it("Grafana: a broken cross-link, a wrong datasource address and a database in the file are caught", () => {
    expectProblem("grafana", mutate("grafana", "provisioning/datasources/lgtm.yaml", "datasourceUid: pyroscope", "datasourceUid: profiles"), /"profiles" is not a provisioned datasource uid/);
    expectProblem("grafana", mutate("grafana", "provisioning/datasources/lgtm.yaml", ":9009/prometheus", ":9009"), /datasource mimir: url must be http:\/\/mimir\.lgtm\.local:9009\/prometheus/);
    expectProblem("grafana", mutate("grafana", "grafana.ini", "[users]", "[database]\ntype = sqlite3\n\n[users]"), /database and passwords come from/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Rolling-safe settings (docs/images.md "Rolling-safe settings"): each value, its source, and its relation to the
// task and service definitions. The rules themselves live in src/core/rolling.ts (what `lgtm-deploy check` runs).

function effective(component: ComponentName, environment: Environment, files: Files = readConfigs(component)) {
  const rendered = renderContainer(component, environment);
  const file = CONFIG_FILES[component][0]!;
  const problems: string[] = [];
  const doc = parseYaml(expand(files[file]!, DIALECT[component], rendered.env), file, problems);
  assert.deepEqual(problems, []);
  const svc = renderService(component, environment, { tag: SAMPLE_TAG }, project.templates(component).service);
  return { doc, rendered, svc };
}
const secs = (v: unknown): number => {
  const s = parseDurationSeconds(v);
  assert.notEqual(s, undefined, `not a duration: ${JSON.stringify(v)}`);
  return s!;
};

/** The comment block right above a key's line (a value that is not upstream's must say where it comes from). */
function commentAbove(text: string, key: string): string {
  const lines = text.split("\n");
  const i = lines.findIndex((l) => new RegExp(`^\\s*${key}:`).test(l));
  assert.ok(i >= 0, `key ${key} not found`);
  const out: string[] = [];
  for (let j = i - 1; j >= 0 && /^\s*#/.test(lines[j]!); j--) out.unshift(lines[j]!);
  return out.join("\n");
}

describe("rolling-safe settings", () => {
  const prod = environments.prod;

  it("mimir: flushed blocks are queried at once, replacements wait min_ready_duration, the grace period covers it, the flush fits stopTimeout", () => {
    const { doc, rendered, svc } = effective("mimir", prod);
    assert.equal(get(doc, "querier.query_store_after"), "0s");
    assert.equal(get(doc, "blocks_storage.bucket_store.ignore_blocks_within"), "0s");
    assert.equal(get(doc, "blocks_storage.bucket_store.sync_interval"), "5m");
    assert.equal(get(doc, "compactor.cleanup_interval"), "5m");
    assert.equal(get(doc, "blocks_storage.tsdb.flush_blocks_on_shutdown"), true);
    const minReady = secs(get(doc, "ingester.ring.min_ready_duration"));
    // Scaling-out.md: wait max(query_store_after, 2 x sync_interval, 2 x cleanup_interval) between ingesters.
    const wait = Math.max(secs(get(doc, "querier.query_store_after")), 2 * secs(get(doc, "blocks_storage.bucket_store.sync_interval")), 2 * secs(get(doc, "compactor.cleanup_interval")));
    assert.equal(wait, 600);
    assert.ok(minReady >= wait, `min_ready_duration ${minReady}s < ${wait}s`);
    // The ALB gates ECS: grace > start-up + min_ready + healthy threshold x interval.
    assert.equal(svc.loadBalancers?.length, 1);
    assert.ok(svc.healthCheckGracePeriodSeconds! > minReady, "grace period > min_ready_duration");
    assert.ok(svc.healthCheckGracePeriodSeconds! >= STARTUP_ALLOWANCE_SECONDS + minReady + TARGET_HEALTH_CHECK.intervalSeconds * TARGET_HEALTH_CHECK.healthyThresholdCount);
    // SIGTERM: graceful server shutdown + final sleep + shutdown delay, then the flush, all before SIGKILL.
    const stop = rendered.container.stopTimeout as number;
    const spent = secs(get(doc, "server.graceful_shutdown_timeout")) + secs(get(doc, "ingester.ring.final_sleep") ?? "0s") + secs(get(doc, "shutdown_delay") ?? "0s");
    assert.equal(stop, 120);
    assert.ok(stop - spent >= MIN_FLUSH_BUDGET_SECONDS, `flush budget ${stop - spent}s`);
    assert.deepEqual(checkRollingSafety(rollingContext("mimir", doc, prod, rendered.td, svc)), []);
  });

  it("loki: flush on shutdown, index resync 1m, min_ready_duration two resyncs, grace period and container health check", () => {
    const { doc, rendered, svc } = effective("loki", prod);
    assert.equal(get(doc, "ingester.wal.flush_on_shutdown"), true);
    const resync = secs(get(doc, "storage_config.tsdb_shipper.resync_interval"));
    const minReady = secs(get(doc, "ingester.lifecycler.min_ready_duration"));
    assert.equal(resync, 60);
    assert.ok(minReady >= 2 * resync);
    const hc = rendered.container.healthCheck as { interval: number };
    assert.ok(svc.healthCheckGracePeriodSeconds! >= STARTUP_ALLOWANCE_SECONDS + minReady + Math.max(hc.interval, TARGET_HEALTH_CHECK.intervalSeconds * TARGET_HEALTH_CHECK.healthyThresholdCount));
    assert.ok((rendered.container.stopTimeout as number) - secs(get(doc, "server.graceful_shutdown_timeout")) >= MIN_FLUSH_BUDGET_SECONDS);
    assert.deepEqual(checkRollingSafety(rollingContext("loki", doc, prod, rendered.td, svc)), []);
  });

  it("tempo and pyroscope: flushed data is searched/queried from S3 at once after the single task is replaced", () => {
    const t = effective("tempo", prod);
    assert.equal(get(t.doc, "ingester.flush_all_on_shutdown"), true);
    assert.equal(get(t.doc, "query_frontend.search.query_backend_after"), "0s");
    assert.equal(t.svc.desiredCount, 1);
    const p = effective("pyroscope", prod);
    assert.equal(get(p.doc, "querier.query_store_after"), "0s");
    assert.equal(get(p.doc, "store_gateway.bucket_store.ignore_blocks_within"), "0s");
    assert.equal(get(p.doc, "store_gateway.bucket_store.sync_interval"), "5m");
    assert.equal(get(p.doc, "compactor.cleanup_interval"), "5m");
  });

  it("every ring has its own cluster label (per component and environment), verification on, no pinned instance id", () => {
    const labels = new Set<string>();
    for (const envName of ENVIRONMENTS) {
      for (const c of ["mimir", "loki", "tempo", "pyroscope"] as const) {
        const { doc } = effective(c, environments[envName]);
        const label = get(doc, "memberlist.cluster_label");
        assert.equal(label, `lgtm-${envName}-${c}`);
        labels.add(label as string);
        assert.notEqual(get(doc, "memberlist.cluster_label_verification_disabled"), true);
        assert.equal(keyPaths(doc).filter((k) => k.endsWith("instance_id")).length, 0, `${c}: instance ids are the hostname (docs/images.md)`);
      }
    }
    assert.equal(labels.size, 8);
  });

  it("every rolling-safe value that differs from upstream has its source in the comment above it", () => {
    const cases: Array<[ComponentName, string[]]> = [
      ["mimir", ["query_store_after", "ignore_blocks_within", "sync_interval", "cleanup_interval", "min_ready_duration", "cluster_label", "max_stale_period", "disabled_tenants"]],
      ["loki", ["resync_interval", "min_ready_duration", "cluster_label", "retention_enabled"]],
      ["tempo", ["query_backend_after", "block_retention", "compaction_disabled"]],
      ["pyroscope", ["query_store_after", "ignore_blocks_within", "sync_interval", "cleanup_interval", "cluster_label"]],
    ];
    for (const [component, keys] of cases) {
      const text = readConfigs(component)[CONFIG_FILES[component][0]!]!;
      for (const key of keys) {
        const comment = commentAbove(text, key);
        assert.match(comment, /https:\/\/|above|same reasoning|Migration input|migration\./, `${component} ${key}: the comment above must name its source:\n${comment}`);
      }
    }
  });
});

describe("rolling-safety check catches mistakes (negative tests)", () => {
  const prod = environments.prod;
  const mutate = (component: ComponentName, from: string | RegExp, to: string): Files => {
    const files = readConfigs(component);
    const file = CONFIG_FILES[component][0]!;
    const after = files[file]!.replace(from, to);
    assert.notEqual(after, files[file], `mutation of ${component} did not apply`);
    return { ...files, [file]: after };
  };
  const problemsOf = (component: ComponentName, environment: Environment, files?: Files, td?: (t: Rendered["td"]) => void) => {
    const { doc, rendered, svc } = effective(component, environment, files);
    td?.(rendered.td);
    return checkRollingSafety(rollingContext(component as "mimir", doc, environment, rendered.td, svc));
  };
  const expectRule = (problems: ReturnType<typeof checkRollingSafety>, setting: string, message: RegExp, source: RegExp) => {
    const p = problems.find((x) => x.setting === setting);
    assert.ok(p, `expected a problem for ${setting}, got: ${JSON.stringify(problems.map((x) => x.message))}`);
    assert.match(p.message, message);
    assert.match(p.source, source);
  };
  const withEnv = (fn: (raw: any) => void): Environment => {
    const raw = JSON.parse(readFileSync(path.join(ROOT, "environments/prod.json"), "utf8"));
    fn(raw);
    return parseEnvironment("prod", "environments/prod.json", JSON.stringify(raw));
  };

  it("mimir without each setting: the check names the setting, the upstream default and the document", () => {
    const scaling = /scaling-out\.md/;
    expectRule(problemsOf("mimir", prod, mutate("mimir", /\n {2}query_store_after: 0s/, "")), "querier.query_store_after", /is 12h; must be at most 0s/, scaling);
    expectRule(problemsOf("mimir", prod, mutate("mimir", /\n {4}ignore_blocks_within: 0s/, "")), "blocks_storage.bucket_store.ignore_blocks_within", /is 10h/, scaling);
    expectRule(problemsOf("mimir", prod, mutate("mimir", /\n {4}sync_interval: 5m/, "")), "blocks_storage.bucket_store.sync_interval", /is 15m; must be at most 5m/, scaling);
    expectRule(problemsOf("mimir", prod, mutate("mimir", /\n {2}cleanup_interval: 5m/, "")), "compactor.cleanup_interval", /is 15m/, scaling);
    expectRule(problemsOf("mimir", prod, mutate("mimir", /\n {4}min_ready_duration: 11m/, "")), "ingester.ring.min_ready_duration", /is 15s; must be at least 10m/, scaling);
    expectRule(problemsOf("mimir", prod, mutate("mimir", "flush_blocks_on_shutdown: true", "flush_blocks_on_shutdown: false")), "blocks_storage.tsdb.flush_blocks_on_shutdown", /must be true/, scaling);
    expectRule(problemsOf("mimir", prod, mutate("mimir", /\n {2}cluster_label: \$\{MEMBERLIST_CLUSTER_LABEL\}/, "")), "memberlist.cluster_label", /is empty/, /configuration-parameters/);
    expectRule(problemsOf("mimir", prod, mutate("mimir", "  ring:\n    instance_interface_names: [eth1]\n    replication_factor", "  ring:\n    instance_id: mimir\n    instance_interface_names: [eth1]\n    replication_factor")), "ingester.ring.instance_id", /every task would register as the same ring member/, /configuration-parameters/);
  });

  /** Mimir without the load balancer: no input, no target group, no alarms. */
  const unroute = (r: any) => {
    delete r.loadBalancers.mimir;
    delete r.outputs.loadBalancers.mimir;
    delete r.outputs.deploymentAlarms.mimir;
  };

  it("relations: a grace period shorter than the readiness wait, no readiness gate, a min_ready shorter than the visibility wait, a flush that does not fit", () => {
    expectRule(problemsOf("mimir", withEnv((r) => (r.loadBalancers.mimir.healthCheckGracePeriodSeconds = 120))), "healthCheckGracePeriodSeconds", /is 120; must be at least 860 s/, /API_CreateService/);
    expectRule(problemsOf("mimir", withEnv(unroute)), "readiness gate", /ECS replaces mimir tasks back to back/, /API_CreateService/);
    expectRule(problemsOf("mimir", withEnv((r) => (r.loadBalancers.mimir.healthCheckIntervalSeconds = 300))), "healthCheckGracePeriodSeconds", /must be at least 1440 s/, /CreateTargetGroup/);
    expectRule(problemsOf("mimir", prod, mutate("mimir", "min_ready_duration: 11m", "min_ready_duration: 5m")), "ingester.ring.min_ready_duration", /is 5m; must be at least 10m/, /scaling-out/);
    const stop60 = (td: Rendered["td"]) => (td.containerDefinitions![0]!.stopTimeout = 60);
    expectRule(problemsOf("mimir", prod, undefined, stop60), "stopTimeout", /is 60 s; .* only 30 s remain for the flush/, /API_ContainerDefinition/);
    expectRule(problemsOf("loki", prod, mutate("loki", "graceful_shutdown_timeout: 30s", "graceful_shutdown_timeout: 100s")), "stopTimeout", /only 20 s remain/, /API_ContainerDefinition/);
    // A single Mimir task has nothing to pace: no gate needed, the visibility rules still apply.
    assert.deepEqual(problemsOf("mimir", withEnv((r) => { unroute(r); r.components = { mimir: { desiredCount: 1, replicationFactor: 1 } }; })), []);
  });

  it("loki, tempo, pyroscope without their settings", () => {
    expectRule(problemsOf("loki", prod, mutate("loki", "resync_interval: 1m", "resync_interval: 5m")), "storage_config.tsdb_shipper.resync_interval", /is 5m; must be at most 1m/, /boltdb-shipper\.md/);
    expectRule(problemsOf("loki", prod, mutate("loki", "min_ready_duration: 2m", "min_ready_duration: 1m")), "ingester.lifecycler.min_ready_duration", /must be at least 2m/, /configuration\.md/);
    expectRule(problemsOf("loki", prod, mutate("loki", "flush_on_shutdown: true", "flush_on_shutdown: false")), "ingester.wal.flush_on_shutdown", /must be true/, /wal\.md/);
    expectRule(problemsOf("loki", withEnv((r) => (r.loadBalancers.loki.healthCheckGracePeriodSeconds = 200))), "healthCheckGracePeriodSeconds", /is 200; must be at least 330 s/, /API_CreateService/);
    expectRule(problemsOf("tempo", prod, mutate("tempo", /\n {4}query_backend_after: 0s/, "")), "query_frontend.search.query_backend_after", /is 15m; must be at most 0s/, /tempo\/configuration/);
    expectRule(problemsOf("tempo", withEnv((r) => (r.components = { tempo: { desiredCount: 2 } }))), "desiredCount", /exactly 1 task/, /tempo/);
    expectRule(problemsOf("pyroscope", prod, mutate("pyroscope", /\n {2}query_store_after: 0s/, "")), "querier.query_store_after", /is 4h; must be at most 0s/, /pyroscope/);
    expectRule(problemsOf("pyroscope", prod, mutate("pyroscope", /\n {4}ignore_blocks_within: 0s/, "")), "store_gateway.bucket_store.ignore_blocks_within", /is 3h/, /pyroscope/);
  });

  it("the environment's target-group health check defaults are the stack's (infra/lib/routes.ts HEALTH_CHECK)", () => {
    const routes = readFileSync(path.join(ROOT, "infra", "lib", "routes.ts"), "utf8");
    const m = /HEALTH_CHECK = \{ intervalSeconds: (\d+),.*healthyThresholdCount: (\d+),/.exec(routes);
    assert.ok(m, "HEALTH_CHECK not found in infra/lib/routes.ts");
    assert.deepEqual([TARGET_HEALTH_CHECK.intervalSeconds, TARGET_HEALTH_CHECK.healthyThresholdCount], [Number(m[1]), Number(m[2])]);
  });

  it("two components with one cluster label are caught", () => {
    const labels = new Map<ComponentName, unknown>([["mimir", "lgtm-prod-x"], ["loki", "lgtm-prod-x"], ["tempo", "lgtm-prod-tempo"]]);
    const problems = checkClusterLabels(labels);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /"lgtm-prod-x" is also mimir's/);
  });
});
