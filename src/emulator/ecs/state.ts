/**
 * The ECS state of one account and region, with the lookups the API surface shares. Resources of other regions and
 * accounts live in other EcsState instances and are invisible from here (docs/emulator.md, "Regions and accounts").
 */
import type { ImageLookup } from "../ecr/state.js";
import { AwsApiError, clientError, invalidParam } from "../errors.js";
import type { Rng } from "../rng.js";
import type { ImageBehavior } from "../scenario.js";
import type { ResolvedTiming } from "../timing.js";
import type { Cluster, Service, ServiceDeploymentRec, ServiceRevision, Task, TaskDef } from "./model.js";

export interface ContainerLogSink {
  /** A container started: the awslogs driver creates its stream `<prefix>/<container>/<task id>`. */
  open(task: Task, containerName: string, at: number): void;
  /** A container wrote a line (awslogs): the Logs emulator stores it in that stream. */
  line(task: Task, containerName: string, at: number, message: string): void;
}

export interface EcsDeps {
  timing(): ResolvedTiming;
  behaviorFor(image: string, digest: string | undefined): ImageBehavior | undefined;
  /** Looks an image up in the emulated ECR of the registry it names (any account/region). */
  lookupImage(image: string, account: string, region: string): ImageLookup;
  rng(): Rng;
  log(line: string): void;
  logs: ContainerLogSink;
}

export const lastSegment = (s: string): string => s.slice(s.lastIndexOf("/") + 1);

/** ECS ARN parts; undefined when `ref` is not an ECS ARN. */
export function parseArn(ref: string): { region: string; account: string; resource: string } | undefined {
  const m = /^arn:aws[a-z-]*:ecs:([a-z0-9-]*):(\d*):(.+)$/.exec(ref);
  return m ? { region: m[1]!, account: m[2]!, resource: m[3]! } : undefined;
}

export class EcsState {
  readonly clusters = new Map<string, Cluster>();
  readonly families = new Map<string, TaskDef[]>();
  /** key: `${cluster}/${service}` */
  readonly services = new Map<string, Service>();
  readonly tasks = new Map<string, Task>();
  readonly serviceDeployments = new Map<string, { svc: Service; rec: ServiceDeploymentRec }>();
  readonly revisions = new Map<string, ServiceRevision>();
  /** Tasks that are not STOPPED, overall and per service (`cluster/service`): a tick only looks at these. */
  readonly active = new Set<Task>();
  private readonly activeBySvc = new Map<string, Set<Task>>();
  /** STOPPED tasks in the order they stopped, for pruning after the retention window. */
  private readonly stoppedQueue: Task[] = [];
  /** Bumped on every change, so stale-read snapshots are taken only when something changed. */
  version = 0;

  constructor(
    readonly account: string,
    readonly region: string,
    readonly deps: EcsDeps,
  ) {}

  touch(): void {
    this.version += 1;
  }

  /**
   * An ARN naming another region or account is rejected the way ECS rejects it: "Invalid Region in ARN" /
   * "Identifier is for <account>. Your accountId is <account>".
   */
  checkOwnArn(ref: string): void {
    const arn = parseArn(ref);
    if (!arn) return;
    if (arn.region !== this.region) throw invalidParam("Invalid Region in ARN");
    if (arn.account !== this.account) throw invalidParam(`Identifier is for ${arn.account}. Your accountId is ${this.account}`);
  }

  clusterOf(input: Record<string, unknown>): Cluster {
    const ref = typeof input.cluster === "string" ? input.cluster : "default";
    this.checkOwnArn(ref);
    const name = ref.startsWith("arn:") ? lastSegment(ref) : ref;
    const c = this.clusters.get(name);
    if (!c) throw new AwsApiError("ClusterNotFoundException", "Cluster not found.");
    return c;
  }

  findService(cluster: Cluster, ref: string): Service | undefined {
    const name = ref.startsWith("arn:") ? lastSegment(ref) : ref;
    return this.services.get(`${cluster.name}/${name}`);
  }

  serviceOf(cluster: Cluster, ref: string | undefined): Service {
    if (ref === undefined || ref === "") throw invalidParam("service should not be null or empty.");
    this.checkOwnArn(ref);
    const s = this.findService(cluster, ref);
    if (!s || s.status === "INACTIVE") throw new AwsApiError("ServiceNotFoundException", "Service not found.");
    return s;
  }

  /** family (latest ACTIVE revision), family:rev or ARN. */
  taskDefOf(ref: string | undefined, notFound: () => AwsApiError): TaskDef {
    if (ref === undefined || ref === "") throw clientError("taskDefinition should not be null or empty.");
    this.checkOwnArn(ref);
    const short = ref.startsWith("arn:") ? lastSegment(ref) : ref;
    const colon = short.lastIndexOf(":");
    const family = colon >= 0 ? short.slice(0, colon) : short;
    const revs = this.families.get(family) ?? [];
    if (colon >= 0) {
      const rev = Number(short.slice(colon + 1));
      const td = revs.find((t) => t.revision === rev);
      if (!td) throw notFound();
      return td;
    }
    const active = revs.filter((t) => t.status === "ACTIVE");
    const td = active[active.length - 1];
    if (!td) throw notFound();
    return td;
  }

  /** The service's tasks that are not STOPPED yet (every scheduler decision is about these). */
  tasksOf(svc: Service): Task[] {
    return [...(this.activeBySvc.get(`${svc.cluster.name}/${svc.name}`) ?? [])];
  }

  serviceOfTask(t: Task): Service | undefined {
    return t.serviceName === undefined ? undefined : this.services.get(`${t.cluster.name}/${t.serviceName}`);
  }

  addTask(svc: Service, task: Task): void {
    this.tasks.set(task.arn, task);
    this.active.add(task);
    const key = `${svc.cluster.name}/${svc.name}`;
    const set = this.activeBySvc.get(key);
    if (set) set.add(task);
    else this.activeBySvc.set(key, new Set([task]));
    this.touch();
  }

  /** A task reached STOPPED. */
  markStopped(task: Task): void {
    this.active.delete(task);
    if (task.serviceName !== undefined) this.activeBySvc.get(`${task.cluster.name}/${task.serviceName}`)?.delete(task);
    this.stoppedQueue.push(task);
    this.touch();
  }

  /** Forgets STOPPED tasks older than the retention window (DescribeTasks shows stopped tasks for about an hour). */
  pruneStopped(now: number): void {
    const retention = this.deps.timing().stoppedTaskRetentionMs;
    let pruned = 0;
    while (pruned < this.stoppedQueue.length && now - (this.stoppedQueue[pruned]!.stoppedAt ?? now) > retention) {
      this.tasks.delete(this.stoppedQueue[pruned]!.arn);
      pruned += 1;
    }
    if (pruned === 0) return;
    this.stoppedQueue.splice(0, pruned);
    this.touch();
  }

  /** A service event, newest first; DescribeServices shows the latest 100. */
  event(svc: Service, at: number, message: string): void {
    const h = this.deps.rng().hex(32);
    const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    svc.events.unshift({ id, createdAt: at, message });
    if (svc.events.length > 100) svc.events.length = 100;
    this.allEvents.unshift({ serviceArn: svc.arn, id, createdAt: at, message });
    if (this.allEvents.length > 2000) this.allEvents.length = 2000;
    this.deps.log(`${new Date(at).toISOString()} ${message}`);
    this.touch();
  }

  /** Every event of every service (newest first, at most 2000) for GET /_emulator/state. */
  readonly allEvents: { serviceArn: string; id: string; createdAt: number; message: string }[] = [];

  /** A random UUID from the id PRNG (reproducible per seed). */
  uuid(): string {
    const h = this.deps.rng().hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${"89ab"[parseInt(h[16]!, 16) % 4]}${h.slice(17, 20)}-${h.slice(20)}`;
  }
}
