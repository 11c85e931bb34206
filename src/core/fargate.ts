/** Valid Fargate task cpu/memory combinations (Linux), memory in MiB. */
const GiB = 1024;
const range = (from: number, to: number, step: number): number[] => {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v * GiB);
  return out;
};

export const FARGATE_MEMORY_BY_CPU: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: range(1, 4, 1),
  1024: range(2, 8, 1),
  2048: range(4, 16, 1),
  4096: range(8, 30, 1),
  8192: range(16, 60, 4),
  16384: range(32, 120, 8),
};

export const FARGATE_MAX_STOP_TIMEOUT = 120;

export function fargatePairError(cpu: string | undefined, memory: string | undefined): string | undefined {
  if (cpu === undefined || memory === undefined) return "task cpu and memory are required on Fargate";
  if (!/^\d+$/.test(cpu) || !/^\d+$/.test(memory)) return `task cpu "${cpu}" and memory "${memory}" must be strings of digits (CPU units, MiB)`;
  const allowed = FARGATE_MEMORY_BY_CPU[Number(cpu)];
  if (allowed === undefined) return `cpu ${cpu} is not a Fargate size (one of ${Object.keys(FARGATE_MEMORY_BY_CPU).join(", ")})`;
  if (!allowed.includes(Number(memory))) {
    return `cpu ${cpu} with memory ${memory} MiB is not a valid Fargate pair (memory for cpu ${cpu}: ${allowed[0]}..${allowed[allowed.length - 1]} MiB)`;
  }
  return undefined;
}
