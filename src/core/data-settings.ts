/**
 * The settings that decide where a backend's data lives, who may write it and how long it is kept, read the same way
 * from the old stack's config (flags applied) and from the new stack's effective config. Upstream defaults apply
 * where a key is absent - they differ between backends (Mimir's multitenancy is on by default, Loki's auth too).
 * Pure.
 */
import { parseDuration } from "./duration.js";
import type { DataComponent } from "./migration.js";
import { NO_AUTH_TENANT } from "./migration.js";
import { getPath } from "./rolling.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export interface ObjectLocation {
  backend: string;
  bucket: string;
  /** Key prefix with a trailing "/" ("" = bucket root). */
  prefix: string;
  endpoint: string;
}

export interface SchemaPeriod {
  from: string;
  store: string;
  object_store: string;
  schema: string;
  indexPrefix: string;
  indexPeriod: string;
  pathPrefix: string;
}

export interface DataSettings {
  component: DataComponent;
  /** mimir: blocks, ruler, alertmanager; the others: storage. */
  locations: Record<string, ObjectLocation>;
  multitenant: boolean;
  /** The tenant single-tenant data is stored under. */
  noAuthTenant: string;
  /** Seconds; Infinity = kept forever. */
  retention: number;
  /** Per-tenant retention from a runtime/overrides file, when one was read. */
  tenantRetention: Record<string, number>;
  /** Loki only. */
  schema: SchemaPeriod[];
  /** Loki's max_query_lookback in seconds (Infinity = unlimited). */
  maxQueryLookback: number;
  /** Which single-writer roles this config runs (compactor: for which tenants - "*" = every tenant it owns). */
  compactorTenants: { all: boolean; enabled: string[]; disabled: string[] };
  runsCompactor: boolean;
  runsRuler: boolean;
  runsAlertmanager: boolean;
  clusterLabel: string;
  /** Files this config points at that hold data settings (runtime overrides), container paths. */
  overridesFile: string | undefined;
}

const str = (v: unknown, fallback = ""): string => (v === undefined || v === null ? fallback : String(v));
const csv = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : str(v).split(",")).map((s) => s.trim()).filter((s) => s !== "");
const bool = (v: unknown, fallback: boolean): boolean => (v === undefined || v === null ? fallback : v === true || v === "true");
/** A retention duration; 0 (or absent) = kept forever. */
const keep = (v: unknown): number => {
  const s = parseDuration(v ?? "0s");
  return s === undefined ? Number.NaN : s === 0 ? Number.POSITIVE_INFINITY : s;
};
const slash = (p: string): string => (p === "" || p.endsWith("/") ? p : `${p}/`);

/** -target as a module list ("all" by default). */
export const targets = (doc: unknown): string[] => csv(getPath(doc, "target") ?? "all");

function runs(doc: unknown, modules: string[]): boolean {
  return targets(doc).some((t) => modules.includes(t));
}

function mimirLocation(doc: unknown, block: string, defaultPrefix: string): ObjectLocation {
  const pick = (k: string) => getPath(doc, `${block}.${k}`) ?? getPath(doc, `common.storage.${k}`);
  return {
    backend: str(pick("backend"), "filesystem"),
    bucket: str(pick("s3.bucket_name")),
    prefix: slash(str(getPath(doc, `${block}.storage_prefix`), defaultPrefix)),
    endpoint: str(pick("s3.endpoint")),
  };
}

/** Loki: the thanos object-store client has a prefix; the classic S3 client writes at the bucket root. */
function lokiLocation(doc: unknown): ObjectLocation {
  if (getPath(doc, "storage_config.use_thanos_objstore") === true) {
    const pick = (k: string) => getPath(doc, `storage_config.object_store.${k}`) ?? getPath(doc, `common.storage.object_store.${k}`);
    return { backend: "s3", bucket: str(pick("s3.bucket_name")), prefix: slash(str(pick("storage_prefix"))), endpoint: str(pick("s3.endpoint")) };
  }
  const pick = (k: string) => getPath(doc, `storage_config.aws.${k}`) ?? getPath(doc, `common.storage.s3.${k}`);
  let bucket = str(pick("bucketnames"));
  const url = str(pick("s3"));
  if (bucket === "" && url !== "") bucket = url.replace(/^s3:\/\/(?:[^@]*@)?/, "").split("/").filter(Boolean).at(-1) ?? "";
  const backend = getPath(doc, "storage_config.aws") !== undefined || getPath(doc, "common.storage.s3") !== undefined ? "s3" : getPath(doc, "common.storage.filesystem") !== undefined ? "filesystem" : "unknown";
  return { backend, bucket, prefix: "", endpoint: str(pick("endpoint")) };
}

function lokiSchema(doc: unknown): SchemaPeriod[] {
  const configs = getPath(doc, "schema_config.configs");
  return (Array.isArray(configs) ? configs : []).filter(isObj).map((p) => ({
    from: str(p.from instanceof Date ? p.from.toISOString().slice(0, 10) : p.from),
    store: str(p.store),
    object_store: str(p.object_store),
    schema: str(p.schema),
    indexPrefix: str(getPath(p, "index.prefix")),
    indexPeriod: str(getPath(p, "index.period"), "24h"),
    pathPrefix: str(getPath(p, "index.path_prefix"), "index/"),
  }));
}

function compactorTenants(doc: unknown): DataSettings["compactorTenants"] {
  const enabled = csv(getPath(doc, "compactor.enabled_tenants"));
  const disabled = csv(getPath(doc, "compactor.disabled_tenants"));
  return { all: enabled.length === 0 && disabled.length === 0, enabled, disabled };
}

/** Does this compactor work on `tenant`? (Mimir/Pyroscope: enabled/disabled tenant lists.) */
export function compactsTenant(s: DataSettings, tenant: string): boolean {
  if (!s.runsCompactor) return false;
  const t = s.compactorTenants;
  if (t.enabled.length > 0 && !t.enabled.includes(tenant)) return false;
  return !t.disabled.includes(tenant);
}

export function dataSettings(component: DataComponent, doc: unknown): DataSettings {
  const base = {
    component,
    tenantRetention: {},
    schema: [] as SchemaPeriod[],
    maxQueryLookback: Number.POSITIVE_INFINITY,
    compactorTenants: compactorTenants(doc),
    clusterLabel: str(getPath(doc, "memberlist.cluster_label")),
    runsAlertmanager: false,
  };
  switch (component) {
    case "mimir":
      return {
        ...base,
        locations: { blocks: mimirLocation(doc, "blocks_storage", ""), ruler: mimirLocation(doc, "ruler_storage", ""), alertmanager: mimirLocation(doc, "alertmanager_storage", "") },
        multitenant: bool(getPath(doc, "multitenancy_enabled"), true),
        noAuthTenant: str(getPath(doc, "no_auth_tenant"), "anonymous"),
        retention: keep(getPath(doc, "limits.compactor_blocks_retention_period")),
        runsCompactor: runs(doc, ["all", "compactor", "backend"]),
        runsRuler: runs(doc, ["all", "ruler", "backend"]),
        runsAlertmanager: runs(doc, ["alertmanager", "backend"]),
        overridesFile: str(getPath(doc, "runtime_config.file")) || undefined,
      };
    case "loki": {
      const retentionOn = bool(getPath(doc, "compactor.retention_enabled"), false);
      const lookback = parseDuration(getPath(doc, "limits_config.max_query_lookback") ?? "0s");
      return {
        ...base,
        locations: { storage: lokiLocation(doc) },
        multitenant: bool(getPath(doc, "auth_enabled"), true),
        noAuthTenant: NO_AUTH_TENANT.loki,
        retention: retentionOn ? keep(getPath(doc, "limits_config.retention_period")) : Number.POSITIVE_INFINITY,
        schema: lokiSchema(doc),
        maxQueryLookback: lookback === undefined ? Number.NaN : lookback === 0 ? Number.POSITIVE_INFINITY : lookback,
        runsCompactor: runs(doc, ["all", "compactor", "backend"]),
        // A ruler without rule storage evaluates nothing; only one with rules is a writer.
        runsRuler: runs(doc, ["all", "ruler", "backend"]) && isObj(getPath(doc, "ruler.storage")),
        overridesFile: str(getPath(doc, "runtime_config.file")) || undefined,
      };
    }
    case "tempo": {
      const perTenant = getPath(doc, "overrides.defaults.compaction.block_retention") ?? getPath(doc, "overrides.block_retention");
      const global = getPath(doc, "compactor.compaction.block_retention") ?? "336h";
      const disabled = getPath(doc, "compactor.disabled") === true || getPath(doc, "overrides.defaults.compaction.compaction_disabled") === true || getPath(doc, "overrides.compaction_disabled") === true;
      return {
        ...base,
        locations: { storage: { backend: str(getPath(doc, "storage.trace.backend")), bucket: str(getPath(doc, "storage.trace.s3.bucket")), prefix: slash(str(getPath(doc, "storage.trace.s3.prefix"))), endpoint: str(getPath(doc, "storage.trace.s3.endpoint")) } },
        multitenant: bool(getPath(doc, "multitenancy_enabled") ?? getPath(doc, "auth_enabled"), false),
        noAuthTenant: NO_AUTH_TENANT.tempo,
        retention: keep(perTenant !== undefined && parseDuration(perTenant) !== 0 ? perTenant : global),
        runsCompactor: runs(doc, ["all", "compactor", "scalable-single-binary"]) && !disabled,
        runsRuler: false,
        overridesFile: str(getPath(doc, "overrides.per_tenant_override_config")) || undefined,
      };
    }
    case "pyroscope":
      return {
        ...base,
        locations: { storage: { backend: str(getPath(doc, "storage.backend"), "filesystem"), bucket: str(getPath(doc, "storage.s3.bucket_name")), prefix: slash(str(getPath(doc, "storage.prefix") ?? getPath(doc, "storage.storage_prefix"))), endpoint: str(getPath(doc, "storage.s3.endpoint")) } },
        multitenant: bool(getPath(doc, "multitenancy_enabled"), false),
        noAuthTenant: NO_AUTH_TENANT.pyroscope,
        retention: keep(getPath(doc, "limits.compactor_blocks_retention_period")),
        runsCompactor: runs(doc, ["all", "compactor"]),
        runsRuler: false,
        overridesFile: str(getPath(doc, "runtime_config.file")) || undefined,
      };
  }
}

/** Per-tenant retention in a runtime overrides file (Mimir/Loki/Pyroscope `overrides:`; Tempo both formats). */
export function tenantRetention(component: DataComponent, overrides: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  const tenants = isObj(overrides) && isObj(overrides.overrides) ? overrides.overrides : isObj(overrides) ? overrides : {};
  for (const [tenant, o] of Object.entries(tenants)) {
    if (!isObj(o)) continue;
    const v =
      component === "tempo" ? (getPath(o, "compaction.block_retention") ?? o.block_retention) : component === "loki" ? o.retention_period : o.compactor_blocks_retention_period;
    if (v !== undefined) out[tenant] = keep(v);
  }
  return out;
}
