/**
 * A stand-in for Grafana's annotations HTTP API (docs/sources/developer-resources/api-reference/http-api/api-legacy/
 * annotations.md; request DTOs pkg/api/dtos/annotations.go: PostAnnotationsCmd, PatchAnnotationsCmd) that checks each
 * request against it: method and path, Authorization: Bearer <token>, Content-Type/Accept application/json, the JSON
 * body's fields and their types (time/timeEnd epoch milliseconds, tags strings, text required on create), and that the
 * annotation is an organisation annotation (no dashboardUID/dashboardId/panelId). Anything else is a violation.
 *
 * `handle` is the pure request handler (used in-memory by property tests); `startFakeGrafana` serves it over HTTP on
 * 127.0.0.1 and closes itself after maxLifetimeMs.
 */
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface StoredAnnotation {
  id: number;
  time: number;
  timeEnd?: number;
  tags: string[];
  text: string;
  data?: unknown;
  patches: number;
}

export interface GrafanaRequest {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  body: string;
}

export interface GrafanaAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const CREATE_FIELDS: Record<string, "int" | "string" | "tags" | "object"> = { dashboardId: "int", dashboardUID: "string", panelId: "int", time: "int", timeEnd: "int", text: "string", tags: "tags", data: "object" };
const PATCH_FIELDS: Record<string, "int" | "string" | "tags" | "object"> = { id: "int", time: "int", timeEnd: "int", text: "string", tags: "tags", data: "object" };
/** Epoch milliseconds between 2001 and 2286: a value in seconds (or microseconds) is a bug. */
const isMillis = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 1e12 && v < 1e13;

export class FakeGrafanaApi {
  readonly annotations = new Map<number, StoredAnnotation>();
  readonly requests: GrafanaRequest[] = [];
  readonly violations: string[] = [];
  private nextId = 1;
  constructor(readonly token: string) {}

  handle(req: GrafanaRequest): GrafanaAnswer {
    this.requests.push(req);
    const bad = (why: string): GrafanaAnswer => {
      this.violations.push(`${req.method} ${req.path}: ${why}`);
      return { status: 400, body: { message: why } };
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      if (!/^Bearer \S+$/.test(req.headers.authorization ?? "")) return bad(`Authorization must be "Bearer <token>", got ${req.headers.authorization === undefined ? "none" : "another scheme"}`);
      return { status: 401, body: { message: "Invalid API key", messageId: "api-key.invalid", statusCode: 401 } };
    }
    if (!/^application\/json(;|$)/.test(req.headers["content-type"] ?? "")) return bad(`Content-Type must be application/json, got ${req.headers["content-type"]}`);
    if (!/application\/json/.test(req.headers.accept ?? "")) return bad(`Accept should be application/json, got ${req.headers.accept}`);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body) as Record<string, unknown>;
    } catch {
      return bad("body is not JSON");
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) return bad("body must be a JSON object");
    if (req.method === "POST" && req.path === "/api/annotations") return this.create(body, bad);
    const m = /^\/api\/annotations\/(\d+)$/.exec(req.path);
    if (req.method === "PATCH" && m) return this.patch(Number(m[1]), body, bad);
    return bad("not an annotations endpoint this client should use (POST /api/annotations, PATCH /api/annotations/:id)");
  }

  private fields(body: Record<string, unknown>, allowed: typeof CREATE_FIELDS): string[] {
    const p: string[] = [];
    for (const [k, v] of Object.entries(body)) {
      const type = allowed[k];
      if (type === undefined) p.push(`unknown field "${k}"`);
      else if (type === "int" && !(typeof v === "number" && Number.isInteger(v))) p.push(`"${k}" must be an integer`);
      else if (type === "string" && typeof v !== "string") p.push(`"${k}" must be a string`);
      else if (type === "tags" && !(Array.isArray(v) && v.every((t) => typeof t === "string" && t !== ""))) p.push(`"${k}" must be an array of non-empty strings`);
      else if (type === "object" && (v === null || typeof v !== "object" || Array.isArray(v))) p.push(`"${k}" must be a JSON object`);
    }
    for (const k of ["time", "timeEnd"]) if (body[k] !== undefined && !isMillis(body[k])) p.push(`"${k}" must be epoch milliseconds`);
    return p;
  }

  private create(body: Record<string, unknown>, bad: (why: string) => GrafanaAnswer): GrafanaAnswer {
    const p = this.fields(body, CREATE_FIELDS);
    if (typeof body.text !== "string" || body.text === "") p.push('"text" is required');
    for (const k of ["dashboardUID", "dashboardId", "panelId"]) if (body[k] !== undefined) p.push(`"${k}" makes it a dashboard annotation; release annotations are organisation annotations`);
    if (body.time === undefined) p.push('"time" should be set (the release start), not left to the server');
    if (typeof body.timeEnd === "number" && typeof body.time === "number" && body.timeEnd < body.time) p.push('"timeEnd" before "time"');
    if (p.length > 0) return bad(p.join("; "));
    const id = this.nextId++;
    this.annotations.set(id, { id, time: body.time as number, ...(body.timeEnd === undefined ? {} : { timeEnd: body.timeEnd as number }), tags: (body.tags as string[]) ?? [], text: body.text as string, data: body.data, patches: 0 });
    return { status: 200, body: { message: "Annotation added", id } };
  }

  private patch(id: number, body: Record<string, unknown>, bad: (why: string) => GrafanaAnswer): GrafanaAnswer {
    const p = this.fields(body, PATCH_FIELDS);
    if (body.id !== undefined && body.id !== id) p.push('"id" differs from the path');
    if (Object.keys(body).filter((k) => k !== "id").length === 0) p.push("nothing to patch");
    if (p.length > 0) return bad(p.join("; "));
    const a = this.annotations.get(id);
    if (a === undefined) return { status: 404, body: { message: "Could not find annotation to update" } };
    // Grafana's PatchAnnotation: non-empty text, non-nil tags, time/timeEnd > 0 replace the stored values.
    if (typeof body.text === "string" && body.text !== "") a.text = body.text;
    if (Array.isArray(body.tags)) a.tags = body.tags as string[];
    if (typeof body.time === "number" && body.time > 0) a.time = body.time;
    if (typeof body.timeEnd === "number" && body.timeEnd > 0) a.timeEnd = body.timeEnd;
    if (a.timeEnd !== undefined && a.timeEnd < a.time) this.violations.push(`PATCH ${id}: timeEnd before time`);
    a.patches += 1;
    return { status: 200, body: { message: "Annotation patched" } };
  }
}

export type GrafanaMode = "ok" | "500" | "hang" | "slow" | "redirect";

export interface FakeGrafana {
  url: string;
  api: FakeGrafanaApi;
  /** How the next requests are answered (default ok). slow: answers after slowMs. */
  mode: GrafanaMode;
  slowMs: number;
  close(): Promise<void>;
}

export async function startFakeGrafana(token: string, maxLifetimeMs = 60_000): Promise<FakeGrafana> {
  const api = new FakeGrafanaApi(token);
  const sockets = new Set<Socket>();
  const fake = { api, mode: "ok" as GrafanaMode, slowMs: 0 } as FakeGrafana;
  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (raw += c));
    req.on("end", () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : v]));
      const answer = (a: GrafanaAnswer) => {
        const text = JSON.stringify(a.body);
        res.writeHead(a.status, { "content-type": "application/json", ...a.headers });
        res.end(text);
      };
      const mode = fake.mode;
      if (mode === "hang") return void api.requests.push({ method: req.method ?? "", path: req.url ?? "", headers, body: raw });
      if (mode === "500") {
        api.requests.push({ method: req.method ?? "", path: req.url ?? "", headers, body: raw });
        return answer({ status: 500, body: { message: "Failed to save annotation" } });
      }
      if (mode === "redirect") {
        api.requests.push({ method: req.method ?? "", path: req.url ?? "", headers, body: raw });
        return answer({ status: 302, body: {}, headers: { location: "https://login.example.com/sso" } });
      }
      const a = api.handle({ method: req.method ?? "", path: req.url ?? "", headers, body: raw });
      if (mode === "slow") setTimeout(() => answer(a), fake.slowMs).unref();
      else answer(a);
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const lifetime = setTimeout(() => void fake.close(), maxLifetimeMs);
  lifetime.unref();
  let closed: Promise<void> | undefined;
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => {
    closed ??= new Promise<void>((resolve) => {
      clearTimeout(lifetime);
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
    return closed;
  };
  return fake;
}
