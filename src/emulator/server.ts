import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { EcrState } from "./ecr.js";
import { EcsState } from "./ecs.js";
import { AwsApiError } from "./errors.js";
import { Rng } from "./rng.js";
import {
  mergeScenarios,
  parsePartialScenario,
  parseScenario,
  resolveTiming,
  type ApiFault,
  type ImageBehavior,
  type ResolvedTiming,
  type Scenario,
} from "./scenario.js";

export interface EmulatorOptions {
  /** 0 = random free port. */
  port?: number;
  scenario?: Scenario;
  /** Auto-shutdown after this long (default 2 h). */
  maxLifetimeMs?: number;
  region?: string;
  account?: string;
  log?: (line: string) => void;
}

export interface CallRecord {
  seq: number;
  /** ISO-8601 time the call arrived. */
  time: string;
  service: "ecs" | "ecr";
  operation: string;
  mutating: boolean;
  /** The parsed request body. */
  input: unknown;
  /** HTTP status answered; 0 when the connection was dropped. */
  status: number;
  errorType?: string;
  /** Region from the request's SigV4 credential scope (or the emulator's). */
  region: string;
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

/** The emulator plus what the CLI needs (not part of the public API). */
export interface RunningEmulator extends Emulator {
  /** Resolves once the server has closed (close(), POST /_emulator/shutdown or max lifetime). */
  readonly closed: Promise<void>;
  /** Why it closed: "close" | "shutdown-endpoint" | "max-lifetime". */
  closeReason(): string | undefined;
}

const ECS_PREFIX = "AmazonEC2ContainerServiceV20141113";
const ECR_PREFIX = "AmazonEC2ContainerRegistry_V20150921";
const JSON_11 = "application/x-amz-json-1.1";
const MUTATING_RE = /^(Create|Register|Deregister|Update|Put|Delete|BatchDelete|Stop|Start|Run|Tag|Untag|Submit|Set|Upload|Complete|Initiate|Replicate)/;
export const DEFAULT_MAX_LIFETIME_MS = 2 * 3_600_000;
export const CONTROL_PREFIX = "/_emulator";

export function isMutating(operation: string): boolean {
  return MUTATING_RE.test(operation);
}

function regionOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth !== "string") return undefined;
  const m = /Credential=[^/,\s]+\/\d{8}\/([a-z0-9-]+)\//.exec(auth);
  return m?.[1];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startEmulatorServer(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const account = opts.account ?? "000000000000";
  const defaultRegion = opts.region ?? "us-east-1";
  const log = opts.log ?? ((): void => undefined);
  let scenario: Scenario = parseScenario(opts.scenario ?? {}, "scenario");
  let timing: ResolvedTiming = resolveTiming(scenario.timing);
  let faultRng = new Rng(scenario.seed ?? 1);
  const idRng = new Rng(((scenario.seed ?? 1) ^ 0x5bd1e995) >>> 0);
  let bursts = new Map<string, number>();
  const callLog: CallRecord[] = [];
  let seq = 0;
  let url = "";

  const resetBursts = (keys?: string[]): void => {
    if (keys === undefined) bursts = new Map();
    for (const [k, f] of Object.entries(scenario.api ?? {})) {
      if (keys !== undefined && !keys.includes(k)) continue;
      if (f.throttleBurst !== undefined) bursts.set(k, f.throttleBurst);
      else bursts.delete(k);
    }
  };
  resetBursts();

  const behaviorFor = (image: string, digest: string | undefined): ImageBehavior | undefined => {
    const images = scenario.images ?? {};
    if (images[image]) return images[image];
    const slash = image.indexOf("/");
    const hostless = slash >= 0 && /[.:]|^localhost$/.test(image.slice(0, slash)) ? image.slice(slash + 1) : image;
    if (images[hostless]) return images[hostless];
    const at = image.indexOf("@");
    const noDigest = at >= 0 ? image.slice(0, at) : image;
    const colon = noDigest.lastIndexOf(":");
    const tag = colon > noDigest.lastIndexOf("/") ? noDigest.slice(colon + 1) : undefined;
    if (tag !== undefined && images[tag]) return images[tag];
    const embedded = at >= 0 ? image.slice(at + 1) : undefined;
    if (embedded !== undefined && images[embedded]) return images[embedded];
    if (digest !== undefined && images[digest]) return images[digest];
    return undefined;
  };

  const ecr = new EcrState();
  const ecs = new EcsState({ ecr, timing: () => timing, behaviorFor, rng: () => idRng, log });

  let tickTimer: NodeJS.Timeout | undefined;
  const startTicker = (): void => {
    if (tickTimer) clearInterval(tickTimer);
    tickTimer = setInterval(() => {
      try {
        ecs.tick(Date.now());
      } catch (error) {
        log(`emulator tick failed: ${(error as Error).stack ?? String(error)}`);
      }
    }, timing.tickMs);
    tickTimer.unref();
  };

  const applyScenario = (next: Scenario, patchKeys?: string[], reseed = true): void => {
    const tickBefore = timing.tickMs;
    scenario = next;
    timing = resolveTiming(scenario.timing);
    if (reseed) faultRng = new Rng(scenario.seed ?? 1);
    resetBursts(patchKeys);
    if (timing.tickMs !== tickBefore && tickTimer) startTicker();
  };

  const faultFor = (op: string): { fault: ApiFault; burstKey?: string } => {
    const all = scenario.api?.["*"];
    const own = scenario.api?.[op];
    const fault: ApiFault = { ...(all ?? {}), ...(own ?? {}) };
    const burstKey = (bursts.get(op) ?? 0) > 0 ? op : (bursts.get("*") ?? 0) > 0 ? "*" : undefined;
    return burstKey === undefined ? { fault } : { fault, burstKey };
  };

  const send = (res: ServerResponse, status: number, body: unknown, contentType = JSON_11): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": contentType,
      "content-length": Buffer.byteLength(text),
      "x-amzn-requestid": randomUUID(),
    });
    res.end(text);
  };

  const sendError = (res: ServerResponse, e: AwsApiError): void => {
    res.setHeader("x-amzn-errortype", e.type);
    send(res, e.status, { __type: e.type, message: e.message });
  };

  let closing: Promise<void> | undefined;
  let reason: string | undefined;
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });

  const handleControl = async (req: IncomingMessage, res: ServerResponse, path: string, body: string): Promise<void> => {
    const method = req.method ?? "GET";
    const json = (status: number, value: unknown): void => send(res, status, value, "application/json");
    const parseJson = (): unknown => {
      try {
        return body === "" ? {} : JSON.parse(body);
      } catch {
        throw new Error("request body is not valid JSON");
      }
    };
    try {
      if (path === "/health" && method === "GET") return json(200, { ok: true, url });
      if (path === "/calls" && method === "GET") return json(200, { calls: callLog });
      if (path === "/calls" && method === "DELETE") {
        const n = callLog.length;
        callLog.length = 0;
        return json(200, { cleared: n });
      }
      if (path === "/scenario" && method === "GET") return json(200, scenario);
      if (path === "/scenario" && method === "PUT") {
        applyScenario(parseScenario(parseJson(), "PUT /_emulator/scenario"));
        return json(200, scenario);
      }
      if (path === "/scenario" && method === "PATCH") {
        const patch = parsePartialScenario(parseJson(), "PATCH /_emulator/scenario");
        applyScenario(mergeScenarios(scenario, patch), Object.keys(patch.api ?? {}), patch.seed !== undefined);
        return json(200, scenario);
      }
      if (path === "/state" && method === "GET") {
        ecs.tick(Date.now());
        return json(200, { time: new Date().toISOString(), timing, ecs: ecs.snapshot(), ecr: ecr.snapshot() });
      }
      if (path === "/shutdown" && method === "POST") {
        json(200, { ok: true });
        res.on("finish", () => void doClose("shutdown-endpoint"));
        return;
      }
      return json(404, { error: `no control route ${method} ${CONTROL_PREFIX}${path}` });
    } catch (error) {
      return json(400, { error: (error as Error).message });
    }
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, target: string, body: string): Promise<void> => {
    const dot = target.lastIndexOf(".");
    const prefix = target.slice(0, dot);
    const op = target.slice(dot + 1);
    const service: "ecs" | "ecr" = prefix === ECR_PREFIX ? "ecr" : "ecs";
    const region = regionOf(req) ?? defaultRegion;
    let input: unknown = {};
    const record: CallRecord = {
      seq: ++seq,
      time: new Date().toISOString(),
      service,
      operation: op,
      mutating: isMutating(op),
      input: body,
      status: 200,
      region,
    };
    callLog.push(record);
    try {
      input = body === "" ? {} : JSON.parse(body);
      record.input = input;
    } catch {
      record.status = 400;
      record.errorType = "SerializationException";
      return sendError(res, new AwsApiError("SerializationException", "Request body is not valid JSON."));
    }
    const fail = (e: AwsApiError): void => {
      record.status = e.status;
      record.errorType = e.type;
      sendError(res, e);
    };
    if (prefix !== ECS_PREFIX && prefix !== ECR_PREFIX) {
      return fail(new AwsApiError("UnknownOperationException", `Unknown target ${target}.`));
    }
    // Fault injection: latency, dropped connection, throttling (burst, then rate), 5xx.
    const { fault, burstKey } = faultFor(op);
    if (fault.latencyMs) await sleep(fault.latencyMs);
    if (fault.dropRate && faultRng.next() < fault.dropRate) {
      record.status = 0;
      record.errorType = "ConnectionDropped";
      req.socket.destroy();
      return;
    }
    if (burstKey !== undefined) {
      bursts.set(burstKey, (bursts.get(burstKey) ?? 1) - 1);
      return fail(new AwsApiError("ThrottlingException", "Rate exceeded"));
    }
    if (fault.throttleRate && faultRng.next() < fault.throttleRate) {
      return fail(new AwsApiError("ThrottlingException", "Rate exceeded"));
    }
    if (fault.errorRate && faultRng.next() < fault.errorRate) {
      return fail(new AwsApiError("ServerException", "Service unavailable (injected fault).", 500));
    }
    const obj = typeof input === "object" && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
    try {
      const now = Date.now();
      ecs.tick(now);
      const out = service === "ecs" ? ecs.handle(op, obj, { region, account, now }) : ecr.handle(op, obj, { region, account, now, url });
      if (out === undefined) return fail(new AwsApiError("UnknownOperationException", `Operation ${op} is not supported by the emulator.`));
      send(res, 200, out);
    } catch (error) {
      if (error instanceof AwsApiError) return fail(error);
      log(`emulator: ${op} failed: ${(error as Error).stack ?? String(error)}`);
      return fail(new AwsApiError("ServerException", `Internal emulator error: ${(error as Error).message}`, 500));
    }
  };

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      if (path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`)) {
        return handleControl(req, res, path.slice(CONTROL_PREFIX.length) || "/", body);
      }
      const target = req.headers["x-amz-target"];
      if (req.method === "POST" && typeof target === "string") return handleApi(req, res, target, body);
      send(res, 404, { message: "lgtm-deploy emulator: POST / with x-amz-target, or use /_emulator/*" }, "application/json");
    })().catch((error: unknown) => {
      log(`emulator: request failed: ${String(error)}`);
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
  url = `http://127.0.0.1:${port}`;
  startTicker();

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

  return {
    url,
    port,
    closed,
    closeReason: () => reason,
    close: () => doClose("close"),
    setScenario: (s) => applyScenario(parseScenario(s, "setScenario")),
    mergeScenario: (s) => {
      const patch = parsePartialScenario(s, "mergeScenario");
      applyScenario(mergeScenarios(scenario, patch), Object.keys(patch.api ?? {}), patch.seed !== undefined);
    },
    calls: () => callLog.map((c) => ({ ...c })),
    clearCalls: () => {
      callLog.length = 0;
    },
  };
}
