/** The emulator's HTTP server: AWS JSON 1.1 on POST /, the control API on /_emulator/*. */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { SimClock } from "./clock.js";
import { handleControl } from "./control.js";
import { ECR_OPERATIONS } from "./ecr/api.js";
import { ECS_OPERATIONS } from "./ecs/api/index.js";
import { AwsApiError } from "./errors.js";
import { FaultInjector } from "./faults.js";
import { behaviorFor } from "./images.js";
import { LOGS_OPERATIONS } from "./logs/api.js";
import { accountOf, isMutating, readBody, regionOf, send, sendError, TARGETS, type ServiceName } from "./protocol.js";
import { Rng } from "./rng.js";
import { mergeScenarios, parsePartialScenario, parseScenario, type Scenario } from "./scenario.js";
import { resolveTiming, type ResolvedTiming } from "./timing.js";
import { World } from "./world.js";
import { Consistency } from "./consistency.js";
import { runAction, type Action, type ActionResult } from "./actions.js";
import { ActionError } from "./ecs/sim/maintenance.js";

export { isMutating } from "./protocol.js";

export interface EmulatorOptions {
  /** 0 = random free port. */
  port?: number;
  scenario?: Scenario;
  /** Auto-shutdown after this long (default 2 h, wall clock). */
  maxLifetimeMs?: number;
  region?: string;
  account?: string;
  /** Run the simulation this many times faster than the wall clock (default 1, or the scenario's timeScale). */
  timeScale?: number;
  log?: (line: string) => void;
  /** Called with every API answer (tests use it to check responses against the AWS models). */
  onResponse?: (r: ResponseRecord) => void;
}

export interface ResponseRecord {
  service: ServiceName;
  operation: string;
  status: number;
  body: unknown;
}

export interface CallRecord {
  seq: number;
  /** ISO-8601 simulated time the call arrived (equals the wall clock at time scale 1). */
  time: string;
  /** ISO-8601 wall-clock time the call arrived. */
  wallTime: string;
  service: ServiceName;
  operation: string;
  mutating: boolean;
  /** The parsed request body. */
  input: unknown;
  /** HTTP status answered; 0 when the connection was dropped or left hanging. */
  status: number;
  errorType?: string;
  /** Region from the request's SigV4 credential scope (or the emulator's). */
  region: string;
  /** Account the request acted in. */
  account: string;
  /** Index of the scenario `faults` rule that hit this call, if any. */
  faultRule?: number;
}

export interface Emulator {
  url: string;
  port: number;
  close(): Promise<void>;
  setScenario(s: Scenario): void;
  mergeScenario(s: Partial<Scenario>): void;
  calls(): CallRecord[];
  clearCalls(): void;
}

/** The emulator plus what the CLI and the control API need (not part of the public API). */
export interface RunningEmulator extends Emulator {
  /** Resolves once the server has closed (close(), POST /_emulator/shutdown or max lifetime). */
  readonly closed: Promise<void>;
  /** Why it closed: "close" | "shutdown-endpoint" | "max-lifetime". */
  closeReason(): string | undefined;
}

export const DEFAULT_MAX_LIFETIME_MS = 2 * 3_600_000;
export const CONTROL_PREFIX = "/_emulator";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Mutable emulator internals shared by the API and control handlers. */
export interface Core {
  readonly world: World;
  readonly clock: SimClock;
  readonly faults: FaultInjector;
  readonly consistency: Consistency;
  readonly account: string;
  readonly defaultRegion: string;
  readonly callLog: CallRecord[];
  /** Sequence number of the last call (never reset, even when the log is cleared). */
  seq: number;
  scenario: Scenario;
  timing: ResolvedTiming;
  url: string;
  /** Replaces the scenario; `patch` (for PATCH/mergeScenario) limits what restarts: bursts, seed, fault counters. */
  applyScenario(next: Scenario, patch?: Partial<Scenario>): void;
  /** Timed scenario actions not run yet (simulated time `at`), and what every action did. */
  pendingActions: { at: number; action: Action }[];
  actionLog: { at: number; action: Action; result?: ActionResult; error?: string }[];
  /** Runs an action now; throws ActionError (status 400/404/409) when it cannot. */
  act(action: Action, now?: number): ActionResult;
  tick(): number;
  log(line: string): void;
}

function createCore(opts: EmulatorOptions): Core {
  const log = opts.log ?? ((): void => undefined);
  const initial = parseScenario(opts.scenario ?? {}, "scenario");
  let faultRng = new Rng(initial.seed ?? 1);
  const idRng = new Rng(((initial.seed ?? 1) ^ 0x5bd1e995) >>> 0);
  const clock = new SimClock(opts.timeScale ?? initial.timeScale ?? 1);
  const core: Core = {
    scenario: initial,
    timing: resolveTiming(initial.timing, clock.scale),
    account: opts.account ?? "000000000000",
    defaultRegion: opts.region ?? "us-east-1",
    callLog: [],
    seq: 0,
    pendingActions: [],
    actionLog: [],
    url: "",
    clock,
    log,
    world: undefined as unknown as World,
    faults: undefined as unknown as FaultInjector,
    consistency: undefined as unknown as Consistency,
    applyScenario(next, patch) {
      core.scenario = next;
      if (next.timeScale !== undefined && opts.timeScale === undefined) clock.setScale(next.timeScale);
      core.timing = resolveTiming(next.timing, clock.scale);
      if (!patch || patch.seed !== undefined) faultRng = new Rng(next.seed ?? 1);
      core.faults.resetBursts(patch ? Object.keys(patch.api ?? {}) : undefined);
      if (!patch || patch.faults !== undefined) core.faults.resetRules();
      if (!patch || patch.actions !== undefined) {
        const now = clock.now();
        core.pendingActions = (next.actions ?? []).map((e) => ({ at: now + e.afterMs, action: e.action }));
      }
    },
    act(action, at = clock.now()) {
      try {
        const result = runAction(core.world, { account: core.account, region: core.defaultRegion }, action, at);
        core.actionLog.push({ at, action, result });
        return result;
      } catch (error) {
        core.actionLog.push({ at, action, error: (error as Error).message });
        throw error;
      }
    },
    tick() {
      const now = clock.now();
      core.world.tick(now);
      while (core.pendingActions[0] && core.pendingActions[0].at <= now) {
        const due = core.pendingActions.shift()!;
        try {
          core.act(due.action, due.at);
        } catch (error) {
          if (!(error instanceof ActionError)) throw error;
          log(`emulator: timed action ${due.action.type} failed: ${error.message}`);
        }
      }
      core.consistency.afterTick(core.world.all().map((p) => p.ecs), now);
      return now;
    },
  };
  Object.assign(core, {
    world: new World({
      now: () => clock.now(),
      timing: () => core.timing,
      behaviorFor: (image: string, digest: string | undefined) => behaviorFor(core.scenario.images ?? {}, image, digest),
      rng: () => idRng,
      log,
      autoCreateLogGroups: () => true,
    }),
    faults: new FaultInjector(() => core.scenario, () => faultRng),
  });
  Object.assign(core, { consistency: new Consistency({ get scenario() { return core.scenario; }, rng: () => faultRng }) });
  core.pendingActions = (initial.actions ?? []).map((e) => ({ at: clock.now() + e.afterMs, action: e.action }));
  return core;
}

type Handler = (state: never, input: Record<string, unknown>, ctx: never) => Record<string, unknown>;

async function handleApi(core: Core, req: IncomingMessage, res: ServerResponse, target: string, body: string, onResponse?: (r: ResponseRecord) => void): Promise<void> {
  const dot = target.lastIndexOf(".");
  const prefix = target.slice(0, dot);
  const op = target.slice(dot + 1);
  const service: ServiceName = TARGETS[prefix as keyof typeof TARGETS] ?? "ecs";
  const region = regionOf(req) ?? core.defaultRegion;
  const account = accountOf(req) ?? core.account;
  const wall = new Date(core.clock.wallNow()).toISOString();
  const record: CallRecord = { seq: ++core.seq, time: new Date(core.clock.now()).toISOString(), wallTime: wall, service, operation: op, mutating: isMutating(op), input: body, status: 200, region, account };
  core.callLog.push(record);
  const answer = (status: number, out: unknown): void => {
    record.status = status;
    onResponse?.({ service, operation: op, status, body: out });
    send(res, status, out);
  };
  const fail = (e: AwsApiError): void => {
    record.status = e.status;
    record.errorType = e.type;
    onResponse?.({ service, operation: op, status: e.status, body: { __type: e.type, message: e.message } });
    sendError(res, e);
  };
  let input: unknown;
  try {
    input = body === "" ? {} : JSON.parse(body);
    record.input = input;
  } catch {
    return fail(new AwsApiError("SerializationException", "Request body is not valid JSON."));
  }
  if (!(prefix in TARGETS)) return fail(new AwsApiError("UnknownOperationException", `Unknown target ${target}.`));
  const obj = typeof input === "object" && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  const decision = core.faults.decide(op, obj);
  if (decision.rule !== undefined) record.faultRule = decision.rule;
  if (decision.latencyMs > 0) await sleep(decision.latencyMs);
  if (decision.kind === "drop") {
    record.status = 0;
    record.errorType = "ConnectionDropped";
    req.socket.destroy();
    return;
  }
  if (decision.kind === "hang") {
    // No answer: the client's own timeout ends it, or hangMs, or close().
    record.status = 0;
    record.errorType = "Hung";
    if (decision.hangMs !== undefined) setTimeout(() => req.socket.destroy(), decision.hangMs).unref();
    return;
  }
  if (decision.kind === "error") return fail(decision.error);
  try {
    const now = core.tick();
    const p = core.world.partition(account, region);
    const table: Record<string, Handler> = (service === "ecs" ? ECS_OPERATIONS : service === "ecr" ? ECR_OPERATIONS : LOGS_OPERATIONS) as unknown as Record<string, Handler>;
    const handler = table[op];
    if (!handler) return fail(new AwsApiError("UnknownOperationException", `Operation ${op} is not supported by the emulator.`));
    const state = service === "ecs" ? p.ecs : service === "ecr" ? p.ecr : p.logs;
    const ctx = service === "ecs" ? { now, view: core.consistency.picker(p.ecs, op, now) } : { now, url: core.url };
    core.consistency.beforeCall(p.ecs, service, op, obj, now);
    answer(200, handler(state as never, obj, ctx as never));
  } catch (error) {
    if (error instanceof AwsApiError) return fail(error);
    core.log(`emulator: ${op} failed: ${(error as Error).stack ?? String(error)}`);
    return fail(new AwsApiError("ServerException", `Internal emulator error: ${(error as Error).message}`, 500));
  }
}

export async function startEmulatorServer(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const core = createCore(opts);
  let closing: Promise<void> | undefined;
  let reason: string | undefined;
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      if (path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`)) {
        return handleControl(core, req, res, path.slice(CONTROL_PREFIX.length) || "/", body, () => void doClose("shutdown-endpoint"));
      }
      const target = req.headers["x-amz-target"];
      if (req.method === "POST" && typeof target === "string") return handleApi(core, req, res, target, body, opts.onResponse);
      send(res, 404, { message: "lgtm-deploy emulator: POST / with x-amz-target, or use /_emulator/*" }, "application/json");
    })().catch((error: unknown) => {
      core.log(`emulator: request failed: ${String(error)}`);
      if (!res.headersSent) sendError(res, new AwsApiError("ServerException", "Internal emulator error.", 500));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  core.url = `http://127.0.0.1:${port}`;

  let tickTimer: NodeJS.Timeout | undefined;
  let tickEvery = 0;
  const ticker = (): void => {
    const every = core.timing.tickMs;
    if (every === tickEvery && tickTimer) return;
    if (tickTimer) clearInterval(tickTimer);
    tickEvery = every;
    tickTimer = setInterval(() => {
      try {
        core.tick();
        ticker();
      } catch (error) {
        core.log(`emulator tick failed: ${(error as Error).stack ?? String(error)}`);
      }
    }, every);
    tickTimer.unref();
  };
  ticker();

  const lifetime = setTimeout(() => void doClose("max-lifetime"), opts.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS);
  lifetime.unref();

  function doClose(why: string): Promise<void> {
    if (closing) return closing;
    reason = why;
    if (tickTimer) clearInterval(tickTimer);
    clearTimeout(lifetime);
    closing = new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }).then(() => resolveClosed());
    return closing;
  }

  const merge = (s: Partial<Scenario>, where: string): void => {
    const patch = parsePartialScenario(s, where);
    core.applyScenario(mergeScenarios(core.scenario, patch), patch);
  };
  return {
    url: core.url,
    port,
    closed,
    closeReason: () => reason,
    close: () => doClose("close"),
    setScenario: (s) => core.applyScenario(parseScenario(s, "setScenario")),
    mergeScenario: (s) => merge(s, "mergeScenario"),
    calls: () => core.callLog.map((c) => ({ ...c })),
    clearCalls: () => {
      core.callLog.length = 0;
    },
  };
}
