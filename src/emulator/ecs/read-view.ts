/**
 * What the read operations see. Live reads compute from the current state; a snapshot is the same data frozen at an
 * earlier simulated time, used to serve eventually consistent (stale) reads (docs/emulator.md, "consistency").
 */
import type { Cluster, Service } from "./model.js";
import type { EcsState } from "./state.js";
import { recJson, serviceJson, taskJson } from "./views.js";

export interface TaskRow {
  arn: string;
  id: string;
  clusterName: string;
  serviceKey?: string;
  family: string;
  startedBy?: string;
  desiredStatus: string;
  lastStatus: string;
  createdAt: number;
  /** DescribeTasks' entry, built only when asked for (ListTasks needs none). */
  json: () => Record<string, unknown>;
}

export interface BriefRow {
  arn: string;
  status: string;
  createdAt: number;
  json: Record<string, unknown>;
}

export interface ReadView {
  /** Simulated time this view shows. */
  readonly at: number;
  /** DescribeServices' entry (with tags), or undefined when the service does not exist (yet) in this view. */
  service(key: string): Record<string, unknown> | undefined;
  tasks(clusterName: string): TaskRow[];
  serviceDeployment(arn: string): { json: Record<string, unknown>; serviceKey: string } | undefined;
  /** ListServiceDeployments rows, newest first; undefined when the service does not exist in this view. */
  history(key: string): BriefRow[] | undefined;
}

export const serviceKey = (s: Service): string => `${s.cluster.name}/${s.name}`;

function briefJson(svc: Service, r: { arn: string; startedAt: number; createdAt: number; finishedAt?: number; targetRevisionArn: string; status: string; statusReason?: string }): Record<string, unknown> {
  return {
    serviceDeploymentArn: r.arn,
    serviceArn: svc.arn,
    clusterArn: svc.cluster.arn,
    startedAt: r.startedAt / 1000,
    createdAt: r.createdAt / 1000,
    finishedAt: r.finishedAt === undefined ? undefined : r.finishedAt / 1000,
    targetServiceRevisionArn: r.targetRevisionArn,
    status: r.status,
    statusReason: r.statusReason,
  };
}

export class LiveView implements ReadView {
  constructor(
    private readonly ecs: EcsState,
    readonly at: number,
  ) {}

  service(key: string): Record<string, unknown> | undefined {
    const s = this.ecs.services.get(key);
    return s ? serviceJson(this.ecs, s, true) : undefined;
  }

  tasks(clusterName: string): TaskRow[] {
    const rows: TaskRow[] = [];
    for (const t of this.ecs.tasks.values()) {
      if (t.cluster.name !== clusterName) continue;
      rows.push({
        arn: t.arn,
        id: t.id,
        clusterName,
        ...(t.serviceName !== undefined ? { serviceKey: `${clusterName}/${t.serviceName}` } : {}),
        family: t.td.family,
        ...(t.startedBy !== undefined ? { startedBy: t.startedBy } : {}),
        desiredStatus: t.desiredStatus,
        lastStatus: t.lastStatus,
        createdAt: t.createdAt,
        json: () => taskJson(t, true),
      });
    }
    return rows;
  }

  serviceDeployment(arn: string): { json: Record<string, unknown>; serviceKey: string } | undefined {
    const hit = this.ecs.serviceDeployments.get(arn);
    return hit ? { json: recJson(this.ecs, hit.svc, hit.rec), serviceKey: serviceKey(hit.svc) } : undefined;
  }

  history(key: string): BriefRow[] | undefined {
    const s = this.ecs.services.get(key);
    if (!s) return undefined;
    return s.history.map((r) => ({ arn: r.arn, status: r.status, createdAt: r.createdAt, json: briefJson(s, r) }));
  }
}

/** Everything a read could ask for, frozen. */
export class SnapshotView implements ReadView {
  private readonly services = new Map<string, Record<string, unknown>>();
  private readonly taskRows = new Map<string, TaskRow[]>();
  private readonly recs = new Map<string, { json: Record<string, unknown>; serviceKey: string }>();
  private readonly histories = new Map<string, BriefRow[]>();
  readonly at: number;

  constructor(ecs: EcsState, at: number) {
    this.at = at;
    const live = new LiveView(ecs, at);
    for (const [key, s] of ecs.services) {
      this.services.set(key, serviceJson(ecs, s, true));
      this.histories.set(key, live.history(key)!);
    }
    // Frozen now: a snapshot must not change when the task does.
    for (const c of ecs.clusters.values()) {
      this.taskRows.set(
        c.name,
        live.tasks(c.name).map((r) => {
          const frozen = r.json();
          return { ...r, json: () => frozen };
        }),
      );
    }
    for (const arn of ecs.serviceDeployments.keys()) this.recs.set(arn, live.serviceDeployment(arn)!);
  }

  service(key: string): Record<string, unknown> | undefined {
    return this.services.get(key);
  }

  tasks(clusterName: string): TaskRow[] {
    return this.taskRows.get(clusterName) ?? [];
  }

  serviceDeployment(arn: string): { json: Record<string, unknown>; serviceKey: string } | undefined {
    return this.recs.get(arn);
  }

  history(key: string): BriefRow[] | undefined {
    return this.histories.get(key);
  }
}

/** Picks the view a read sees for one service (key) — live unless the consistency rules say otherwise. */
export type ViewPicker = (serviceKey: string | undefined) => ReadView;

export const clusterTasks = (pick: ViewPicker, cluster: Cluster, keys: string[]): TaskRow[] => {
  // Tasks of a stale service come from its snapshot; everything else is live.
  const live = pick(undefined).tasks(cluster.name);
  const out = live.filter((r) => r.serviceKey === undefined || pick(r.serviceKey) === pick(undefined));
  for (const key of keys) {
    const view = pick(key);
    if (view === pick(undefined)) continue;
    out.push(...view.tasks(cluster.name).filter((r) => r.serviceKey === key));
  }
  return out;
};
