/**
 * The watch's reads, for the driver (engine/driver.ts): one poll for all watched components (one DescribeServices
 * per 10 services, one DescribeServiceDeployments per 20 service deployments), each component's stopped tasks listed
 * on its own when its counts changed, and the service deployment looked up when UpdateService did not name it.
 * Answers become observations; nothing is decided here.
 *
 * Every read carries the poller's signal: when the run ends, `stop()` aborts what is still out and waits for it to
 * settle, so no read of this run reaches ECS after the command has returned.
 */
import { setMaxListeners } from "node:events";
import type { Service, ServiceDeployment } from "@aws-sdk/client-ecs";
import type { AwsClients } from "../adapters/aws.js";
import * as ecs from "../adapters/ecs.js";
import { isWatching, listingFor, type Observation, type State } from "../core/rollout.js";
import { CALL_TIMEOUT_MS } from "./calls.js";
import type { ComponentPlan } from "./driver.js";
import { toStoppedTask } from "./stopped.js";

/** What the poller needs of a component's run (the driver's). */
export interface Watched {
  plan: ComponentPlan;
  state: State;
  /** A stopped-task listing of this component is out. */
  listing: boolean;
  /** When the last UpdateService (release or rollback) went out: the lower bound to look its service deployment up. */
  updatedAt: number;
  lookups: number;
}

export interface PollerDeps {
  clients: AwsClients;
  cluster: string;
  pollMs: number;
  now: () => number;
  post: (run: Watched, obs: Observation) => void;
  /** The poll ended: the driver's loop should look at its timers again. */
  wake: () => void;
  say: (run: Watched, level: "info" | "warn", kind: string, message: string) => void;
}

/** Poll faster once a watched deployment has a failed task: the next failure decides. */
const ALARMED_POLL_MS = 1_000;

type Snapshot = Extract<Observation, { kind: "snapshot" }>;

export class Poller {
  private polling = false;
  private nextPollAt = 0;
  private apiTrouble = 0;
  /** A look was asked for while a poll was out: the next poll goes at once. */
  private lookAgain = false;
  private readonly reads = new AbortController();
  private readonly out = new Set<Promise<unknown>>();

  constructor(
    private readonly runs: readonly Watched[],
    private readonly d: PollerDeps,
  ) {
    // Every read out listens on this signal: six components' polls, listings and look-ups are more than Node's
    // default of 10 before it warns (a "possible memory leak" on the user's console).
    setMaxListeners(0, this.reads.signal);
  }

  /** The signal every read of this run carries (aborted by stop()). */
  get signal(): AbortSignal {
    return this.reads.signal;
  }

  /** A poll as soon as possible; one already out was sent before this moment, so another follows it at once. */
  look(): void {
    this.nextPollAt = 0;
    this.lookAgain = this.polling;
  }

  /** When the next poll is due, for the driver's sleep (undefined: one is out, or nothing is watched). */
  dueAt(): number | undefined {
    return !this.polling && this.runs.some((r) => isWatching(r.state)) ? this.nextPollAt : undefined;
  }

  /** A read outside the poll (the re-check before UpdateService, a last listing): aborted with the others by stop(). */
  track<T>(p: Promise<T>): Promise<T> {
    this.out.add(p);
    void p.then(
      () => this.out.delete(p),
      () => this.out.delete(p),
    );
    return p;
  }

  /** The run is over: abort every read still out and wait until each has settled (they give up at once). */
  async stop(): Promise<void> {
    this.reads.abort();
    await Promise.allSettled([...this.out]);
  }

  start(): void {
    const watched = this.runs.filter((r) => isWatching(r.state));
    if (this.polling || this.reads.signal.aborted || watched.length === 0 || this.d.now() < this.nextPollAt) return;
    this.polling = true;
    const alarmed = watched.some((r) => (r.state.watch?.failures.length ?? 0) > 0);
    const interval = Math.min(this.d.pollMs, alarmed ? ALARMED_POLL_MS : this.d.pollMs);
    void this.poll(watched)
      .catch(() => {})
      .finally(() => {
        this.polling = false;
        const backoff = this.apiTrouble === 0 ? interval : Math.min(30_000, interval * 2 ** Math.min(this.apiTrouble, 5));
        this.nextPollAt = this.lookAgain ? 0 : this.d.now() + backoff;
        this.lookAgain = false;
        this.d.wake();
      });
  }

  private async poll(watched: Watched[]): Promise<void> {
    const polledAt = this.d.now();
    const arns = [...new Set(watched.flatMap((r) => arnsOf(r.state)))];
    const o = { timeoutMs: this.timeout(watched), signal: this.reads.signal };
    let sds: ServiceDeployment[] | undefined;
    const sdRead = this.track(ecs.describeServiceDeployments(this.d.clients.ecs, arns, o)).then(
      (v) => (sds = v),
      () => (sds = []),
    );
    let services: Map<string, Service | undefined>;
    try {
      services = await this.track(ecs.describeServices(this.d.clients.ecs, this.d.cluster, watched.map((r) => r.plan.spec.service), o));
    } catch (error) {
      await sdRead;
      if (!this.reads.signal.aborted) this.troubled(watched, error);
      return;
    }
    if (this.apiTrouble > 0) for (const r of watched) this.d.say(r, "info", "api", `ECS answers again after ${this.apiTrouble} failed poll(s)`);
    this.apiTrouble = 0;
    for (const r of watched) this.lookUp(r);
    // The read is judged as soon as it is answered: never held back for the listing below, nor for
    // DescribeServiceDeployments (a retried or hung one held back a read showing ECS rolling back, while a decision
    // taken meanwhile — an atomic peer's failure, a listing's, a deadline — missed it: issue #10, I6). Judged before
    // the service deployments are known, the snapshot is partial: their absence proves nothing.
    const partial = sds === undefined;
    const snapshot = (r: Watched, extra: Partial<Snapshot>): Snapshot => ({ kind: "snapshot", now: this.d.now(), polledAt, service: services.get(r.plan.spec.service), deployments: (sds ?? []).filter((d) => arnsOf(r.state).includes(d.serviceDeploymentArn ?? "")), stoppedTasks: [], listing: "skipped", ...extra });
    for (const r of watched) {
      this.d.post(r, snapshot(r, partial ? { partial: true } : {}));
      this.list(r, services.get(r.plan.spec.service), snapshot);
    }
    if (!partial) return;
    await sdRead;
    if (!this.reads.signal.aborted) for (const r of watched) this.d.post(r, snapshot(r, {}));
  }

  /** Each component's stopped-task listing runs on its own: a slow or throttled one holds nobody else. */
  private list(r: Watched, service: Service | undefined, snapshot: (r: Watched, extra: Partial<Snapshot>) => Snapshot): void {
    const bake = r.state.phase.startsWith("rollback") ? r.plan.spec.rules.rollbackBakeMs : r.plan.spec.rules.bakeMs;
    const dep = r.listing ? null : listingFor(r.state, service, this.d.now(), bake);
    if (dep === null) return;
    r.listing = true;
    const seen = new Set(r.state.watch?.seenTasks ?? []);
    // The deployment had COMPLETED: ECS counted its tasks healthy, so a crash now is not "never healthy".
    const completed = r.state.watch?.completedOnce === true;
    void this.track(ecs.listStoppedTasks(this.d.clients.ecs, this.d.cluster, dep, seen, { timeoutMs: CALL_TIMEOUT_MS, signal: this.reads.signal }))
      .then(
        ({ stopped, stopping }) => this.d.post(r, snapshot(r, { stoppedTasks: stopped.map((t) => toStoppedTask(t, { essentialContainers: r.plan.essentialContainers, seenHealthy: completed })), listing: "done", listedFor: dep, stopping })),
        (error: unknown) => {
          if (this.reads.signal.aborted) return;
          this.d.say(r, "warn", "api", `listing stopped tasks failed (${ecs.callError(error).name}); will list again`);
          this.d.post(r, snapshot(r, { listing: "failed", listedFor: dep }));
        },
      )
      .finally(() => (r.listing = false));
  }

  /**
   * A poll's reads give up after two poll intervals (1 s at least, 15 s at most) and never outlive the nearest
   * deadline by much: a hung DescribeServices would otherwise blind the watch for 15 s — the whole abort grace, or a
   * rollback's bake — while the next poll could already answer.
   */
  private timeout(watched: Watched[]): number {
    const now = this.d.now();
    const deadlines = watched.map((r) => Math.min(r.state.deadline ?? Infinity, r.state.abortDeadline ?? Infinity) - now);
    return Math.max(1_000, Math.min(CALL_TIMEOUT_MS, 2 * this.d.pollMs, ...deadlines));
  }

  /** UpdateService's answer did not name the service deployment: find it in ListServiceDeployments (a few tries). */
  private lookUp(r: Watched): void {
    const s = r.state;
    const of = s.phase === "watching" || s.phase === "baking" || (s.rollback !== null && s.rollback.via !== "update-service") ? "release" : s.rollback?.via === "update-service" ? "rollback" : undefined;
    const td = of === "release" ? s.newTd : s.previous;
    const known = of === "release" ? s.release?.arn : s.rollback?.arn;
    if (of === undefined || td === null || known !== null || r.lookups >= 10 || r.updatedAt === 0) return;
    r.lookups += 1;
    const after = new Date(r.updatedAt - 60_000);
    void this.track(ecs.findServiceDeployment(this.d.clients.ecs, this.d.cluster, r.plan.spec.service, td, after, { timeoutMs: CALL_TIMEOUT_MS, signal: this.reads.signal }))
      .then((arn) => arn && this.d.post(r, { kind: "service-deployment", now: this.d.now(), of, arn }))
      .catch(() => {});
  }

  private troubled(watched: Watched[], error: unknown): void {
    this.apiTrouble += 1;
    if (this.apiTrouble === 1 || this.apiTrouble % 5 === 0) {
      const e = ecs.callError(error);
      for (const r of watched) this.d.say(r, "warn", "api", `DescribeServices failed (${e.name}: ${e.message}); watching on — the deadlines hold`);
    }
  }
}

/** The service deployments a component's watch follows: its release's, and its rollback's when that is an UpdateService. */
function arnsOf(s: State): string[] {
  return [s.release?.arn, s.rollback?.via === "update-service" ? s.rollback.arn : undefined].filter((a): a is string => typeof a === "string");
}
