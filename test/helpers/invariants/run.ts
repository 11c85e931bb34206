/**
 * Runs one schedule: a fresh world, the faults and events wired into the emulator and the proxy, the CLI run
 * in-process (`run(argv, io)` from src/cli.ts, SIGTERM = aborting the Io signal), then everything the oracle needs.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { run } from "../../../src/cli.js";
import { serviceName, type ComponentName } from "../../../src/core/catalogue.js";
import type { CallRecord } from "../../../src/emulator/index.js";
import { REPO_ROOT } from "../cli.js";
import type { ProxyCall } from "./proxy.js";
import type { CallPoint, Schedule } from "./schedule.js";
import type { EmuState } from "./state.js";
import { startWorld, type Baseline, type World } from "./world.js";
import { JENKINS_SOFT_KILL_MS, spawnTool } from "./process.js";

/** The tool's poll interval in these runs (the oracle's grace periods depend on it). */
export const POLL_MS = 40;

export type EventLog = Map<string, { createdAt: number; message: string }>;

export interface Observation {
  schedule: Schedule;
  argv: string[];
  exitCode: number;
  out: string[];
  err: string[];
  t0: number;
  tEnd: number;
  tAbort?: number;
  /** When the third party's UpdateService was sent, and its ARN; undefined when it did not happen. */
  thirdParty?: { component: ComponentName; taskDefinition: string; sentAt: number; applied: boolean; appliedAt?: number };
  baseline: Map<ComponentName, Baseline>;
  /** Record files after the run (undefined: missing or unreadable). */
  records: Map<ComponentName, any>;
  /** Record files as read while the tool's first watch call was in flight (I4: written early). */
  earlyRecords?: Map<ComponentName, any>;
  stateEnd: EmuState;
  stateLater: EmuState;
  events: EventLog;
  emuCalls: CallRecord[];
  proxyCalls: ProxyCall[];
  /** The watchdog had to abort the run (it overran every deadline), or gave up waiting for it. */
  overran: boolean;
  hung: boolean;
  /** Process runs: Jenkins' SIGKILL (5 s after SIGTERM) ended it. Its exit code is then not the tool's. */
  killed: boolean;
  /**
   * Process runs: SIGTERM's default action ended it — the signal came before Node had evaluated the bundle's first
   * statement, which installs the handler (README, exit codes: 143). The tool never ran: it cannot have called anything.
   */
  diedOfSigterm: boolean;
  /** The tool's progress events from --events-file (empty when the tool keeps none). */
  toolEvents: ToolEvent[];
  recordPath(c: ComponentName): string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves to `value` after ms unless the run ends first: an unref'd timer never keeps the test process alive. */
function after<T>(ms: number, value: T): Promise<T> {
  return new Promise((r) => setTimeout(r, ms, value).unref());
}

export function readRecord(file: string): any {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return { unreadable: readFileSync(file, "utf8") };
  }
}

let helpText: string | undefined;
/** Whether `deploy` documents a flag (the harness passes newer flags only to a CLI that has them). */
export async function deployHas(flag: string): Promise<boolean> {
  if (helpText === undefined) {
    const out: string[] = [];
    await run(["deploy", "--help"], { out: (l) => out.push(l), err: (l) => out.push(l), env: {}, signal: new AbortController().signal });
    helpText = out.join("\n");
  }
  return helpText.includes(flag);
}

/** The rollback's own deadline in these runs (README: the rollback has its own deadline, --rollback-timeout). */
export const rollbackTimeoutMs = (s: Schedule): number => s.flags.timeoutMs;

/**
 * The longest a run may take by its deadlines, plus slack (used by the watchdog and by I7): preflight, --timeout
 * for the release, --rollback-timeout for the rollback (the CLI without that flag watches it for --timeout too),
 * a bake for each, and 3 s.
 */
export function deadlineMs(s: Schedule): number {
  return 2_000 + s.flags.timeoutMs + rollbackTimeoutMs(s) + 2 * s.flags.bakeMs + 3_000;
}

export async function argvFor(s: Schedule, w: World): Promise<string[]> {
  const f = s.flags;
  const rollbackTimeout = (await deployHas("--rollback-timeout")) ? ["--rollback-timeout", `${rollbackTimeoutMs(s)}ms`] : [];
  // The tool's own account of when it decided what (ms times), where it keeps one: I6 asks whether a write was decided
  // before or after an answer reached it, which the proxy alone cannot tell.
  const events = (await deployHas("--events-file")) ? ["--events-file", `${w.dir}/events.jsonl`] : [];
  return [
    "--root", REPO_ROOT, "--endpoint-url", w.proxy.url,
    "deploy", ...s.components, "--env", "local", "--sha", "b0b0b0b0b0b2",
    "--poll-interval", `${POLL_MS}ms`, "--record", `${w.dir}/{component}.json`,
    "--timeout", `${f.timeoutMs}ms`, "--bake", `${f.bakeMs}ms`, "--max-failed-tasks", String(f.maxFailedTasks),
    "--abort-grace", `${f.abortGraceMs}ms`, "--on-abort", f.onAbort,
    ...(f.atomic ? ["--atomic"] : []),
    ...rollbackTimeout,
    ...events,
  ];
}

function hookFor(w: World, p: CallPoint, run: () => Promise<void> | void): void {
  w.proxy.hooks.push({ op: p.op, service: p.component ? serviceName(p.component) : undefined, nth: p.nth, when: p.when, run: async () => void (await run()) });
}

/** Starts a world for the schedule and wires faults and events; returns it ready for the tool to run. */
export async function prepare(s: Schedule): Promise<World> {
  const w = await startWorld({ components: s.components, seed: s.seed, push: (c) => (s.behaviours[c]?.kind === "missing" ? ["A", "C"] : ["A", "B", "C"]) });
  try {
    if (s.autoscaled) {
      await w.setDesired(s.autoscaled.component, s.autoscaled.desired);
      const st = await w.waitSteady(s.components);
      const d = st.ecs.services.find((x) => x.serviceName === serviceName(s.autoscaled!.component))!;
      w.baseline.get(s.autoscaled.component)!.desiredCount = d.desiredCount;
    }
    const images: Record<string, any> = {};
    for (const c of s.components) {
      const b = s.behaviours[c] ?? { kind: "healthy" };
      const digest = w.digest(c, "B");
      if (!digest) continue;
      if (b.kind === "earlyCrash" || b.kind === "lateCrash") images[digest] = { behavior: "crash", afterMs: b.afterMs, exitCode: b.exitCode };
      if (b.kind === "unhealthy") images[digest] = { behavior: "unhealthy" };
      if (b.kind === "slow") images[digest] = { behavior: "slow", startDelayMs: b.startDelayMs };
      if (b.kind === "flaky") images[digest] = { behavior: "flaky", minUptimeMs: b.minUptimeMs, maxUptimeMs: b.maxUptimeMs, rate: b.rate };
      if (b.kind === "degrade") images[digest] = { behavior: "degrade", afterMs: b.afterMs };
      if (s.sigterm) images[digest] = { behavior: "healthy", ...images[digest], ...(s.sigterm === "exit0" ? { sigtermExitCode: 0 } : { ignoreSigterm: true }) };
    }
    if (s.previousBroken) images[w.digest(s.previousBroken, "A")!] = { behavior: "crash", afterMs: 0, exitCode: 1 };
    const api: Record<string, any> = {};
    const a = s.api;
    if (a.throttleRate || a.errorRate || a.dropRate || a.latencyMs) api["*"] = { throttleRate: a.throttleRate, errorRate: a.errorRate, dropRate: a.dropRate, latencyMs: a.latencyMs };
    if (a.describeBurst) api.DescribeServices = { ...(api["*"] ?? {}), throttleBurst: a.describeBurst };
    const c = a.consistency;
    const consistency = c ? { "*": { lagMs: c.lagMs, rate: c.rate, ...(c.afterWrites ? { after: ["UpdateService", "StopServiceDeployment"] } : {}) } } : undefined;
    w.emu.mergeScenario({ images, api, ...(consistency ? { consistency } : {}) } as never);
    w.proxy.staleMs = a.staleMs;
    if (s.targeted) {
      const t = s.targeted;
      w.proxy.rules.push({ op: t.op, service: t.component ? serviceName(t.component) : undefined, fromNth: t.fromNth, count: t.count, action: t.action });
    }
    for (const c of s.components) {
      if (s.behaviours[c]?.kind === "expired") {
        // Expired between the plan's check and the change: deleted before the first UpdateService of c reaches ECS
        // (the call waits for the hook). An "after RegisterTaskDefinition" hook raced the tool: under the emulator's
        // API faults the harness's own delete landed after the task had resolved its image (seed 123456 #67).
        w.proxy.hooks.push({ op: "UpdateService", service: serviceName(c), nth: 1, when: "before", run: () => w.deleteImage(c, "B") });
      }
    }
    return w;
  } catch (error) {
    await w.close();
    throw error;
  }
}

/** Polls the ground truth while the tool runs, so that no service event is lost to the 100-event cap. */
function recordEvents(w: World, events: EventLog): { stop(): Promise<void> } {
  let stopped = false;
  const merge = (st: EmuState): void => {
    for (const svc of st.ecs.services) for (const e of svc.events) events.set(e.id, { createdAt: e.createdAt, message: e.message });
    for (const e of st.ecs.events ?? []) events.set(e.id, { createdAt: e.createdAt, message: e.message });
  };
  const loop = (async () => {
    while (!stopped) {
      merge(await w.state());
      await sleep(150);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      merge(await w.state());
    },
  };
}

export interface ExecOptions {
  /** Rewrites the command line (a regression test drops --bake to get the default, runs `rollback`, …). */
  argv?: (argv: string[]) => string[];
  /** Run the committed bundle as a process in its own process group; SIGTERM goes to the group, SIGKILL 5 s later. */
  process?: boolean;
}

/** One run of the tool, in-process or as a process: how to start it, signal it, and wait for it. */
interface Launched {
  done: Promise<number>;
  term(): void;
  /** The watchdog's last resort. */
  kill(): void;
  killed(): boolean;
  diedOfSigterm(): boolean;
}

function launchInProcess(argv: string[], out: string[], err: string[]): Launched {
  const abort = new AbortController();
  const done = run(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: { ...process.env, NO_COLOR: "1" }, signal: abort.signal });
  return { done, term: () => abort.abort("SIGTERM"), kill: () => abort.abort("SIGTERM"), killed: () => false, diedOfSigterm: () => false };
}

function launchProcess(argv: string[], out: string[], err: string[]): Launched {
  const p = spawnTool(argv);
  let killed = false;
  let diedOfSigterm = false;
  let killTimer: NodeJS.Timeout | undefined;
  const done = p.exited.then((e) => {
    clearTimeout(killTimer);
    diedOfSigterm = e.signal === "SIGTERM";
    out.push(...p.out().split("\n").filter((l) => l !== ""));
    err.push(...p.err().split("\n").filter((l) => l !== ""));
    return e.code ?? 128 + (e.signal === "SIGKILL" ? 9 : 15);
  });
  const kill = (): void => {
    if (!p.alive()) return;
    killed = true;
    p.signalGroup("SIGKILL");
  };
  return {
    done,
    // Jenkins: SIGTERM to the group, SIGKILL to the group if still alive after SoftKillWaitSeconds.
    term: () => {
      p.signalGroup("SIGTERM");
      killTimer ??= setTimeout(kill, JENKINS_SOFT_KILL_MS);
      killTimer.unref();
    },
    kill,
    killed: () => killed,
    diedOfSigterm: () => diedOfSigterm,
  };
}

export async function execute(s: Schedule, w: World, opts: ExecOptions = {}): Promise<Observation> {
  const out: string[] = [];
  const err: string[] = [];
  const events: EventLog = new Map();
  const base = await argvFor(s, w);
  const argv = opts.argv ? opts.argv(base) : base;
  let tAbort: number | undefined;
  let tool: Launched | undefined;
  const doAbort = (): void => {
    if (tAbort === undefined) tAbort = Date.now();
    tool?.term();
  };
  let thirdParty: Observation["thirdParty"];
  if (s.thirdParty) {
    const c = s.thirdParty.component;
    const td = await w.register(c, "C");
    hookFor(w, s.thirdParty.at, async () => {
      const sentAt = Date.now();
      thirdParty = { component: c, taskDefinition: td, sentAt, applied: false };
      await w.thirdPartyDeploy(c, td).then(
        () => Object.assign(thirdParty!, { applied: true, appliedAt: Date.now() }),
        () => undefined,
      );
    });
  }
  if (s.abort && "at" in s.abort) hookFor(w, s.abort.at, doAbort);
  if (s.maintenance) {
    const m = s.maintenance;
    hookFor(w, m.at, async () => void (await w.action({ type: m.action, service: serviceName(m.component) })));
  }
  // I4: the record must exist (this run's) while the watch runs — read it as the first watch call arrives.
  let earlyRecords: Map<ComponentName, any> | undefined;
  w.proxy.listeners.push((call) => {
    if (earlyRecords || call.op !== "DescribeServices") return;
    if (!w.proxy.calls.some((k) => k.op === "UpdateService" && k.status === 200)) return;
    earlyRecords = new Map(s.components.map((c) => [c, readRecord(w.recordPath(c))]));
  });
  const recorder = recordEvents(w, events);
  w.emu.clearCalls();
  const t0 = Date.now();
  let abortTimer: NodeJS.Timeout | undefined;
  if (s.abort && "afterMs" in s.abort) abortTimer = setTimeout(doAbort, s.abort.afterMs);
  tool = opts.process ? launchProcess(argv, out, err) : launchInProcess(argv, out, err);
  const running = tool.done;
  let overran = false;
  let hung = false;
  const bound = deadlineMs(s);
  const result = await Promise.race([running, after(bound + 2_000, "overrun" as const)]);
  let exitCode: number;
  if (result === "overrun") {
    // Past every deadline (I7 fails anyway): stop it, and stop waiting soon after, to keep the suite's time bounded.
    // The watchdog's signal, not the schedule's: tAbort stays the operator's.
    overran = true;
    tool.kill();
    const late = await Promise.race([running, after(s.flags.abortGraceMs + 5_000, "hung" as const)]);
    if (late === "hung") {
      hung = true;
      exitCode = -1;
    } else exitCode = late;
  } else exitCode = result;
  const tEnd = Date.now();
  clearTimeout(abortTimer);
  const stateEnd = await w.state();
  await sleep(300);
  await recorder.stop();
  const stateLater = await w.state();
  const records = new Map(s.components.map((c) => [c, readRecord(w.recordPath(c))]));
  return {
    schedule: s,
    argv,
    exitCode,
    out,
    err,
    t0,
    tEnd,
    tAbort,
    thirdParty,
    baseline: w.baseline,
    records,
    earlyRecords,
    stateEnd,
    stateLater,
    events,
    emuCalls: w.calls(),
    proxyCalls: [...w.proxy.calls],
    overran,
    hung,
    killed: tool.killed(),
    diedOfSigterm: tool.diedOfSigterm(),
    toolEvents: readToolEvents(path.join(w.dir, "events.jsonl")),
    recordPath: w.recordPath,
  };
}

/** prepare + execute + close. */
export async function runSchedule(s: Schedule, opts: ExecOptions = {}): Promise<Observation> {
  const w = await prepare(s);
  try {
    return await execute(s, w, opts);
  } finally {
    await w.close();
  }
}

export interface ToolEvent {
  /** Epoch ms; events of one millisecond keep their file order (each later one a millionth of a ms later). */
  time: number;
  component: string;
  kind: string;
  message: string;
  /** "read" events: when that poll was sent (epoch ms). */
  polledAt?: number;
}

/** --events-file: one JSON object per line; lines that do not parse (a torn last line after SIGKILL) are skipped. */
function readToolEvents(file: string): ToolEvent[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const out: ToolEvent[] = [];
  for (const line of text.split("\n")) {
    try {
      const e = JSON.parse(line);
      const polledAt = typeof e.data?.polledAt === "string" ? Date.parse(e.data.polledAt) : undefined;
      out.push({ time: Date.parse(e.time) + out.length * 1e-6, component: e.component, kind: e.kind, message: e.message, ...(polledAt !== undefined ? { polledAt } : {}) });
    } catch {
      // skipped
    }
  }
  return out;
}
