/**
 * A fault proxy between the tool and the emulator, for faults that must hit one exact call: the rollback's
 * UpdateService, the second component's update, the n-th DescribeServices (hang), reads that lag behind a write
 * (eventual consistency), and hooks that act at an exact point in the tool's call sequence (a third party's
 * deployment just before the tool's update lands, SIGTERM while the rollback call is in flight).
 *
 * Only the tool talks through the proxy; the harness talks to the emulator directly, so the proxy's log is
 * exactly the tool's calls. Faults answered by the proxy never reach the emulator (no state change), except
 * `hangAfter`, which forwards the request and withholds the answer (the write happened, the caller never hears).
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export type FaultAction =
  | { kind: "error500" }
  | { kind: "throttle" }
  /** A non-retryable ECS error, e.g. the rollback target was deregistered by a clean-up job. */
  | { kind: "client"; type: string; message: string }
  | { kind: "drop" }
  /** Never answer and never forward (a connection that hangs before the server saw it). */
  | { kind: "hangBefore" }
  /** Forward, apply, never answer (the server saw it; the caller does not know). */
  | { kind: "hangAfter" }
  | { kind: "delay"; ms: number };

export interface FaultRule {
  op: string;
  /** Service name the call is about (UpdateService.service, DescribeServices.services[], …); any if absent. */
  service?: string;
  /** 1-based ordinal among the tool's calls matching op (+service) from which the rule applies. */
  fromNth: number;
  /** How many matching attempts it affects (Infinity: all later ones). */
  count: number;
  action: FaultAction;
}

export interface ProxyCall {
  seq: number;
  time: number;
  op: string;
  services: string[];
  input: any;
  /** 1-based ordinal of this attempt among the tool's calls of this op (key "") and of this op about each service. */
  ordinals: Record<string, number>;
  /** What the proxy did: forwarded, or the injected fault. */
  outcome: "forwarded" | FaultAction["kind"] | "stale";
  status?: number;
  /** When the request was sent on to the emulator (after hooks and delays). */
  forwardedAt?: number;
  /** When the answer was sent back to the tool: the earliest moment the tool could know what it says. */
  answeredAt?: number;
  /**
   * When the tool hung up before the answer was written (its per-call timeout gave up on a delayed or hung call):
   * the call may still have reached the emulator, but the tool never read what it said.
   */
  abandonedAt?: number;
  /** DescribeServices (200): the deployments of each service as the answer showed them to the tool (stale or not). */
  seen?: Record<string, { id: string; taskDefinition: string; status: string; rolloutState?: string }[]>;
}

/** Runs before a matching call is forwarded; the call waits for it (so ordering is exact, not a race). */
export interface Hook {
  op: string;
  service?: string;
  nth: number;
  run: (call: ProxyCall) => Promise<void> | void;
  /** "before": run, then forward; "after": forward, answer, then run. */
  when: "before" | "after";
}

export interface FaultProxy {
  url: string;
  calls: ProxyCall[];
  rules: FaultRule[];
  hooks: Hook[];
  /** Called synchronously as each call arrives, before hooks and faults. */
  listeners: ((call: ProxyCall) => void)[];
  /** Serve DescribeServices for a service from the last answer seen before a write to it, for this long after the write. */
  staleMs: number;
  close(): Promise<void>;
}

const target = (req: IncomingMessage): string => String(req.headers["x-amz-target"] ?? "");

/**
 * The services a call is about. `learned` maps deployment ids (ecs-svc/…) and task ids seen in earlier answers to
 * their service, for ListTasks by startedBy and DescribeTasks by task.
 */
export function servicesOf(op: string, input: any, learned: ReadonlyMap<string, string> = new Map()): string[] {
  const name = (ref: unknown): string => String(ref ?? "").split("/").pop() ?? "";
  if (op === "DescribeServices") return (input?.services ?? []).map(name);
  if (op === "UpdateService" || op === "CreateService") return [name(input?.service ?? input?.serviceName)];
  if (op === "ListTasks") {
    if (input?.serviceName) return [name(input.serviceName)];
    if (input?.family) return [String(input.family).split(":")[0]!];
    const s = learned.get(String(input?.startedBy ?? ""));
    return s ? [s] : [];
  }
  if (op === "DescribeTasks") return [...new Set((input?.tasks ?? []).map((t: string) => learned.get(String(t).split("/").pop() ?? "")).filter(Boolean) as string[])];
  if (op === "ListServiceDeployments") return [name(input?.service)];
  // In this project a task definition family is named after its service (lgtm-<component>).
  if (op === "RegisterTaskDefinition") return [String(input?.family ?? "")];
  // arn:aws:ecs:region:acct:service-deployment/cluster/service/id
  if (op === "StopServiceDeployment") return [String(input?.serviceDeploymentArn ?? "").split("/")[2] ?? ""];
  if (op === "DescribeServiceDeployments") return (input?.serviceDeploymentArns ?? []).map((a: string) => a.split("/")[2] ?? "");
  return [];
}

/** Remembers which service a deployment id or a task belongs to, from the answers the tool gets. */
function learn(learned: Map<string, string>, op: string, body: Buffer): void {
  if (op !== "DescribeServices" && op !== "UpdateService" && op !== "DescribeTasks") return;
  try {
    const parsed = JSON.parse(body.toString("utf8"));
    const services = op === "UpdateService" ? [parsed.service] : (parsed.services ?? []);
    for (const svc of services) for (const d of svc?.deployments ?? []) learned.set(d.id, svc.serviceName);
    for (const t of parsed.tasks ?? []) if (t.group?.startsWith("service:")) learned.set(String(t.taskArn).split("/").pop()!, t.group.slice(8));
  } catch {
    /* not JSON: nothing to learn */
  }
}

const MUTATING_SERVICE_OPS = new Set(["UpdateService", "StopServiceDeployment", "CreateService", "DeleteService"]);

export async function startProxy(upstream: string): Promise<FaultProxy> {
  const up = new URL(upstream);
  const sockets = new Set<Socket>();
  const ordinals = new Map<string, number>();
  const learned = new Map<string, string>();
  /** Last DescribeServices entry per service, with when it was captured. */
  const lastSeen = new Map<string, { at: number; entry: unknown }>();
  /** Per service: the answer from before the latest write, and when the write happened. */
  const frozen = new Map<string, { since: number; entry: unknown }>();
  let seq = 0;
  const proxy: FaultProxy = { url: "", calls: [], rules: [], hooks: [], listeners: [], staleMs: 0, close: async () => undefined };

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const r = request(
        { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: { ...req.headers, host: up.host, "content-length": String(body.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      r.on("error", reject);
      r.end(body);
    });

  const fault = (res: ServerResponse, type: string, message: string, status: number): void => {
    const body = JSON.stringify({ __type: type, message });
    res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": type, "x-amzn-requestid": `proxy-${seq}`, "content-length": Buffer.byteLength(body) });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const t = target(req);
    const op = t.slice(t.lastIndexOf(".") + 1);
    let input: any = {};
    try {
      input = JSON.parse(body.toString("utf8") || "{}");
    } catch {
      /* forwarded as is: the emulator answers SerializationException */
    }
    const services = servicesOf(op, input, learned);
    const callOrdinals: Record<string, number> = {};
    for (const s of ["", ...services]) {
      const k = `${op}/${s}`;
      callOrdinals[s] = (ordinals.get(k) ?? 0) + 1;
      ordinals.set(k, callOrdinals[s]!);
    }
    const call: ProxyCall = { seq: ++seq, time: Date.now(), op, services, input, ordinals: callOrdinals, outcome: "forwarded" };
    proxy.calls.push(call);
    res.on("close", () => {
      if (!res.writableFinished) call.abandonedAt ??= Date.now();
    });
    for (const l of proxy.listeners) l(call);
    /** The ordinal a rule or hook counts, or 0 when it does not match this call. */
    const nthFor = (m: { op: string; service?: string }): number => (m.op !== op ? 0 : (callOrdinals[m.service ?? ""] ?? 0));

    for (const h of proxy.hooks) if (h.when === "before" && nthFor(h) === h.nth) await h.run(call);

    const rule = proxy.rules.find((r) => nthFor(r) >= r.fromNth && nthFor(r) < r.fromNth + r.count);
    if (rule) {
      call.outcome = rule.action.kind;
      switch (rule.action.kind) {
        case "error500":
          call.status = 500;
          return fault(res, "ServerException", "Service unavailable (proxy fault).", 500);
        case "throttle":
          call.status = 400;
          return fault(res, "ThrottlingException", "Rate exceeded", 400);
        case "client":
          call.status = 400;
          return fault(res, rule.action.type, rule.action.message, 400);
        case "drop":
          call.status = 0;
          req.socket.destroy();
          return;
        case "hangBefore":
          return; // the socket stays open until the client gives up or the proxy closes
        case "hangAfter":
          call.forwardedAt = Date.now();
          await forward(req, body).catch(() => undefined);
          return;
        case "delay":
          await new Promise((r) => setTimeout(r, (rule.action as { ms: number }).ms));
          call.outcome = "forwarded";
          break;
      }
    }

    const before = Date.now();
    call.forwardedAt = before;
    let answer;
    try {
      answer = await forward(req, body);
    } catch {
      call.status = 0;
      req.socket.destroy();
      return;
    }
    call.status = answer.status;
    let out = answer.body;
    if (answer.status === 200 && MUTATING_SERVICE_OPS.has(op)) {
      for (const s of services) {
        const seen = lastSeen.get(s);
        if (seen) frozen.set(s, { since: before, entry: seen.entry });
      }
    }
    if (answer.status === 200) learn(learned, op, out);
    if (answer.status === 200 && op === "DescribeServices") {
      const parsed = JSON.parse(out.toString("utf8"));
      let replaced = false;
      parsed.services = (parsed.services ?? []).map((entry: any) => {
        const f = frozen.get(entry.serviceName);
        if (proxy.staleMs > 0 && f && before - f.since < proxy.staleMs) {
          replaced = true;
          return f.entry;
        }
        lastSeen.set(entry.serviceName, { at: before, entry });
        return entry;
      });
      if (replaced) {
        call.outcome = "stale";
        out = Buffer.from(JSON.stringify(parsed));
      }
      call.seen = Object.fromEntries((parsed.services ?? []).map((e: any) => [e.serviceName, (e.deployments ?? []).map((d: any) => ({ id: d.id, taskDefinition: d.taskDefinition, status: d.status, rolloutState: d.rolloutState }))]));
    }
    const headers: Record<string, string | string[] | undefined> = { ...answer.headers, "content-length": String(out.length) };
    delete headers["transfer-encoding"];
    if (res.destroyed || req.socket.destroyed) call.abandonedAt ??= Date.now();
    res.writeHead(answer.status, headers);
    call.answeredAt = Date.now();
    res.end(out);
    for (const h of proxy.hooks) if (h.when === "after" && nthFor(h) === h.nth) await h.run(call);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      handle(req, res, Buffer.concat(chunks)).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  proxy.url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}

/** The tool read this call's answer: it was written while the tool still listened (not abandoned before). */
export function received(k: ProxyCall): boolean {
  return k.answeredAt !== undefined && (k.abandonedAt === undefined || k.abandonedAt > k.answeredAt);
}
