import { FARGATE_MEMORY_BY_CPU } from "../core/fargate.js";
import { clientError } from "./errors.js";
import { arr, num, obj, str } from "./util.js";

/** The Fargate task size table: the same one (from the AWS documentation) the release tool validates against. */
export function fargateMemoryOptions(cpu: number): number[] {
  return [...(FARGATE_MEMORY_BY_CPU[cpu] ?? [])];
}

/** "1024", "1 vCPU", "0.25 vcpu" → cpu units. */
export function parseCpu(v: string): number | undefined {
  const s = v.trim().toLowerCase();
  if (/^\d+$/.test(s)) return Number(s);
  const m = /^(\d+(?:\.\d+)?)\s*vcpu$/.exec(s);
  return m ? Math.round(Number(m[1]) * 1024) : undefined;
}

/** "2048", "2 GB", "2gb" → MiB. */
export function parseMemory(v: string): number | undefined {
  const s = v.trim().toLowerCase();
  if (/^\d+$/.test(s)) return Number(s);
  const m = /^(\d+(?:\.\d+)?)\s*gb$/.exec(s);
  return m ? Math.round(Number(m[1]) * 1024) : undefined;
}

const FAMILY_RE = /^[a-zA-Z0-9_-]{1,255}$/;
const CONTAINER_NAME_RE = /^[a-zA-Z0-9_-]{1,255}$/;

/** One container definition: name, image, stopTimeout, health check command, dependsOn targets. */
function validateContainer(c: Record<string, unknown>, containers: unknown[], names: Set<string>): void {
  const name = str(c.name);
  if (name === undefined || name === "") throw clientError("Container.name should not be null or empty.");
  if (!CONTAINER_NAME_RE.test(name)) {
    throw clientError(`Container name '${name}' is invalid. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.`);
  }
  if (names.has(name)) throw clientError(`Duplicate container name '${name}'. Container names must be unique within a task definition.`);
  names.add(name);
  const image = str(c.image);
  if (image === undefined || image === "") throw clientError("Container.image should not be null or empty.");
  const stopTimeout = num(c.stopTimeout);
  if (stopTimeout !== undefined && (stopTimeout < 2 || stopTimeout > 120)) {
    throw clientError(`Invalid setting for container '${name}'. 'stopTimeout' must be between 2 and 120 seconds on Fargate.`);
  }
  const hc = obj(c.healthCheck);
  if (hc !== undefined && (arr(hc.command) ?? []).length === 0) {
    throw clientError(`Invalid setting for container '${name}'. healthCheck.command should not be null or empty.`);
  }
  for (const dep of arr(c.dependsOn) ?? []) {
    const target = str(obj(dep)?.containerName);
    if (target !== undefined && !containers.some((o) => str(obj(o)?.name) === target)) {
      throw clientError(`Container '${name}' depends on container '${target}', which is not defined in the task definition.`);
    }
  }
}

/** FARGATE: awsvpc, task-level cpu and memory from the Fargate table, containers within them. */
function validateFargate(input: Record<string, unknown>, containers: unknown[], cpu: number | undefined, memory: number | undefined): void {
  if (str(input.networkMode) !== "awsvpc") throw clientError("Fargate only supports network mode 'awsvpc'.");
  if (cpu === undefined) throw clientError("Fargate requires that 'cpu' be defined at the task level.");
  if (memory === undefined) throw clientError("Fargate requires that 'memory' be defined at the task level.");
  if (!fargateMemoryOptions(cpu).includes(memory)) {
    throw clientError(`No Fargate configuration exists for given values: ${cpu} CPU, ${memory} memory. See the Amazon ECS documentation for the valid values.`);
  }
  let containerCpu = 0;
  for (const raw of containers) {
    const c = obj(raw)!;
    containerCpu += num(c.cpu) ?? 0;
    const cm = num(c.memory);
    if (cm !== undefined && cm > memory) {
      throw clientError(`Invalid setting for container '${str(c.name)}'. At least one of 'memory' or 'memoryReservation' must be less than or equal to the task memory.`);
    }
  }
  if (containerCpu > cpu) throw clientError("The sum of all container cpu values must not exceed the task cpu.");
}

/**
 * RegisterTaskDefinition validation as ECS does it (ClientException texts modelled on the real service).
 * Returns the normalised cpu/memory strings.
 */
export function validateTaskDefinition(input: Record<string, unknown>): { cpu?: string; memory?: string } {
  const family = str(input.family);
  if (family === undefined || family === "") throw clientError("Family should not be null or empty.");
  if (!FAMILY_RE.test(family)) {
    throw clientError("Family contains invalid characters. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.");
  }
  const containers = arr(input.containerDefinitions);
  if (containers === undefined || containers.length === 0) throw clientError("Container list cannot be empty.");
  const names = new Set<string>();
  for (const raw of containers) {
    const c = obj(raw);
    if (c === undefined) throw clientError("Container definition must be an object.");
    validateContainer(c, containers, names);
  }
  if (!containers.some((c) => obj(c)!.essential !== false)) throw clientError("Task definition must have at least one essential container.");
  const compat = (arr(input.requiresCompatibilities) ?? []).map(String);
  for (const c of compat) {
    if (!["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"].includes(c)) throw clientError(`Invalid compatibility '${c}'.`);
  }
  const cpuRaw = input.cpu === undefined ? undefined : String(input.cpu);
  const memRaw = input.memory === undefined ? undefined : String(input.memory);
  const cpu = cpuRaw === undefined ? undefined : parseCpu(cpuRaw);
  const memory = memRaw === undefined ? undefined : parseMemory(memRaw);
  if (cpuRaw !== undefined && cpu === undefined) throw clientError(`Invalid 'cpu' setting for task: ${cpuRaw}.`);
  if (memRaw !== undefined && memory === undefined) throw clientError(`Invalid 'memory' setting for task: ${memRaw}.`);
  if (compat.includes("FARGATE")) validateFargate(input, containers, cpu, memory);
  const mode = str(input.networkMode);
  if (mode !== undefined && !["awsvpc", "bridge", "host", "none"].includes(mode)) throw clientError(`Invalid network mode '${mode}'.`);
  const out: { cpu?: string; memory?: string } = {};
  if (cpu !== undefined) out.cpu = String(cpu);
  if (memory !== undefined) out.memory = String(memory);
  return out;
}
