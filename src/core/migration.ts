/**
 * Migration inputs and cutover ownership, resolved from the environment with today's values as defaults, and the
 * task-definition values the configs read (`-config.expand-env`). Pure. Why each value exists: docs/cutover.md.
 */
import { CATALOGUE, type ComponentName } from "./catalogue.js";
import type { CutoverSettings, Environment, LokiPeriod } from "./environment.js";
import { parseDuration } from "./duration.js";
import type { TemplateValue } from "./template.js";

export const DATA_COMPONENTS = ["mimir", "loki", "tempo", "pyroscope"] as const;
export type DataComponent = (typeof DATA_COMPONENTS)[number];
export const isDataComponent = (c: string): c is DataComponent => (DATA_COMPONENTS as readonly string[]).includes(c);

/** Today's Loki schema (baked into the image until this issue): one tsdb/v13 period from 2024-04-01. */
export const DEFAULT_LOKI_SCHEMA: readonly LokiPeriod[] = [{ from: "2024-04-01", store: "tsdb", object_store: "s3", schema: "v13", index: { prefix: "index_", period: "24h" } }];

/** Today's retention: Mimir, Loki and Pyroscope keep everything (their defaults); Tempo was baked with 336h. */
export const DEFAULT_RETENTION: Readonly<Record<DataComponent, string>> = { mimir: "0s", loki: "0s", tempo: "336h", pyroscope: "0s" };

/** The tenant each backend stores single-tenant data under (its multitenancy switch off). */
export const NO_AUTH_TENANT: Readonly<Record<Exclude<DataComponent, "mimir">, string>> = { loki: "fake", tempo: "single-tenant", pyroscope: "anonymous" };

export interface Tenancy {
  multitenancy: boolean;
  /** The tenants whose data is in the bucket: the configured list, or the single no-auth tenant. */
  tenants: string[];
}

export interface Prefixes {
  mimirBlocks: string;
  mimirRuler: string;
  mimirAlertmanager: string;
  /** With the trailing slash, as the objects are laid out. */
  loki: string;
  tempo: string;
  pyroscope: string;
}

export function prefixes(env: Environment): Prefixes {
  const p = env.migration.prefixes;
  return {
    mimirBlocks: p.mimirBlocks ?? CATALOGUE.mimir.s3Prefixes.blocks!,
    mimirRuler: p.mimirRuler ?? CATALOGUE.mimir.s3Prefixes.ruler!,
    mimirAlertmanager: p.mimirAlertmanager ?? CATALOGUE.mimir.s3Prefixes.alertmanager!,
    loki: p.loki ?? CATALOGUE.loki.s3Prefixes.storage!,
    tempo: p.tempo ?? CATALOGUE.tempo.s3Prefixes.storage!,
    pyroscope: p.pyroscope ?? CATALOGUE.pyroscope.s3Prefixes.storage!,
  };
}

/** The catalogue-shaped prefix map render.ts uses ({storage} or {blocks, ruler, alertmanager}). */
export function s3PrefixesFor(component: ComponentName, env: Environment): Readonly<Record<string, string>> {
  const p = prefixes(env);
  if (component === "mimir") return { blocks: p.mimirBlocks, ruler: p.mimirRuler, alertmanager: p.mimirAlertmanager };
  if (component === "loki" || component === "tempo" || component === "pyroscope") return { storage: p[component] };
  return CATALOGUE[component].s3Prefixes;
}

export function lokiSchema(env: Environment): readonly LokiPeriod[] {
  return env.migration.lokiSchema ?? DEFAULT_LOKI_SCHEMA;
}

export function retention(env: Environment, component: DataComponent): string {
  return env.migration.retention[component] ?? DEFAULT_RETENTION[component];
}

export function tenancy(env: Environment, component: DataComponent): Tenancy {
  const t = env.migration.tenancy[component];
  const single = component === "mimir" ? env.migration.mimirNoAuthTenant : NO_AUTH_TENANT[component];
  if (t === undefined || !t.multitenancy) return { multitenancy: false, tenants: [single] };
  return { multitenancy: true, tenants: [...t.tenants] };
}

export type Owner = "old" | "new";

/** Who owns each single-writer role; no cutover block = no old stack = the new stack owns everything. */
export function owners(env: Environment): CutoverSettings {
  return (
    env.cutover ?? {
      compactor: { mimir: "new", loki: "new", tempo: "new", pyroscope: "new" },
      ruler: "new",
      alertmanager: "new",
      writers: "new",
      oldStack: "decommissioned",
      bucketIndexMaxStalePeriod: "1h",
    }
  );
}

/** Mimir's -target: `all` is query-frontend, querier, ingester, distributor, store-gateway, ruler, compactor. */
export function mimirTarget(env: Environment): string {
  const o = owners(env);
  // The compactor stays in the target: while the old stack owns it, its tenants are disabled instead (issue #11).
  const modules = o.ruler === "new" ? ["all"] : ["compactor", "distributor", "ingester", "querier", "query-frontend", "store-gateway"];
  if (o.alertmanager === "new") modules.push("alertmanager");
  return modules.join(",");
}

/** Loki's -target: `all` less the compactor and/or ruler the old stack still runs (pattern ingester is off anyway). */
export function lokiTarget(env: Environment): string {
  const o = owners(env);
  if (o.compactor.loki === "new" && o.ruler === "new") return "all";
  const modules = ["distributor", "ingester", "query-frontend", "query-scheduler", "querier"];
  if (o.compactor.loki === "new") modules.push("compactor");
  if (o.ruler === "new") modules.push("ruler");
  return modules.join(",");
}

const bool = (b: boolean) => (b ? "true" : "false");

/** Placeholders for the task definitions (all strings: they become container environment variables). */
export const MIGRATION_VOCABULARY: readonly string[] = [
  "memberlistClusterLabel", "lokiStoragePrefix", "lokiSchemaConfig", "retentionPeriod", "retentionEnabled",
  "multitenancyEnabled", "noAuthTenant", "componentTarget", "compactorDisabledTenants", "compactionDisabled",
  "bucketIndexMaxStalePeriod",
];

/** The memberlist cluster label: distinct per component and per environment, so no two rings can merge. */
export const clusterLabel = (component: ComponentName, env: Environment): string => `lgtm-${env.name}-${component}`;

export function migrationValues(component: ComponentName, env: Environment): Record<string, TemplateValue | undefined> {
  const out: Record<string, TemplateValue | undefined> = {};
  if (component === "mimir" || component === "loki" || component === "tempo" || component === "pyroscope") {
    const o = owners(env);
    const t = tenancy(env, component);
    const period = retention(env, component);
    out.memberlistClusterLabel = clusterLabel(component, env);
    out.retentionPeriod = period;
    out.multitenancyEnabled = bool(t.multitenancy);
    if (component === "mimir") {
      out.noAuthTenant = env.migration.mimirNoAuthTenant;
      out.componentTarget = mimirTarget(env);
      out.compactorDisabledTenants = o.compactor.mimir === "old" ? t.tenants.join(",") : "";
      out.bucketIndexMaxStalePeriod = o.bucketIndexMaxStalePeriod;
    } else if (component === "loki") {
      // Loki's thanos object-store prefix takes letters, digits and dashes: the layout's "ftt-loki/" without the slash.
      out.lokiStoragePrefix = prefixes(env).loki.replace(/\/$/, "");
      // A list of periods cannot be one plain ${VAR}... unless it is JSON: YAML reads a JSON array as a flow sequence.
      out.lokiSchemaConfig = JSON.stringify(lokiSchema(env));
      out.retentionEnabled = bool((parseDuration(period) ?? 0) > 0);
      out.componentTarget = lokiTarget(env);
    } else if (component === "tempo") {
      out.compactionDisabled = bool(o.compactor.tempo === "old");
    } else {
      out.compactorDisabledTenants = o.compactor.pyroscope === "old" ? t.tenants.join(",") : "";
    }
  }
  return out;
}
