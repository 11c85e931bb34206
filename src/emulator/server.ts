/** The emulator's HTTP server: AWS JSON 1.1 on POST /, the control API on /_emulator/*. */
import { createServer, type Server } from "node:http";
import { handleApi } from "./api.js";
import { handleControl } from "./control.js";
import { Core } from "./core.js";
import { AwsApiError } from "./errors.js";
import { readBody, send, sendError } from "./protocol.js";
import { mergeScenarios, parsePartialScenario, parseScenario, type Scenario } from "./scenario.js";
import type { EmulatorOptions, RunningEmulator } from "./types.js";

export { isMutating } from "./protocol.js";
export type { CallRecord, Emulator, EmulatorOptions, ResponseRecord, RunningEmulator } from "./types.js";
export type { Core } from "./core.js";

export const DEFAULT_MAX_LIFETIME_MS = 2 * 3_600_000;
export const CONTROL_PREFIX = "/_emulator";

function listen(server: Server, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : 0);
    });
  });
}

/** Ticks the simulation on a wall-clock timer; the period follows the scenario's timing (tickMs). Returns stop(). */
function startTicker(core: Core): () => void {
  let timer: NodeJS.Timeout | undefined;
  let every = 0;
  const arm = (): void => {
    if (every === core.timing.tickMs && timer) return;
    if (timer) clearInterval(timer);
    every = core.timing.tickMs;
    timer = setInterval(() => {
      try {
        core.tick();
        arm();
      } catch (error) {
        core.log(`emulator tick failed: ${(error as Error).stack ?? String(error)}`);
      }
    }, every);
    timer.unref();
  };
  arm();
  return () => clearInterval(timer);
}

export async function startEmulatorServer(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const core = new Core(opts);
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
  const port = await listen(server, opts.port ?? 0);
  core.url = `http://127.0.0.1:${port}`;
  const stopTicker = startTicker(core);
  const lifetime = setTimeout(() => void doClose("max-lifetime"), opts.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS);
  lifetime.unref();

  function doClose(why: string): Promise<void> {
    if (closing) return closing;
    reason = why;
    stopTicker();
    clearTimeout(lifetime);
    closing = new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }).then(() => resolveClosed());
    return closing;
  }

  return {
    url: core.url,
    port,
    closed,
    closeReason: () => reason,
    close: () => doClose("close"),
    setScenario: (s: Scenario) => core.applyScenario(parseScenario(s, "setScenario")),
    mergeScenario: (s: Partial<Scenario>) => {
      const patch = parsePartialScenario(s, "mergeScenario");
      core.applyScenario(mergeScenarios(core.scenario, patch), patch);
    },
    calls: () => core.callLog.map((c) => ({ ...c })),
    clearCalls: () => {
      core.callLog.length = 0;
    },
  };
}
