/**
 * Eventual consistency (docs/emulator.md, "consistency"): which state a read sees. "The Amazon ECS API follows an
 * eventual consistency model … the result of an API command you run that affects your Amazon ECS resources might not
 * be immediately visible to all subsequent commands you run"
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html). Rules come from the scenario:
 * - `{lagMs, rate}`: a share `rate` of the reads sees the whole state as it was up to `lagMs` ago (random age);
 * - `{lagMs, rate, after: [ops]}`: within `lagMs` after one of those calls, a read about that service sees the state
 *   from just before the call.
 */
import { LiveView, SnapshotView, type ReadView, type ViewPicker } from "./ecs/read-view.js";
import type { EcsState } from "./ecs/state.js";
import { servicesOf } from "./faults.js";
import type { ServiceName } from "./protocol.js";
import type { Rng } from "./rng.js";
import type { ConsistencyRule, Scenario } from "./scenario.js";

interface PreCall {
  at: number;
  op: string;
  /** `cluster/service` the call was about; undefined: every service. */
  key?: string;
  view: SnapshotView;
}

interface History {
  /** Snapshots taken after state changes, oldest first (for random-lag rules). */
  periodic: SnapshotView[];
  lastVersion: number;
  preCalls: PreCall[];
}

export interface ConsistencyHost {
  readonly scenario: Scenario;
  rng(): Rng;
}

export class Consistency {
  private readonly history = new Map<EcsState, History>();

  constructor(private readonly host: ConsistencyHost) {}

  private rules(): [string, ConsistencyRule][] {
    return Object.entries(this.host.scenario.consistency ?? {}) as [string, ConsistencyRule][];
  }

  private maxLag(filter: (r: ConsistencyRule) => boolean): number {
    return Math.max(0, ...this.rules().map(([, r]) => r).filter(filter).map((r) => r.lagMs));
  }

  private of(ecs: EcsState): History {
    let h = this.history.get(ecs);
    if (!h) {
      h = { periodic: [], lastVersion: -1, preCalls: [] };
      this.history.set(ecs, h);
    }
    return h;
  }

  /** Before a mutating call that an `after` rule names: remember the state the call is about to change. */
  beforeCall(ecs: EcsState, service: ServiceName, op: string, input: Record<string, unknown>, now: number): void {
    if (service !== "ecs" || !this.rules().some(([, r]) => r.after?.includes(op as never))) return;
    const cluster = typeof input.cluster === "string" ? input.cluster.slice(input.cluster.lastIndexOf("/") + 1) : "default";
    const names = servicesOf(input);
    const key = names.length === 1 ? `${cluster}/${names[0]}` : undefined;
    this.of(ecs).preCalls.push({ at: now, op, ...(key !== undefined ? { key } : {}), view: new SnapshotView(ecs, now) });
  }

  /** After every tick: snapshot changed partitions (only while a random-lag rule exists) and forget old snapshots. */
  afterTick(partitions: EcsState[], now: number): void {
    const periodicLag = this.maxLag((r) => r.after === undefined);
    const afterLag = this.maxLag((r) => r.after !== undefined);
    for (const ecs of partitions) {
      const h = this.of(ecs);
      h.preCalls = h.preCalls.filter((p) => now - p.at <= afterLag);
      if (periodicLag === 0) {
        h.periodic = [];
        continue;
      }
      if (ecs.version !== h.lastVersion) {
        h.periodic.push(new SnapshotView(ecs, now));
        h.lastVersion = ecs.version;
      }
      // Keep the newest snapshot older than the lag window, so the oldest reachable state stays available.
      while (h.periodic.length > 1 && now - h.periodic[1]!.at > periodicLag) h.periodic.shift();
    }
  }

  /** Which view each service's read sees, decided once per call. */
  picker(ecs: EcsState, op: string, now: number): ViewPicker {
    const live = new LiveView(ecs, now);
    const rule = this.host.scenario.consistency?.[op as "DescribeServices"] ?? this.host.scenario.consistency?.["*"];
    if (!rule || (rule.rate !== undefined && this.host.rng().next() >= rule.rate)) return () => live;
    const h = this.of(ecs);
    if (rule.after === undefined) {
      const age = 1 + Math.floor(this.host.rng().next() * rule.lagMs);
      const stale = [...h.periodic].reverse().find((v) => v.at <= now - age) ?? h.periodic[0];
      return () => stale ?? live;
    }
    const windows = h.preCalls.filter((p) => now - p.at <= rule.lagMs && rule.after!.includes(p.op as never));
    const cache = new Map<string | undefined, ReadView>();
    return (key) => {
      if (key === undefined) return live;
      if (!cache.has(key)) {
        const oldest = windows.find((p) => p.key === undefined || p.key === key);
        cache.set(key, oldest?.view ?? live);
      }
      return cache.get(key)!;
    };
  }
}
