/**
 * The independent observer: reads the emulator's ground truth (GET /_emulator/state, never stale) and its call log,
 * never the tool's output. Every time it reports is a simulated timestamp the emulator itself recorded (a task's
 * stoppedAt, a service event's createdAt, a service deployment's rollback start, a call's arrival), so the figures do
 * not depend on how often the observer polls. It polls only to remember deployments that ECS later forgets.
 */
import type { CallRecord } from "../src/emulator/index.js";
import { groundTruth } from "./lib.js";

export type RollbackBy = "circuit breaker" | "StopServiceDeployment" | "UpdateService";

export interface Timeline {
  service: string;
  /** The release's UpdateService (arrival at the emulator). */
  updateAt?: number;
  /** The task definition the release rolled out. */
  newTd?: string;
  releaseDeployment?: string;
  /** The release's deployment reached COMPLETED. */
  releaseCompletedAt?: number;
  /** The first task of the new revision that stopped as a failure (crash, failed start, failed health check). */
  firstFailedAt?: number;
  failedTasks: number;
  /** The first rollback to the previous revision took effect in ECS (breaker or StopServiceDeployment: the service
   *  deployment's rollback start; UpdateService: the new deployment's creation). */
  rollbackAt?: number;
  rollbackBy?: RollbackBy;
  /** A deployment of the previous revision reached COMPLETED after the rollback: healthy again. */
  healthyAgainAt?: number;
}

interface DeploymentSeen {
  id: string;
  service: string;
  td: string;
  createdAt: number;
}

const COMPLETED = /\(deployment (\S+)\) deployment completed\./;
const ms = (sec: number | undefined): number | undefined => (sec === undefined || sec === null ? undefined : Math.round(sec * 1000));
const nameOf = (arn: string | undefined): string => (arn ?? "").split("/").pop() ?? "";

export class Observer {
  private readonly deployments = new Map<string, DeploymentSeen>();
  private state: any;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly calls: () => CallRecord[],
    private readonly pollWallMs = 150,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.loop = (async () => {
      while (!this.stopped) {
        await new Promise((r) => setTimeout(r, this.pollWallMs));
        await this.refresh().catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.refresh();
  }

  /** Simulated now, as of the last ground-truth read. */
  get now(): number {
    return this.state.timeEpochMs;
  }

  async refresh(): Promise<void> {
    const s = await groundTruth(this.url);
    for (const svc of s.ecs.services) {
      for (const d of svc.ground.deployments) {
        if (!this.deployments.has(d.id)) this.deployments.set(d.id, { id: d.id, service: svc.serviceName, td: d.taskDefinition, createdAt: ms(d.createdAt)! });
      }
    }
    this.state = s;
  }

  /** What happened to `service` since `since` (simulated ms), `previousTd` being the revision it served before. */
  timeline(service: string, previousTd: string, since: number): Timeline {
    const s = this.state;
    const t: Timeline = { service, failedTasks: 0 };
    const calls = this.calls().filter((c) => Date.parse(c.time) >= since && c.status === 200);
    const update = calls.find((c) => c.operation === "UpdateService" && nameOf((c.input as any).service) === service && (c.input as any).taskDefinition !== previousTd);
    if (update === undefined) return t;
    t.updateAt = Date.parse(update.time);
    const deps = [...this.deployments.values()].filter((d) => d.service === service && d.createdAt >= t.updateAt! - 1);
    const release = deps.find((d) => d.td !== previousTd);
    t.newTd = release?.td;
    t.releaseDeployment = release?.id;
    const events = s.ecs.events.filter((e: any) => nameOf(e.serviceArn) === service).map((e: any) => ({ at: ms(e.createdAt)!, message: e.message as string }));
    const completed = events.flatMap((e: { at: number; message: string }) => {
      const id = COMPLETED.exec(e.message)?.[1];
      return id === undefined ? [] : [{ at: e.at, id }];
    });
    t.releaseCompletedAt = min(completed.filter((e: { id: string }) => e.id === release?.id).map((e: { at: number }) => e.at));
    const failed = s.ecs.tasks.filter((x: any) => x.serviceName === service && x.taskDefinitionArn === t.newTd && x.failed === true && x.stoppedAt !== undefined);
    t.failedTasks = failed.length;
    t.firstFailedAt = min(failed.map((x: any) => ms(x.stoppedAt)!));
    // Rollback evidence: the release's service deployment rolled back (breaker, alarm, StopServiceDeployment), or a
    // new deployment of the previous revision (UpdateService).
    const candidates: Array<{ at: number; by: RollbackBy }> = [];
    const sd = s.ecs.serviceDeployments.find((d: any) => nameOf(d.serviceArn) === service && d.rollback !== undefined && (ms(d.createdAt) ?? 0) >= t.updateAt! - 1);
    if (sd) candidates.push({ at: ms(sd.rollback.startedAt)!, by: /StopServiceDeployment/.test(sd.rollback.reason) ? "StopServiceDeployment" : "circuit breaker" });
    const back = deps.filter((d) => d.td === previousTd && d.createdAt > t.updateAt!);
    for (const d of back) candidates.push({ at: d.createdAt, by: "UpdateService" });
    const first = candidates.sort((a, b) => a.at - b.at)[0];
    if (first !== undefined) {
      t.rollbackAt = first.at;
      t.rollbackBy = first.by;
      const previousIds = new Set([...this.deployments.values()].filter((d) => d.service === service && d.td === previousTd).map((d) => d.id));
      t.healthyAgainAt = min(completed.filter((e: { at: number; id: string }) => e.at >= first.at && previousIds.has(e.id)).map((e: { at: number }) => e.at));
    }
    return t;
  }

  /** API calls since `since` (simulated ms), for the read-call figures. */
  callsSince(since: number): CallRecord[] {
    return this.calls().filter((c) => Date.parse(c.time) >= since);
  }
}

function min(xs: number[]): number | undefined {
  return xs.length === 0 ? undefined : Math.min(...xs);
}
