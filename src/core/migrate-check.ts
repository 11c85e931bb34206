/**
 * `migrate check`: compares the old stack's data settings with what the new stack would run in an environment and
 * reports every difference that would make old data unreadable, delete it sooner, or give a single-writer role two
 * writers (or none). Pure. Why each rule exists: docs/cutover.md.
 */
import { compactsTenant, type DataSettings, type ObjectLocation, type SchemaPeriod } from "./data-settings.js";
import { formatDuration } from "./duration.js";
import type { DataComponent, Owner } from "./migration.js";

export type Severity = "unsafe" | "ok";
export type Kind = "unreadable" | "deleted-sooner" | "two-writers" | "no-writer" | "unverified" | "same" | "kept-longer" | "note";

export interface Finding {
  component: DataComponent;
  /** The compose service (old side), when several run the same backend. */
  service?: string;
  setting: string;
  severity: Severity;
  kind: Kind;
  old: string;
  new: string;
  message: string;
}

export interface Ownership {
  compactor: Owner;
  ruler: Owner;
  alertmanager: Owner;
}

/**
 * Flags each backend's config understands that change data settings, mapped to their YAML keys. Anything else that
 * looks data-related (UNVERIFIABLE_FLAG) is reported as unverified rather than silently ignored.
 */
export const FLAG_KEYS: Readonly<Record<DataComponent, Readonly<Record<string, string>>>> = {
  mimir: {
    target: "target",
    "auth.multitenancy-enabled": "multitenancy_enabled",
    "auth.no-auth-tenant": "no_auth_tenant",
    "common.storage.backend": "common.storage.backend",
    "common.storage.s3.bucket-name": "common.storage.s3.bucket_name",
    "common.storage.s3.endpoint": "common.storage.s3.endpoint",
    "blocks-storage.backend": "blocks_storage.backend",
    "blocks-storage.s3.bucket-name": "blocks_storage.s3.bucket_name",
    "blocks-storage.s3.endpoint": "blocks_storage.s3.endpoint",
    "blocks-storage.storage-prefix": "blocks_storage.storage_prefix",
    "ruler-storage.backend": "ruler_storage.backend",
    "ruler-storage.s3.bucket-name": "ruler_storage.s3.bucket_name",
    "ruler-storage.storage-prefix": "ruler_storage.storage_prefix",
    "alertmanager-storage.backend": "alertmanager_storage.backend",
    "alertmanager-storage.s3.bucket-name": "alertmanager_storage.s3.bucket_name",
    "alertmanager-storage.storage-prefix": "alertmanager_storage.storage_prefix",
    "compactor.blocks-retention-period": "limits.compactor_blocks_retention_period",
    "compactor.enabled-tenants": "compactor.enabled_tenants",
    "compactor.disabled-tenants": "compactor.disabled_tenants",
    "memberlist.cluster-label": "memberlist.cluster_label",
    "runtime-config.file": "runtime_config.file",
  },
  loki: {
    target: "target",
    "auth.enabled": "auth_enabled",
    "compactor.retention-enabled": "compactor.retention_enabled",
    "store.retention": "limits_config.retention_period",
    "querier.max-query-lookback": "limits_config.max_query_lookback",
    "use-thanos-objstore": "storage_config.use_thanos_objstore",
    "s3.buckets": "storage_config.aws.bucketnames",
    "s3.url": "storage_config.aws.s3",
    "memberlist.cluster-label": "memberlist.cluster_label",
    "runtime-config.file": "runtime_config.file",
  },
  tempo: {
    target: "target",
    "multitenancy.enabled": "multitenancy_enabled",
    "auth.enabled": "multitenancy_enabled",
    "memberlist.cluster-label": "memberlist.cluster_label",
  },
  pyroscope: {
    target: "target",
    "auth.multitenancy-enabled": "multitenancy_enabled",
    "storage.backend": "storage.backend",
    "storage.s3.bucket-name": "storage.s3.bucket_name",
    "storage.prefix": "storage.prefix",
    "compactor.blocks-retention-period": "limits.compactor_blocks_retention_period",
    "compactor.enabled-tenants": "compactor.enabled_tenants",
    "compactor.disabled-tenants": "compactor.disabled_tenants",
    "memberlist.cluster-label": "memberlist.cluster_label",
    "runtime-config.file": "runtime_config.file",
  },
};

/** Boolean flags (so `-auth.enabled -target=all` parses as Go's flag package does). */
export const BOOLEAN_FLAGS: ReadonlySet<string> = new Set(["auth.multitenancy-enabled", "auth.enabled", "multitenancy.enabled", "compactor.retention-enabled", "use-thanos-objstore", "config.expand-env"]);
/** Keys whose value is a boolean or a list after a flag sets it. */
export const BOOLEAN_KEYS: ReadonlySet<string> = new Set(["multitenancy_enabled", "auth_enabled", "compactor.retention_enabled", "storage_config.use_thanos_objstore"]);

/** Flags that may change where data lives or how long it is kept, which this check does not model. */
export const UNVERIFIABLE_FLAG = /(retention|prefix|bucket|tenant|schema|compactor|storage|auth|ruler|alertmanager|overrides|lookback|deletion)/;
/** Flags that never touch data settings. */
const HARMLESS_FLAG = /^(config\.(file|expand-env)|log\.|server\.|memberlist\.(join|bind|advertise)|.*interface|.*\.instance-addr)/;

export function classifyFlag(component: DataComponent, flag: string): "mapped" | "harmless" | "unverifiable" {
  if (FLAG_KEYS[component][flag] !== undefined) return "mapped";
  if (HARMLESS_FLAG.test(flag) || !UNVERIFIABLE_FLAG.test(flag)) return "harmless";
  return "unverifiable";
}

const AWS_ENDPOINT = /^(https?:\/\/)?s3([.-][a-z0-9-]+)?\.amazonaws\.com(\.cn)?\/?$/;
const forever = (s: number) => (s === Number.POSITIVE_INFINITY ? "forever (0s)" : Number.isNaN(s) ? "unreadable value" : formatDuration(s));

interface Ctx {
  component: DataComponent;
  service: string | undefined;
  out: Finding[];
}
const add = (ctx: Ctx, f: Omit<Finding, "component" | "service">) => ctx.out.push({ component: ctx.component, ...(ctx.service ? { service: ctx.service } : {}), ...f });

function compareLocation(ctx: Ctx, kind: string, o: ObjectLocation, n: ObjectLocation): void {
  const where = (l: ObjectLocation) => `${l.backend}://${l.bucket || "?"}/${l.prefix}`;
  if (o.backend !== "s3") {
    add(ctx, { setting: `${kind} storage`, severity: "unsafe", kind: "unreadable", old: where(o), new: where(n), message: `the old stack keeps ${kind} data on "${o.backend}", not S3: the new stack cannot read it (copy it into the bucket first)` });
    return;
  }
  if (o.endpoint !== "" && !AWS_ENDPOINT.test(o.endpoint)) {
    add(ctx, { setting: `${kind} endpoint`, severity: "unsafe", kind: "unreadable", old: o.endpoint, new: n.endpoint, message: `the old stack's object store is ${o.endpoint}, not AWS S3: its data is not in ${n.bucket}` });
  }
  if (o.bucket !== n.bucket || o.prefix !== n.prefix) {
    add(ctx, { setting: `${kind} bucket/prefix`, severity: "unsafe", kind: "unreadable", old: where(o), new: where(n), message: `the new stack would read ${kind} data from ${where(n)} but the old data is under ${where(o)}: set migration.prefixes (or s3Bucket) to the old layout` });
  } else add(ctx, { setting: `${kind} bucket/prefix`, severity: "ok", kind: "same", old: where(o), new: where(n), message: "same location" });
}

function sameObjectStore(a: string, b: string): boolean {
  const norm = (s: string) => (s === "aws" ? "s3" : s);
  return norm(a) === norm(b);
}

function compareSchema(ctx: Ctx, o: SchemaPeriod[], n: SchemaPeriod[], today: string): void {
  const show = (p: SchemaPeriod) => `${p.from} ${p.store}/${p.schema} ${p.object_store} ${p.indexPrefix}${p.indexPeriod === "24h" ? "" : ` ${p.indexPeriod}`}${p.pathPrefix === "index/" ? "" : ` path ${p.pathPrefix}`}`;
  const same = (p: SchemaPeriod, q: SchemaPeriod) => q.store === p.store && q.schema === p.schema && sameObjectStore(q.object_store, p.object_store) && q.indexPrefix === p.indexPrefix && q.indexPeriod === p.indexPeriod && q.pathPrefix === p.pathPrefix;
  // Periods are matched by their start date: each old one must exist unchanged, in the same order.
  for (const p of o) {
    const q = n.find((x) => x.from === p.from);
    const setting = `schema_config period from ${p.from}`;
    if (q === undefined) add(ctx, { setting, severity: "unsafe", kind: "unreadable", old: show(p), new: "(missing)", message: "is missing from migration.lokiSchema: the logs it covers would be unreadable. Copy every old period, oldest first" });
    else if (!same(p, q)) add(ctx, { setting, severity: "unsafe", kind: "unreadable", old: show(p), new: show(q), message: "differs in migration.lokiSchema: the logs it covers would be read with the wrong index/schema" });
    else add(ctx, { setting, severity: "ok", kind: "same", old: show(p), new: show(q), message: "same period" });
  }
  const sorted = n.every((q, i) => i === 0 || n[i - 1]!.from < q.from);
  if (!sorted) add(ctx, { setting: "schema_config periods", severity: "unsafe", kind: "unreadable", old: o.map((p) => p.from).join(", "), new: n.map((q) => q.from).join(", "), message: "periods must be listed oldest first with distinct dates" });
  const lastOld = o.at(-1)?.from ?? "";
  for (const q of n.filter((x) => !o.some((p) => p.from === x.from))) {
    const future = q.from > today;
    const setting = `schema_config period from ${q.from}`;
    if (future) add(ctx, { setting, severity: "ok", kind: "note", old: "(none)", new: show(q), message: "a new period that starts in the future: allowed (https://grafana.com/docs/loki/latest/operations/storage/schema/)" });
    else add(ctx, { setting, severity: "unsafe", kind: "unreadable", old: "(none)", new: show(q), message: q.from > lastOld ? `starts ${q.from}, not after today (${today}): what the old stack wrote since then uses its own schema and would be unreadable; a new period must start in the future` : "is not one of the old stack's periods: the logs of that time were written with another schema" });
  }
}

function compareRetention(ctx: Ctx, setting: string, o: number, n: number, what: string): void {
  if (Number.isNaN(o) || Number.isNaN(n)) add(ctx, { setting, severity: "unsafe", kind: "unverified", old: forever(o), new: forever(n), message: "not a duration: cannot compare" });
  else if (n < o) add(ctx, { setting, severity: "unsafe", kind: "deleted-sooner", old: forever(o), new: forever(n), message: `the new stack would delete ${what} after ${forever(n)}, the old one keeps them ${forever(o)}: set migration.retention to the old value` });
  else add(ctx, { setting, severity: "ok", kind: n > o ? "kept-longer" : "same", old: forever(o), new: forever(n), message: n > o ? "the new stack keeps data longer (more storage, nothing lost)" : "same retention" });
}

function compareRole(ctx: Ctx, role: string, oldRuns: boolean, owner: Owner, zeroIsUnsafe: string | undefined): void {
  const state = oldRuns ? "runs" : "off";
  if (owner === "new" && oldRuns) {
    add(ctx, { setting: role, severity: "unsafe", kind: "two-writers", old: state, new: "runs (cutover: new)", message: `both stacks would run the ${role} on the same data: turn it off on the old stack first, or keep cutover.${role === "compactor" ? `compactor.${ctx.component}` : role} = "old"` });
  } else if (owner === "old" && !oldRuns) {
    add(ctx, { setting: role, severity: zeroIsUnsafe ? "unsafe" : "ok", kind: zeroIsUnsafe ? "no-writer" : "note", old: state, new: "off (cutover: old)", message: zeroIsUnsafe ?? `neither stack runs the ${role} now; hand it to the new stack (cutover.${role === "compactor" ? `compactor.${ctx.component}` : role} = "new")` });
  } else add(ctx, { setting: role, severity: "ok", kind: "same", old: state, new: owner === "new" ? "runs" : "off", message: `one ${role}` });
}

export interface CompareInput {
  old: DataSettings;
  service?: string;
  new: DataSettings;
  owners: Ownership;
  /** The new stack's tenants for this component (its own no-auth tenant, or the configured list). */
  tenants: readonly string[];
  /** YYYY-MM-DD (UTC). */
  today: string;
}

export function compare(input: CompareInput): Finding[] {
  const { old: o, new: n, owners } = input;
  const ctx: Ctx = { component: o.component, service: input.service, out: [] };
  for (const kind of Object.keys(n.locations)) compareLocation(ctx, kind, o.locations[kind]!, n.locations[kind]!);
  // Tenancy: data lives under <prefix>/<tenant>/; another tenant id reads nothing.
  const tenancy = (s: DataSettings) => (s.multitenant ? "multi-tenant" : `single tenant "${s.noAuthTenant}"`);
  if (o.multitenant !== n.multitenant || (!o.multitenant && o.noAuthTenant !== n.noAuthTenant)) {
    add(ctx, { setting: "tenancy", severity: "unsafe", kind: "unreadable", old: tenancy(o), new: tenancy(n), message: `data is stored per tenant: the new stack would look under other tenant ids than the old one wrote. Set migration.tenancy.${o.component}${o.component === "mimir" ? " / migration.mimirNoAuthTenant" : ""} to the old stack's` });
  } else add(ctx, { setting: "tenancy", severity: "ok", kind: "same", old: tenancy(o), new: tenancy(n), message: n.multitenant ? `multi-tenant on both; the cutover disables compaction for migration.tenancy.${o.component}.tenants (${input.tenants.join(", ") || "none listed"}) - list every tenant` : "same tenant" });
  compareRetention(ctx, "retention", o.retention, n.retention, "blocks/chunks");
  for (const [tenant, r] of Object.entries(o.tenantRetention)) compareRetention(ctx, `retention (tenant ${tenant}, overrides file)`, r, n.tenantRetention[tenant] ?? n.retention, `tenant ${tenant}'s data`);
  if (o.component === "loki") {
    compareSchema(ctx, o.schema, n.schema, input.today);
    if (n.maxQueryLookback < o.maxQueryLookback) add(ctx, { setting: "limits_config.max_query_lookback", severity: "unsafe", kind: "unreadable", old: forever(o.maxQueryLookback), new: forever(n.maxQueryLookback), message: "older logs would be out of query reach on the new stack" });
  }
  const oldCompacts = o.component === "mimir" || o.component === "pyroscope" ? input.tenants.some((t) => compactsTenant(o, t)) : o.runsCompactor;
  const staleIndex = o.component === "mimir" || o.component === "pyroscope" ? "no compactor would update the bucket index: queries fail once it is older than max_stale_period (docs/cutover.md, step 3)" : undefined;
  compareRole(ctx, "compactor", oldCompacts, owners.compactor, staleIndex);
  if (o.component === "mimir" || o.component === "loki") compareRole(ctx, "ruler", o.runsRuler, owners.ruler, undefined);
  if (o.component === "mimir") compareRole(ctx, "alertmanager", o.runsAlertmanager, owners.alertmanager, undefined);
  if (o.clusterLabel !== "" && o.clusterLabel === n.clusterLabel) {
    add(ctx, { setting: "memberlist.cluster_label", severity: "unsafe", kind: "two-writers", old: o.clusterLabel, new: n.clusterLabel, message: "the same cluster label on both stacks lets their rings merge if gossip reaches across" });
  }
  return ctx.out;
}
