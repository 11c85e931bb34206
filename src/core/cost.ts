/**
 * Monthly Fargate compute cost of an environment, from its rendered task and service definitions and the dated price
 * table in data/fargate-prices.json. Pure: the caller renders; this multiplies.
 */
import type { ComponentName } from "./catalogue.js";
import { COMPONENT_NAMES } from "./catalogue.js";
import type { Environment, EnvironmentOutputs } from "./environment.js";
import { InvalidInputError } from "./errors.js";

export type Architecture = "X86_64" | "ARM64";
export const ARCHITECTURES: readonly Architecture[] = ["X86_64", "ARM64"];
/** Fargate includes this much ephemeral storage in every task; only the configured amount above it is billed. */
export const FREE_EPHEMERAL_GIB = 20;

export interface RegionPrices {
  name: string;
  effective: string;
  published: string;
  checked: string;
  source: string;
  verification: string;
  X86_64: { vcpuHour: number; gbHour: number };
  ARM64: { vcpuHour: number; gbHour: number };
  ephemeralStorageGbHour: { price: number; verified: boolean; note: string };
}

export interface PriceFile {
  currency: string;
  hoursPerMonth: number;
  regions: Record<string, RegionPrices>;
  plan: { source: string; monthly: number; components: Partial<Record<ComponentName, number>> };
  notIncluded: string[];
}

/** What a task definition and its service say about one component, as Fargate bills it. */
export interface TaskShape {
  component: ComponentName;
  tasks: number;
  vcpu: number;
  memoryGb: number;
  ephemeralGiB: number;
  architecture: Architecture;
}

export interface CostLine extends TaskShape {
  /** Billed ephemeral storage per task (above the free 20 GiB). */
  extraStorageGb: number;
  /** Monthly vCPU + memory cost on each architecture. */
  compute: Record<Architecture, number>;
  storage: number;
  plan?: number;
}

export interface CostReport {
  environment: string;
  region: string;
  architecture: Architecture;
  currency: string;
  hoursPerMonth: number;
  prices: RegionPrices;
  lines: CostLine[];
  totals: { compute: Record<Architecture, number>; storage: number; total: number };
  armSaving: { monthly: number; percent: number };
  plan: { source: string; monthly: number; difference: number; percent: number };
  notIncluded: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** Reads cpu, memory, ephemeral storage and architecture from a rendered task definition, desiredCount from its service. */
export function taskShape(component: ComponentName, taskDefinition: unknown, service: unknown): TaskShape {
  const td = isObj(taskDefinition) ? taskDefinition : {};
  const cpu = Number(td.cpu);
  const memory = Number(td.memory);
  if (!(cpu > 0) || !(memory > 0)) throw new InvalidInputError(`${component}: the rendered task definition has no task-level cpu and memory`);
  const storage = isObj(td.ephemeralStorage) && typeof td.ephemeralStorage.sizeInGiB === "number" ? td.ephemeralStorage.sizeInGiB : FREE_EPHEMERAL_GIB;
  const arch = isObj(td.runtimePlatform) && td.runtimePlatform.cpuArchitecture === "ARM64" ? "ARM64" : "X86_64";
  const tasks = isObj(service) && typeof service.desiredCount === "number" ? service.desiredCount : NaN;
  if (!Number.isInteger(tasks) || tasks < 0) throw new InvalidInputError(`${component}: the rendered service has no desiredCount`);
  return { component, tasks, vcpu: cpu / 1024, memoryGb: memory / 1024, ephemeralGiB: storage, architecture: arch };
}

export function regionPrices(prices: PriceFile, region: string, file: string): RegionPrices {
  const p = prices.regions[region];
  if (p === undefined) throw new InvalidInputError(`no Fargate prices for region ${region} in ${file} (known: ${Object.keys(prices.regions).join(", ")}); add them with their source and date`);
  return p;
}

/** Cost of running `shapes` all month: tasks × (vCPU × rate + GB × rate) × hours, plus billed ephemeral storage. */
export function costReport(env: Pick<Environment, "name" | "region">, shapes: readonly TaskShape[], prices: PriceFile, file: string): CostReport {
  const p = regionPrices(prices, env.region, file);
  const hours = prices.hoursPerMonth;
  const lines: CostLine[] = shapes.map((s) => {
    const compute = (a: Architecture) => s.tasks * (s.vcpu * p[a].vcpuHour + s.memoryGb * p[a].gbHour) * hours;
    const extraStorageGb = Math.max(0, s.ephemeralGiB - FREE_EPHEMERAL_GIB);
    return {
      ...s,
      extraStorageGb,
      compute: { X86_64: compute("X86_64"), ARM64: compute("ARM64") },
      storage: s.tasks * extraStorageGb * p.ephemeralStorageGbHour.price * hours,
      ...(prices.plan.components[s.component] === undefined ? {} : { plan: prices.plan.components[s.component] }),
    };
  });
  const sum = (f: (l: CostLine) => number) => lines.reduce((acc, l) => acc + f(l), 0);
  const architectures = new Set(shapes.map((s) => s.architecture));
  const architecture: Architecture = architectures.has("ARM64") && !architectures.has("X86_64") ? "ARM64" : "X86_64";
  const compute = { X86_64: sum((l) => l.compute.X86_64), ARM64: sum((l) => l.compute.ARM64) };
  const current = sum((l) => l.compute[l.architecture]);
  const storage = sum((l) => l.storage);
  return {
    environment: env.name,
    region: env.region,
    architecture,
    currency: prices.currency,
    hoursPerMonth: hours,
    prices: p,
    lines,
    totals: { compute, storage, total: current + storage },
    armSaving: { monthly: compute.X86_64 - compute.ARM64, percent: compute.X86_64 === 0 ? 0 : ((compute.X86_64 - compute.ARM64) / compute.X86_64) * 100 },
    plan: { source: prices.plan.source, monthly: prices.plan.monthly, difference: prices.plan.monthly - current, percent: ((prices.plan.monthly - current) / prices.plan.monthly) * 100 },
    notIncluded: prices.notIncluded,
  };
}

/**
 * Syntactically valid outputs for an environment whose stack does not exist yet: cost reads cpu, memory, storage,
 * architecture and desired counts, never an ARN, so an estimate needs no stack.
 */
export function standInOutputs(env: Pick<Environment, "account" | "region" | "loadBalancers">): EnvironmentOutputs {
  const each = <T>(f: (c: ComponentName) => T) => Object.fromEntries(COMPONENT_NAMES.map((c) => [c, f(c)])) as Record<ComponentName, T>;
  const routed = COMPONENT_NAMES.filter((c) => env.loadBalancers[c] !== undefined);
  return {
    cloudMap: { services: each((c) => `arn:aws:servicediscovery:${env.region}:${env.account}:service/srv-${c}`) },
    roles: { executionRoleArn: `arn:aws:iam::${env.account}:role/stand-in`, taskRoleArns: each(() => `arn:aws:iam::${env.account}:role/stand-in`) },
    network: { securityGroups: ["sg-00000000"] },
    loadBalancers: Object.fromEntries(routed.map((c) => [c, { targetGroupArn: `arn:aws:elasticloadbalancing:${env.region}:${env.account}:targetgroup/${c}/0` }])),
    deploymentAlarms: {},
  };
}
