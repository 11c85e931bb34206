/**
 * The release scenarios of issue #14 and the approaches compared on each, one run = one fresh emulator:
 *
 *   lgtm-deploy          `lgtm-deploy deploy <components> --env local --sha <next>` with its defaults, in-process on
 *                        the emulator's simulated clock (bench/lib.ts);
 *   original plan        UpdateService --force-new-deployment, then `aws ecs wait services-stable` (bench/waiter.ts:
 *                        botocore's waiter, its 15 s delay on the simulated clock); the rollback is ECS's breaker;
 *   breaker alone        UpdateService, then only observe;
 *   ... six sequential   six single-component `lgtm-deploy deploy` one after the other (six-component scenario);
 *   real AWS CLI         the original plan with the real `aws` binary (only at time scale 1: it sleeps wall time).
 *
 * All times come from the observer (bench/observer.ts) in simulated milliseconds.
 */
import { execa } from "execa";
import { existsSync } from "node:fs";
import { COMPONENT_NAMES, type ComponentName } from "../src/core/catalogue.js";
import type { ImageBehavior } from "../src/emulator/index.js";
import { SHAS, env, lgtmDeploy, registerRevision, serviceOf, startBench, updateService, type Bench } from "./lib.js";
import { Observer, type Timeline } from "./observer.js";
import { waitServicesStable } from "./waiter.js";

export const AWS_CLI = "/usr/bin/aws";

export type Approach = "lgtm-deploy" | "original plan" | "breaker alone" | "lgtm-deploy, six sequential" | "original plan, real AWS CLI";

export interface Scenario {
  name: string;
  title: string;
  components: ComponentName[];
  next: Partial<Record<ComponentName, ImageBehavior>>;
  approaches: Approach[];
  /** The observer has seen what the scenario measures (the command, if any, has also returned). */
  seen(t: Timeline, now: number): boolean;
}

/** A Mimir-like start-up failure: the panic text is in the logs (exitLog), ECS reports only the exit code. */
const CRASH_LOG = ['level=error msg="error validating config" err="invalid ingester ring replication factor: 4 > 3 instances"', "panic: invalid configuration"];

const MIMIR: ComponentName[] = ["mimir"];
const healthyAgain = (t: Timeline) => t.healthyAgainAt !== undefined;

export const SCENARIOS: Scenario[] = [
  {
    name: "crashloop",
    title: "deterministic crash loop: Mimir (3 tasks, 66/100, breaker on), the new image exits 1 two seconds after it starts",
    components: MIMIR,
    next: { mimir: { behavior: "crash", exitCode: 1, afterMs: 2_000, exitLog: CRASH_LOG } },
    approaches: ["lgtm-deploy", "original plan", "breaker alone"],
    seen: healthyAgain,
  },
  {
    name: "transient",
    title: "transient crash loop: the new image exits 1 twenty seconds after it starts (not quick: counts toward --max-failed-tasks 2, like the breaker's COUNT 2)",
    components: MIMIR,
    next: { mimir: { behavior: "crash", exitCode: 1, afterMs: 20_000, exitLog: CRASH_LOG } },
    approaches: ["lgtm-deploy", "original plan", "breaker alone"],
    seen: healthyAgain,
  },
  {
    // Mimir's rollout on this profile (measured by the healthy scenario): the first new task is RUNNING ~26 s after the
    // update, the deployment COMPLETED ~190 s after it (three replacements, each waiting 40 s before the new task
    // counts as healthy). Crashing 195 s after RUNNING puts the first crash ~30 s after COMPLETED, inside Mimir's
    // default bake (70 s); the tables print where it actually fell.
    name: "late-crash",
    title: "crash after COMPLETED: the new image exits 1 195 s after it starts (about 30 s after the deployment COMPLETED)",
    components: MIMIR,
    next: { mimir: { behavior: "crash", exitCode: 1, afterMs: 195_000, exitLog: CRASH_LOG } },
    approaches: ["lgtm-deploy", "original plan", "breaker alone"],
    seen: (t, now) => healthyAgain(t) || (t.firstFailedAt !== undefined && now > t.firstFailedAt + 60_000),
  },
  {
    name: "healthy",
    title: "healthy release: Mimir (3 tasks, 66/100), a good image",
    components: MIMIR,
    next: {},
    approaches: ["lgtm-deploy", "original plan", "breaker alone"],
    seen: (t) => t.releaseCompletedAt !== undefined,
  },
  {
    name: "six",
    title: "six-component healthy release: Mimir 3, Loki 2, Tempo, Pyroscope, Grafana, Alloy 1 each",
    components: [...COMPONENT_NAMES],
    next: {},
    approaches: ["lgtm-deploy", "lgtm-deploy, six sequential", "original plan", "breaker alone"],
    seen: (t) => t.releaseCompletedAt !== undefined,
  },
];

export interface Reads {
  /** DescribeServices calls while watching: one per poll. */
  polls: number;
  reads: number;
  byOperation: Record<string, number>;
}

export interface RunResult {
  scenario: string;
  approach: Approach;
  /** When the first change was made (simulated ms). */
  t0: number;
  /** Exit code of the tool (worst of several) or of the waiter. */
  exitCode?: number;
  /** When the tool or the waiter returned (simulated ms). */
  verdictAt?: number;
  note?: string;
  timelines: Timeline[];
  reads?: Reads;
  /** Every AWS API call the approach made (ECS and ECR), from its first call to its verdict (or to the end of the run). */
  calls: number;
  /** Wall-clock duration of the run, setup included. */
  wallMs: number;
  output: string[];
}

export interface RunOptions {
  timeScale: number;
  /** Give up observing after this much simulated time past the first change. */
  maxSimMs?: number;
}

interface Acted {
  exitCode?: number;
  verdictAt?: number;
  note?: string;
  /** Watch windows [UpdateService sent, command returned] of each lgtm-deploy command, for the read figures. */
  windows: Array<{ from: number; to: number }>;
  output: string[];
}

export async function runScenario(sc: Scenario, approach: Approach, o: RunOptions): Promise<RunResult> {
  const wall0 = performance.now();
  if (approach === "original plan, real AWS CLI" && o.timeScale !== 1) throw new Error("the real AWS CLI sleeps wall time: run it at time scale 1 only");
  const b = await startBench(sc.components, { timeScale: o.timeScale, next: sc.next });
  try {
    const observer = new Observer(b.emu.url, () => b.emu.calls());
    await observer.start();
    const t0 = b.clock.now();
    const acted = await act(b, sc, approach);
    const services = sc.components.map(serviceOf);
    const timelines = () => services.map((s, i) => observer.timeline(s, b.goodTd[sc.components[i]!]!, t0));
    const limit = t0 + (o.maxSimMs ?? 40 * 60_000);
    while (!timelines().every((t) => sc.seen(t, observer.now)) && observer.now < limit) await b.clock.sleep(2_000);
    await observer.stop();
    const end = acted.verdictAt ?? observer.now;
    const calls = observer.callsSince(t0).filter((c) => Date.parse(c.time) <= end).length;
    const result: RunResult = { scenario: sc.name, approach, t0, timelines: timelines(), calls, wallMs: performance.now() - wall0, output: acted.output };
    if (acted.exitCode !== undefined) result.exitCode = acted.exitCode;
    if (acted.verdictAt !== undefined) result.verdictAt = acted.verdictAt;
    if (acted.note !== undefined) result.note = acted.note;
    const reads = readFigures(observer, approach, result.timelines, acted.windows, acted.verdictAt);
    if (reads) result.reads = reads;
    return result;
  } finally {
    await b.close();
  }
}

async function act(b: Bench, sc: Scenario, approach: Approach): Promise<Acted> {
  const services = sc.components.map(serviceOf);
  const deployArgs = (components: string[]) => ["deploy", ...components, "--env", "local", "--sha", SHAS.next];
  switch (approach) {
    case "lgtm-deploy": {
      const r = await lgtmDeploy(b, deployArgs(sc.components));
      return { exitCode: r.exitCode, verdictAt: r.endedAt, windows: [{ from: 0, to: r.endedAt }], output: r.output };
    }
    case "lgtm-deploy, six sequential": {
      const output: string[] = [];
      const windows: Acted["windows"] = [];
      let worst = 0;
      for (const c of sc.components) {
        const from = b.clock.now();
        const r = await lgtmDeploy(b, deployArgs([c]));
        output.push(...r.output);
        windows.push({ from, to: r.endedAt });
        if (r.exitCode !== 0) worst = r.exitCode;
      }
      return { exitCode: worst, verdictAt: b.clock.now(), windows, output };
    }
    case "original plan": {
      for (const c of sc.components) await updateService(b, c);
      const w = await waitServicesStable(b.clients.ecs, env.cluster, services, b.clock);
      return { exitCode: w.exitCode, verdictAt: b.clock.now(), note: `${w.why} after ${w.attempts} DescribeServices`, windows: [], output: [] };
    }
    case "breaker alone":
      for (const c of sc.components) await updateService(b, c);
      return { windows: [], output: [] };
    case "original plan, real AWS CLI":
      return realCli(b, sc.components);
  }
}

/** The original plan exactly as written: the real AWS CLI's update-service and wait services-stable (wall-clock delays). */
async function realCli(b: Bench, components: ComponentName[]): Promise<Acted> {
  if (!existsSync(AWS_CLI)) throw new Error(`${AWS_CLI} not found (apt-get install awscli)`);
  const cli = { AWS_ACCESS_KEY_ID: "bench", AWS_SECRET_ACCESS_KEY: "bench", AWS_DEFAULT_REGION: env.region, AWS_PAGER: "" };
  const common = ["--endpoint-url", b.emu.url, "--cluster", env.cluster];
  for (const c of components) {
    const td = await registerRevision(b.clients, c, "next", b.digest(c, "next"));
    await execa(AWS_CLI, ["ecs", "update-service", ...common, "--service", serviceOf(c), "--task-definition", td, "--force-new-deployment"], { env: cli });
  }
  const wait = await execa(AWS_CLI, ["ecs", "wait", "services-stable", ...common, "--services", ...components.map(serviceOf)], { env: cli, reject: false });
  return { exitCode: wait.exitCode ?? 255, verdictAt: b.clock.now(), note: "real AWS CLI", windows: [], output: [wait.stdout, wait.stderr].filter(Boolean) };
}

const READS = new Set(["DescribeServices", "DescribeServiceDeployments", "ListServiceDeployments", "ListTasks", "DescribeTasks"]);

/**
 * Read calls while watching: from each command's first UpdateService to its return (the plan's reads — images,
 * task definitions, the re-check before the update — are not polling). The waiter's are its DescribeServices calls.
 */
function readFigures(observer: Observer, approach: Approach, timelines: Timeline[], windows: Acted["windows"], verdictAt: number | undefined): Reads | undefined {
  if (approach === "breaker alone") return undefined;
  const first = Math.min(...timelines.map((t) => t.updateAt ?? Number.POSITIVE_INFINITY));
  const calls = observer.callsSince(first).filter((c) => c.service === "ecs" && !c.mutating && READS.has(c.operation));
  const watchFrom = (w: Acted["windows"][number]) => Math.min(...timelines.map((t) => t.updateAt ?? Number.NaN).filter((u) => u >= w.from && u <= w.to));
  const inWindow = (at: number) => (windows.length === 0 ? at <= (verdictAt ?? Number.POSITIVE_INFINITY) : windows.some((w) => at >= watchFrom(w) && at <= w.to));
  const watched = calls.filter((c) => inWindow(Date.parse(c.time)));
  const byOperation: Record<string, number> = {};
  for (const c of watched) byOperation[c.operation] = (byOperation[c.operation] ?? 0) + 1;
  return { polls: byOperation.DescribeServices ?? 0, reads: watched.length, byOperation };
}
