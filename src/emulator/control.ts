/** The control API under /_emulator (docs/emulator.md, "Control endpoint"). Plain JSON, not recorded in the call log. */
import type { IncomingMessage, ServerResponse } from "node:http";
import * as z from "zod/mini";
import { ActionSchema } from "./actions.js";
import { ActionError } from "./errors.js";
import { groundTruth } from "./ground-truth.js";
import { send } from "./protocol.js";
import { mergeScenarios, parsePartialScenario, parseScenario } from "./scenario.js";
import type { Core } from "./core.js";

type Route = (core: Core, body: () => unknown, respond: (status: number, value: unknown) => void) => void;

const ROUTES: Record<string, Route> = {
  "GET /health": (core, _b, respond) => respond(200, { ok: true, url: core.url }),
  "GET /calls": (core, _b, respond) => respond(200, { calls: core.callLog }),
  "DELETE /calls": (core, _b, respond) => {
    const n = core.callLog.length;
    core.callLog.length = 0;
    respond(200, { cleared: n });
  },
  "GET /scenario": (core, _b, respond) => respond(200, core.scenario),
  "PUT /scenario": (core, body, respond) => {
    core.applyScenario(parseScenario(body(), "PUT /_emulator/scenario"));
    respond(200, core.scenario);
  },
  "PATCH /scenario": (core, body, respond) => {
    const patch = parsePartialScenario(body(), "PATCH /_emulator/scenario");
    core.applyScenario(mergeScenarios(core.scenario, patch), patch);
    respond(200, core.scenario);
  },
  "GET /state": (core, _b, respond) => respond(200, groundTruth(core)),
  "GET /actions": (core, _b, respond) =>
    respond(200, {
      done: core.actionLog.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
      pending: core.pendingActions.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
    }),
  "POST /actions": (core, body, respond) => {
    const raw = body();
    const list = Array.isArray(raw) ? raw : [raw];
    const parsed = list.map((a, i) => {
      const r = z.safeParse(ActionSchema, a);
      if (!r.success) throw new Error(`POST /_emulator/actions: action ${i}: ${r.error.issues.map((x) => `${x.path.join(".") || "(root)"}: ${x.message}`).join("; ")}`);
      return r.data;
    });
    core.tick();
    const results = [];
    for (const a of parsed) {
      try {
        results.push(core.act(a));
      } catch (error) {
        if (error instanceof ActionError) return respond(error.status, { error: error.message, results });
        throw error;
      }
    }
    respond(200, { results });
  },
};

export async function handleControl(core: Core, req: IncomingMessage, res: ServerResponse, path: string, text: string, shutdown: () => void): Promise<void> {
  const method = req.method ?? "GET";
  const respond = (status: number, value: unknown): void => send(res, status, value, "application/json");
  const body = (): unknown => {
    try {
      return text === "" ? {} : JSON.parse(text);
    } catch {
      throw new Error("request body is not valid JSON");
    }
  };
  if (method === "POST" && path === "/shutdown") {
    respond(200, { ok: true });
    res.on("finish", shutdown);
    return;
  }
  const route = ROUTES[`${method} ${path}`];
  if (!route) return respond(404, { error: `no control route ${method} /_emulator${path}` });
  try {
    route(core, body, respond);
  } catch (error) {
    respond(400, { error: (error as Error).message });
  }
}
