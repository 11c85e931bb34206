/**
 * The cutover plan: the ordered steps that move the single-writer roles from the old EC2 stack to the new one on the
 * shared bucket, each with the exact command or setting, the check that shows it worked, and where the environment
 * file says the move stands. Pure. Why: docs/cutover.md.
 */
import { formatDuration, parseDuration } from "./duration.js";
import type { Environment } from "./environment.js";
import { DATA_COMPONENTS, owners, prefixes, tenancy } from "./migration.js";

export type StepStatus = "done" | "current" | "pending";

export interface PlanStep {
  n: number;
  title: string;
  status: StepStatus;
  /** Commands to run and settings to change, in order. */
  do: string[];
  /** How to see that it worked. */
  check: string[];
  why: string;
}

export interface MimirTimings {
  desiredCount: number;
  stopTimeoutSeconds: number;
  minReadySeconds: number;
  /** Start-up allowance + ALB detection: the rest of a replacement besides stop and min-ready. */
  startAndDetectSeconds: number;
}

export interface CutoverPlan {
  environment: string;
  /** One line per role: who owns it according to the environment file. */
  state: string[];
  steps: PlanStep[];
  /** Contradictions in the environment file (e.g. a role owned by a decommissioned stack). */
  problems: string[];
}

/** Stopping the old compactor and starting the Mimir release must be this close (docs/cutover.md, step 2). */
export const HANDOVER_LEAD_SECONDS = 600;
/** On top of the computed gap: deregistration delays, slow starts. */
export const HANDOVER_MARGIN_SECONDS = 1800;

/** Worst case without a Mimir compactor: the tenant's owner in the new compactor ring is the last task replaced. */
export function mimirHandoverGapSeconds(t: MimirTimings): number {
  return HANDOVER_LEAD_SECONDS + t.desiredCount * (t.stopTimeoutSeconds + t.startAndDetectSeconds + t.minReadySeconds);
}

export function cutoverPlan(env: Environment, mimir: MimirTimings, migrateCheck: { unsafe: number; from: string } | undefined): CutoverPlan {
  const o = owners(env);
  const p = prefixes(env);
  const e = env.name;
  const bucket = env.s3Bucket;
  const mimirTenants = tenancy(env, "mimir").tenants;
  const allCompactorsNew = DATA_COMPONENTS.every((c) => o.compactor[c] === "new");
  const anyCompactorNew = DATA_COMPONENTS.some((c) => o.compactor[c] === "new");
  const drained = o.oldStack !== "running";
  // The file cannot say whether the rehearsal was deployed: step 1 counts as done once a later step has begun, and
  // never while a migrate check given to the plan found an unsafe difference.
  const progress = [
    (anyCompactorNew || o.writers !== "old") && (migrateCheck?.unsafe ?? 0) === 0,
    allCompactorsNew,
    o.writers === "new",
    drained,
    o.ruler === "new" && o.alertmanager === "new",
    o.oldStack === "decommissioned",
  ];
  const current = progress.findIndex((done) => !done);
  const status = (i: number): StepStatus => (current === -1 || i < current ? "done" : i === current ? "current" : "pending");
  const gap = mimirHandoverGapSeconds(mimir);
  const maxStale = parseDuration(o.bucketIndexMaxStalePeriod) ?? 3600;
  // The margin covers the target group's deregistration delays and slow starts, which the environment does not carry.
  const worst = gap + HANDOVER_MARGIN_SECONDS;
  const needStale = Math.ceil(worst / 3600);
  const indexKey = `${p.mimirBlocks}/${mimirTenants[0] ?? "<tenant>"}/bucket-index.json.gz`;
  const steps: PlanStep[] = [
    {
      n: 1,
      title: "Read-only rehearsal: the new stack reads the old data and writes nothing shared",
      status: status(0),
      do: [
        `copy the old stack's bucket, prefixes, Loki schema periods, retention and tenants into environments/${e}.json "migration"`,
        `set "cutover": every compactor, ruler and alertmanager "old", writers "old", oldStack "running"`,
        `lgtm-deploy migrate check --from <old-stack-configs> --env ${e}`,
        `lgtm-deploy check --all --env ${e}`,
        `lgtm-deploy deploy --all --env ${e} --sha <sha> --create-missing`,
      ],
      check: [
        migrateCheck === undefined ? "migrate check exits 0 (run it with --from to include it in this plan)" : `migrate check of ${migrateCheck.from}: ${migrateCheck.unsafe === 0 ? "no unsafe difference" : `${migrateCheck.unsafe} unsafe difference(s) - fix them first`}`,
        "Grafana (new): a query over last month's range returns the old metrics, logs, traces and profiles",
        `aws s3api head-object --bucket ${bucket} --key ${indexKey} --query LastModified  # still advancing: the old compactor is the only writer`,
      ],
      why: "Queries prove the layout, schema and tenants are right before anything of the new stack writes shared state.",
    },
    {
      n: 2,
      title: "Hand over the compactors, one component at a time",
      status: status(1),
      do: [
        ...(worst > maxStale
          ? [`Mimir first: set "cutover.bucketIndexMaxStalePeriod": "${needStale}h" and run lgtm-deploy deploy mimir --env ${e} --sha <sha> (a worst-case handover leaves the bucket index unwritten for ${formatDuration(gap)} + ${formatDuration(HANDOVER_MARGIN_SECONDS)} margin, more than ${formatDuration(maxStale)})`]
          : [`Mimir: the worst-case gap (${formatDuration(gap)} + ${formatDuration(HANDOVER_MARGIN_SECONDS)} margin) fits in cutover.bucketIndexMaxStalePeriod (${formatDuration(maxStale)})`]),
        `old Mimir: add -compactor.disabled-tenants=${mimirTenants.join(",")} to its command and restart it; within ${formatDuration(HANDOVER_LEAD_SECONDS)} set cutover.compactor.mimir "new" and run lgtm-deploy deploy mimir --env ${e} --sha <sha>`,
        `old Pyroscope: the same with -compactor.disabled-tenants=${tenancy(env, "pyroscope").tenants.join(",")}; then cutover.compactor.pyroscope "new" and lgtm-deploy deploy pyroscope`,
        `old Loki: run it without the compactor (-target=distributor,ingester,query-frontend,query-scheduler,querier[,ruler]); then cutover.compactor.loki "new" and lgtm-deploy deploy loki`,
        `old Tempo: set overrides.defaults.compaction.compaction_disabled: true (or compactor.disabled: true) and restart; then cutover.compactor.tempo "new" and lgtm-deploy deploy tempo`,
        `lgtm-deploy migrate check --from <old-stack-configs> --env ${e}  # with the old configs as they now run`,
      ],
      check: [
        `aws s3api head-object --bucket ${bucket} --key ${indexKey} --query LastModified  # advances again within 2 x compactor.cleanup_interval after the release`,
        "Mimir /compactor/ring on the new stack lists every task ACTIVE; the old Mimir logs no compaction for the disabled tenants",
        "migrate check reports one compactor per component and no 'two-writers'",
      ],
      why: "Compactors rewrite and delete blocks and indexes: two on one bucket corrupt or delete data, none leaves Mimir's and Pyroscope's bucket index stale and queries fail after max_stale_period.",
    },
    {
      n: 3,
      title: "Repoint the writers (Alloy agents, applications) to the new stack",
      status: status(2),
      do: [
        "change the Alloy blocks on the EC2 hosts to the internal load balancer (docs/hybrid-agents.md), keeping external_labels identical",
        `optionally dual-write for a comparison window ("cutover.writers": "both"), then "new"`,
      ],
      check: [
        "new stack: rate(cortex_distributor_received_samples_total[5m]) and rate(loki_distributor_lines_received_total[5m]) match what the old stack received",
        "old stack: the same rates fall to 0 (nothing writes there any more)",
      ],
      why: "Only after the compactors moved may the new stack be the one that receives data; identical external_labels keep every series the same series.",
    },
    {
      n: 4,
      title: "Drain the old ingesters",
      status: status(3),
      do: [
        "old Mimir, each ingester: curl -X POST http://<old-mimir>/ingester/prepare-instance-ring-downscale; curl -X POST http://<old-mimir>/ingester/shutdown",
        "old Loki: curl -X POST 'http://<old-loki>/ingester/shutdown?flush=true'",
        "old Tempo: curl -X POST http://<old-tempo>/flush, then stop it; old Pyroscope: docker compose stop pyroscope (it flushes on SIGTERM)",
        `set "cutover.oldStack": "drained"`,
      ],
      check: [
        "old Mimir logs \"finished flushing and shipping TSDB blocks\"; old Loki's /ingester/shutdown returned 204",
        "wait max(query_store_after, 2 x sync_interval, 2 x cleanup_interval) of the new Mimir (10m), then Grafana shows no gap in the last hours",
      ],
      why: "Data the old ingesters still hold in memory and on local disk must reach the bucket before the old hosts go; the wait is Mimir's own scale-down rule.",
    },
    {
      n: 5,
      title: "Move the ruler and the alertmanager",
      status: status(4),
      do: [
        "old Mimir: run it without the ruler and alertmanager (-target without ruler/alertmanager), old Loki without ruler; restart",
        `set "cutover.ruler": "new", "cutover.alertmanager": "new"; lgtm-deploy deploy mimir loki --env ${e} --sha <sha>`,
      ],
      check: [
        "new Mimir: GET /prometheus/api/v1/rules lists the rule groups; rate(cortex_prometheus_rule_evaluations_total[5m]) > 0",
        "new Mimir: GET /multitenant_alertmanager/status; the old stack's notifications stop (no duplicates)",
      ],
      why: "Two rulers double-write recording rules and double-send alerts; two alertmanagers double-notify. Moving them last keeps alerting on the stack that has the data.",
    },
    {
      n: 6,
      title: "Decommission the old stack",
      status: status(5),
      do: [
        "docker compose down on the old hosts; remove their write access to the bucket",
        `set "cutover.oldStack": "decommissioned" and "cutover.bucketIndexMaxStalePeriod": "1h" (or remove the "cutover" block); lgtm-deploy deploy mimir --env ${e} --sha <sha>`,
      ],
      check: [`lgtm-deploy cutover plan --env ${e} shows every step done`, "no request from the old hosts' IAM principal in the bucket's CloudTrail data events"],
      why: "Nothing may write the bucket from the old side once the new stack owns every role.",
    },
  ];
  const problems: string[] = [];
  if (o.oldStack === "decommissioned") {
    for (const c of DATA_COMPONENTS) if (o.compactor[c] === "old") problems.push(`cutover.compactor.${c} is "old" but the old stack is decommissioned: no ${c} compactor runs`);
    if (o.ruler === "old") problems.push('cutover.ruler is "old" but the old stack is decommissioned: no ruler runs');
    if (o.alertmanager === "old") problems.push('cutover.alertmanager is "old" but the old stack is decommissioned: no alertmanager runs');
  }
  if (o.writers !== "old" && !allCompactorsNew) problems.push(`cutover.writers is "${o.writers}" before every compactor moved (step 2 comes before step 3)`);
  if (drained && o.writers !== "new") problems.push(`cutover.oldStack is "${o.oldStack}" but writers still go to the old stack`);
  const state = [
    ...DATA_COMPONENTS.map((c) => `compactor ${c}: ${o.compactor[c]}`),
    `ruler: ${o.ruler}`,
    `alertmanager: ${o.alertmanager}`,
    `writers: ${o.writers}`,
    `old stack: ${o.oldStack}`,
    `Mimir bucket-index max stale period: ${o.bucketIndexMaxStalePeriod}`,
  ];
  return { environment: e, state, steps, problems };
}
