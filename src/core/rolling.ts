/**
 * Rolling-safety rules: on Fargate every task replacement is a scale-down of a stateful component (no persistent
 * disk), so a release must flush on shutdown, make flushed data queryable at once, and - for ring components with
 * several tasks - make ECS wait between replacements. Each rule names the setting and the document behind it;
 * docs/images.md has the table. Pure: takes the effective (expanded, parsed) config and the rendered definitions.
 */
import type { ComponentName } from "./catalogue.js";
import { formatDuration, parseDuration } from "./duration.js";

const MIMIR_SCALING = "https://github.com/grafana/mimir/blob/main/docs/sources/mimir/manage/run-production-environment/scaling-out.md";
const MIMIR_CONFIG = "https://github.com/grafana/mimir/blob/main/docs/sources/mimir/configure/configuration-parameters/index.md";
const LOKI_SHIPPER = "https://github.com/grafana/loki/blob/main/docs/sources/operations/storage/boltdb-shipper.md";
const LOKI_WAL = "https://github.com/grafana/loki/blob/main/docs/sources/operations/storage/wal.md";
const LOKI_CONFIG = "https://github.com/grafana/loki/blob/main/docs/sources/shared/configuration.md";
const TEMPO_CONFIG = "https://github.com/grafana/tempo/blob/main/docs/sources/tempo/configuration/_index.md";
const PYROSCOPE_CONFIG = "https://github.com/grafana/pyroscope/blob/main/docs/sources/configure-server/reference-configuration-parameters/index.md";
const ECS_GRACE = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html (healthCheckGracePeriodSeconds)";
const ECS_STOP = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html (stopTimeout)";
const ELB_HEALTH = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html";

/** Seconds from task start until the process serves /ready checks (start, ring join, store-gateway's first sync). */
export const STARTUP_ALLOWANCE_SECONDS = 180;
/** What must stay for the flush inside stopTimeout after the server's graceful shutdown and sleeps. */
export const MIN_FLUSH_BUDGET_SECONDS = 60;
/** ECS's stopTimeout when the container definition sets none. */
export const ECS_DEFAULT_STOP_TIMEOUT = 30;

export interface RollingContext {
  component: ComponentName;
  /** The effective config: the baked file expanded with the task definition's environment, parsed. */
  config: unknown;
  desiredCount: number;
  /** containerDefinitions[].stopTimeout of the component's container. */
  stopTimeout: number | undefined;
  /** containerDefinitions[].healthCheck, when the image can run one. */
  healthCheck: { interval?: number } | undefined;
  /** The service's healthCheckGracePeriodSeconds (undefined when the service has none). */
  gracePeriodSeconds: number | undefined;
  /** The load balancer's target-group health check, when the service is behind one. */
  loadBalancer: { intervalSeconds: number; healthyThresholdCount: number } | undefined;
}

export interface RollingProblem {
  component: ComponentName;
  setting: string;
  message: string;
  source: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
export const getPath = (doc: unknown, dotted: string): unknown => dotted.split(".").reduce<unknown>((node, key) => (isObj(node) ? node[key] : undefined), doc);

/** Upstream defaults of every setting a rule reads (the value a config gets when it leaves the key out). */
const DEFAULTS: Partial<Record<ComponentName, Readonly<Record<string, unknown>>>> = {
  mimir: {
    "querier.query_store_after": "12h",
    "blocks_storage.bucket_store.ignore_blocks_within": "10h",
    "blocks_storage.bucket_store.sync_interval": "15m",
    "compactor.cleanup_interval": "15m",
    "ingester.ring.min_ready_duration": "15s",
    "ingester.ring.final_sleep": "0s",
    shutdown_delay: "0s",
    "server.graceful_shutdown_timeout": "30s",
    "blocks_storage.tsdb.flush_blocks_on_shutdown": false,
  },
  loki: {
    "ingester.wal.flush_on_shutdown": false,
    "storage_config.tsdb_shipper.resync_interval": "5m",
    "ingester.lifecycler.min_ready_duration": "15s",
    "ingester.lifecycler.final_sleep": "0s",
    "ingester.autoforget_unhealthy": false,
    shutdown_delay: "0s",
    "server.graceful_shutdown_timeout": "30s",
  },
  tempo: {
    "ingester.flush_all_on_shutdown": false,
    "query_frontend.search.query_backend_after": "15m",
    "server.graceful_shutdown_timeout": "30s",
  },
  pyroscope: {
    "querier.query_store_after": "4h",
    "store_gateway.bucket_store.ignore_blocks_within": "3h",
    "store_gateway.bucket_store.sync_interval": "15m",
    "compactor.cleanup_interval": "15m",
    "ingester.lifecycler.min_ready_duration": "15s",
    "ingester.lifecycler.final_sleep": "0s",
    shutdown_delay: "0s",
    "server.graceful_shutdown_timeout": "30s",
  },
};

class Checker {
  readonly problems: RollingProblem[] = [];
  constructor(readonly ctx: RollingContext) {}

  raw(key: string): unknown {
    const v = getPath(this.ctx.config, key);
    return v === undefined || v === null ? DEFAULTS[this.ctx.component]?.[key] : v;
  }
  seconds(key: string): number {
    const s = parseDuration(this.raw(key));
    if (s === undefined) this.fail(key, `is ${JSON.stringify(this.raw(key))}, not a duration`, MIMIR_CONFIG);
    return s ?? Number.NaN;
  }
  fail(setting: string, message: string, source: string): void {
    this.problems.push({ component: this.ctx.component, setting, message: `${setting} ${message}`, source });
  }
  isTrue(key: string, why: string, source: string): void {
    if (this.raw(key) !== true) this.fail(key, `is ${JSON.stringify(this.raw(key) ?? null)}; must be true: ${why}`, source);
  }
  atMost(key: string, max: number, why: string, source: string): number {
    const s = this.seconds(key);
    if (s > max) this.fail(key, `is ${formatDuration(s)}; must be at most ${formatDuration(max)}: ${why}`, source);
    return s;
  }
  atLeast(key: string, min: number, why: string, source: string): number {
    const s = this.seconds(key);
    if (!(s >= min)) this.fail(key, `is ${formatDuration(s)}; must be at least ${formatDuration(min)}: ${why}`, source);
    return s;
  }
}

/** Every problem that makes a release of this component lose or hide data. Empty = rolling-safe. */
export function checkRollingSafety(ctx: RollingContext): RollingProblem[] {
  const c = new Checker(ctx);
  switch (ctx.component) {
    case "mimir":
      blocksVisibility(c, { qsa: "querier.query_store_after", ibw: "blocks_storage.bucket_store.ignore_blocks_within", sync: "blocks_storage.bucket_store.sync_interval", cleanup: "compactor.cleanup_interval", minReady: "ingester.ring.min_ready_duration", source: MIMIR_SCALING });
      c.isTrue("blocks_storage.tsdb.flush_blocks_on_shutdown", "the TSDB head lives on the task's ephemeral disk and is gone with the task", MIMIR_SCALING);
      shutdownBudget(c, ["ingester.ring.final_sleep", "shutdown_delay"], MIMIR_CONFIG);
      break;
    case "loki": {
      c.isTrue("ingester.wal.flush_on_shutdown", "the WAL would be replayed by a restart that never comes (Fargate's disk goes with the task)", LOKI_WAL);
      const resync = c.atMost("storage_config.tsdb_shipper.resync_interval", 60, "queriers only see a replaced task's uploaded index after their next resync", LOKI_SHIPPER);
      if (ctx.desiredCount > 1) {
        c.isTrue("ingester.autoforget_unhealthy", "readiness waits for every ring member to be healthy, and a SIGKILLed task's entry would block every later release", LOKI_CONFIG);
        const minReady = c.atLeast("ingester.lifecycler.min_ready_duration", 2 * resync, "ECS must not stop the next task before the survivors resynced the index of the one replaced (2 x resync_interval)", LOKI_CONFIG);
        readinessGate(c, minReady);
      }
      shutdownBudget(c, ["ingester.lifecycler.final_sleep", "shutdown_delay"], LOKI_CONFIG);
      break;
    }
    case "tempo":
      c.isTrue("ingester.flush_all_on_shutdown", "the WAL under /var/tempo is gone with the task", TEMPO_CONFIG);
      c.atMost("query_frontend.search.query_backend_after", 0, "after a release the last traces are only in S3; search must read the backend for every range", TEMPO_CONFIG);
      if (ctx.desiredCount !== 1) c.fail("desiredCount", `is ${ctx.desiredCount}; Tempo 2.x monolithic with in-memory rings runs exactly 1 task (docs/images.md)`, TEMPO_CONFIG);
      shutdownBudget(c, [], TEMPO_CONFIG);
      break;
    case "pyroscope":
      blocksVisibility(c, { qsa: "querier.query_store_after", ibw: "store_gateway.bucket_store.ignore_blocks_within", sync: "store_gateway.bucket_store.sync_interval", cleanup: "compactor.cleanup_interval", minReady: "ingester.lifecycler.min_ready_duration", source: PYROSCOPE_CONFIG });
      shutdownBudget(c, ["ingester.lifecycler.final_sleep", "shutdown_delay"], PYROSCOPE_CONFIG);
      break;
    default:
      return [];
  }
  memberlistIdentity(c);
  return c.problems;
}

/** Mimir-style blocks storage (Mimir, Pyroscope): flushed blocks must be queried at once, and replacements paced. */
function blocksVisibility(c: Checker, k: { qsa: string; ibw: string; sync: string; cleanup: string; minReady: string; source: string }): void {
  const qsa = c.atMost(k.qsa, 0, "queries for more recent data go to ingesters only, and a replaced task's flushed data is then invisible", k.source);
  c.atMost(k.ibw, 0, "store-gateways would not load the blocks a replaced task flushed at shutdown", k.source);
  const sync = c.atMost(k.sync, 300, "a flushed block is queryable only after store-gateways and queriers refresh the bucket index", k.source);
  const cleanup = c.atMost(k.cleanup, 300, "the compactor adds a flushed block to the bucket index only at its next cleanup", k.source);
  if (c.ctx.desiredCount > 1) {
    const wait = Math.max(qsa, 2 * sync, 2 * cleanup);
    const minReady = c.atLeast(k.minReady, wait, `ECS must not stop the next task before the previous one's blocks are queryable: max(query_store_after, 2 x sync_interval, 2 x cleanup_interval) = ${formatDuration(wait)}`, k.source);
    readinessGate(c, minReady);
  }
}

/** ECS waits between replacements only for a health signal, and must not kill a task that is waiting on purpose. */
function readinessGate(c: Checker, minReady: number): void {
  const { loadBalancer, healthCheck, gracePeriodSeconds, component } = c.ctx;
  if (loadBalancer === undefined && healthCheck === undefined) {
    c.fail("readiness gate", `is missing: ECS replaces ${component} tasks back to back unless a load balancer health check (loadBalancers.${component}, /ready) or a container healthCheck gates it; the image has no probe for the latter`, ECS_GRACE);
    return;
  }
  const detection = Math.max(loadBalancer ? loadBalancer.intervalSeconds * loadBalancer.healthyThresholdCount : 0, healthCheck ? (healthCheck.interval ?? 30) : 0);
  const need = STARTUP_ALLOWANCE_SECONDS + minReady + detection;
  if (gracePeriodSeconds === undefined || gracePeriodSeconds < need) {
    c.fail(
      "healthCheckGracePeriodSeconds",
      `is ${gracePeriodSeconds ?? "unset"}; must be at least ${need} s (start-up ${STARTUP_ALLOWANCE_SECONDS} s + min_ready_duration ${formatDuration(minReady)} + health detection ${detection} s): /ready is 503 on purpose until then, and ECS would replace the waiting task as unhealthy`,
      loadBalancer ? `${ECS_GRACE}; ${ELB_HEALTH}` : ECS_GRACE,
    );
  }
}

/** SIGTERM → graceful server shutdown + sleeps + flush must end before ECS's SIGKILL at stopTimeout. */
function shutdownBudget(c: Checker, sleeps: string[], source: string): void {
  const stop = c.ctx.stopTimeout ?? ECS_DEFAULT_STOP_TIMEOUT;
  const spent = c.seconds("server.graceful_shutdown_timeout") + sleeps.reduce((sum, k) => sum + c.seconds(k), 0);
  const budget = stop - spent;
  if (budget < MIN_FLUSH_BUDGET_SECONDS) {
    c.fail("stopTimeout", `is ${stop} s; after server.graceful_shutdown_timeout${sleeps.length ? ` + ${sleeps.join(" + ")}` : ""} (${formatDuration(spent)}) only ${budget} s remain for the flush on shutdown, want at least ${MIN_FLUSH_BUDGET_SECONDS} s (Fargate's maximum stopTimeout is 120)`, `${ECS_STOP}; ${source}`);
  }
}

/** Rings must not merge with others' (cluster label) and ids must not collide (no pinned instance ids). */
function memberlistIdentity(c: Checker): void {
  const label = getPath(c.ctx.config, "memberlist.cluster_label");
  if (typeof label !== "string" || label === "") c.fail("memberlist.cluster_label", "is empty: Fargate reuses task IPs across services, so this ring could gossip with another component's", MIMIR_CONFIG);
  if (getPath(c.ctx.config, "memberlist.cluster_label_verification_disabled") === true) c.fail("memberlist.cluster_label_verification_disabled", "is true: a new cluster verifies labels from the start", MIMIR_CONFIG);
  if (getPath(c.ctx.config, "memberlist.randomize_node_name") === false) c.fail("memberlist.randomize_node_name", "is false: a task that reuses a dead task's IP would take over its memberlist identity", MIMIR_CONFIG);
  const walk = (node: unknown, prefix: string): void => {
    if (!isObj(node)) return;
    for (const [k, v] of Object.entries(node)) {
      const key = prefix === "" ? k : `${prefix}.${k}`;
      if ((k === "instance_id" || (k === "id" && prefix.endsWith("lifecycler"))) && v !== undefined && v !== null && v !== "") {
        c.fail(key, `is pinned to ${JSON.stringify(v)}: every task would register as the same ring member; leave it to the hostname (docs/images.md)`, MIMIR_CONFIG);
      }
      walk(v, key);
    }
  };
  walk(c.ctx.config, "");
}

/** Cluster labels must differ between components, or their rings can still merge. */
export function checkClusterLabels(labels: ReadonlyMap<ComponentName, unknown>): RollingProblem[] {
  const seen = new Map<string, ComponentName>();
  const out: RollingProblem[] = [];
  for (const [component, label] of labels) {
    if (typeof label !== "string" || label === "") continue;
    const other = seen.get(label);
    if (other !== undefined) out.push({ component, setting: "memberlist.cluster_label", message: `memberlist.cluster_label "${label}" is also ${other}'s: the two rings could merge`, source: MIMIR_CONFIG });
    else seen.set(label, component);
  }
  return out;
}

/** The ring's min-ready wait behind /ready, per component (none for Tempo, Grafana, Alloy). */
export const MIN_READY_KEY: Partial<Record<ComponentName, string>> = {
  mimir: "ingester.ring.min_ready_duration",
  loki: "ingester.lifecycler.min_ready_duration",
  pyroscope: "ingester.lifecycler.min_ready_duration",
};

/** Seconds of the component's min-ready wait in its effective config (the upstream default when unset; 0: none). */
export function minReadySeconds(component: ComponentName, config: unknown): number {
  const key = MIN_READY_KEY[component];
  if (key === undefined) return 0;
  const v = getPath(config, key);
  return parseDuration(v === undefined || v === null ? DEFAULTS[component]?.[key] : v) ?? 0;
}
