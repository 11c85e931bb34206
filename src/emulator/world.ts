/**
 * Every account and region the emulator has seen, each with its own ECS, ECR and CloudWatch Logs state. Resources
 * are regional (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ClusterNotFoundException.html: "Amazon
 * ECS clusters are Region specific"), so a request only ever sees its own partition.
 */
import { EcrState, registryOf, type ImageLookup } from "./ecr/state.js";
import type { Task } from "./ecs/model.js";
import { tick } from "./ecs/sim/scheduler.js";
import { EcsState, type EcsDeps } from "./ecs/state.js";
import { LogsState, type LogStream } from "./logs/state.js";

export interface Partition {
  account: string;
  region: string;
  ecs: EcsState;
  ecr: EcrState;
  logs: LogsState;
}

export type WorldDeps = Omit<EcsDeps, "lookupImage" | "logs"> & { now(): number; autoCreateLogGroups(): boolean };

export class World {
  private readonly partitions = new Map<string, Partition>();

  constructor(private readonly deps: WorldDeps) {}

  partition(account: string, region: string): Partition {
    const key = `${account}/${region}`;
    let p = this.partitions.get(key);
    if (!p) {
      const ecsDeps: EcsDeps = {
        ...this.deps,
        lookupImage: (image, acct, reg) => this.lookupImage(image, acct, reg),
        logs: {
          open: (task, container, at) => void this.streamOf(task, container, at),
          line: (task, container, at, message) => this.containerLine(task, container, at, message),
        },
      };
      p = { account, region, ecs: new EcsState(account, region, ecsDeps), ecr: new EcrState(account, region), logs: new LogsState(account, region) };
      this.partitions.set(key, p);
    }
    return p;
  }

  all(): Partition[] {
    return [...this.partitions.values()];
  }

  tick(now: number): void {
    for (const p of this.partitions.values()) tick(p.ecs, now);
  }

  /** An image on `<account>.dkr.ecr.<region>.amazonaws.com` is looked up in that registry; loopback hosts mean the caller's. */
  lookupImage(image: string, account: string, region: string): ImageLookup {
    const slash = image.indexOf("/");
    if (slash < 0) return { emulated: false, found: true };
    const reg = registryOf(image.slice(0, slash));
    if (!reg.emulated) return { emulated: false, found: true };
    return this.partition(reg.account ?? account, reg.region ?? region).ecr.lookupPath(image.slice(slash + 1));
  }

  /** A container's awslogs stream (in the awslogs-region, if given), created with its group on first use. */
  private streamOf(task: Task, containerName: string, at: number): LogStream | undefined {
    const c = task.containers.find((x) => x.name === containerName);
    if (!c?.awslogs?.streamPrefix) return undefined;
    const logs = this.partition(task.cluster.account, c.awslogs.region ?? task.cluster.region).logs;
    const group = logs.groups.get(c.awslogs.group) ?? (c.awslogs.createGroup || this.deps.autoCreateLogGroups() ? logs.createGroup(c.awslogs.group, at) : undefined);
    return group ? logs.openStream(group, `${c.awslogs.streamPrefix}/${c.name}/${task.id}`, at) : undefined;
  }

  /** A container's stdout line goes to its awslogs stream. */
  private containerLine(task: Task, containerName: string, at: number, message: string): void {
    this.streamOf(task, containerName, at)?.events.push({ timestamp: at, message, ingestionTime: this.deps.now() });
  }
}
