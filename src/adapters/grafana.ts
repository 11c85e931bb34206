/**
 * Grafana release annotations over Grafana's HTTP API (POST /api/annotations, PATCH /api/annotations/:id) with Node's
 * fetch. Never fails or slows a release: every request has a short timeout (3 s), nothing is retried in a loop, a
 * timeout or a refused token stops further requests of this run (until flush()), and every problem is one warning line.
 *
 * When Grafana itself is part of the release, the engine defers the start annotation (defer()) and calls flush() once
 * Grafana is healthy again; a release that already finished by then is posted as one region annotation.
 */
import {
  finishBody,
  regionBody,
  startBody,
  type AnnotationSettings,
  type ReleaseInfo,
  type ReleaseOutcome,
} from "../core/annotation.js";
import { VERSION } from "../version.js";

export type { ReleaseInfo, ReleaseOutcome } from "../core/annotation.js";

export const DEFAULT_GRAFANA_TIMEOUT_MS = 3_000;

/** What the release record keeps (never the token or the URL's secrets: there are none in it). */
export interface AnnotationRecord {
  /** Grafana's annotation id; null when nothing was posted. */
  id: number | null;
  /**
   * off: --annotate not given · pending: the start is in flight · open: started, not (successfully) closed ·
   * closed: timeEnd and outcome are in Grafana · deferred: queued until flush() · failed: nothing could be posted.
   */
  state: "off" | "pending" | "open" | "closed" | "deferred" | "failed";
  outcome?: ReleaseOutcome;
  /** The last problem, one line (also printed once as a warning). */
  warning?: string;
}

export interface ReleaseAnnotation {
  /**
   * Resolves with the annotation id once the start is posted, null if it could not be. A deferred start resolves after
   * flush() (or null at settle()). Never rejects.
   */
  readonly posted: Promise<number | null>;
  /** Closes the annotation with timeEnd = at and the outcome added to tags and text. Idempotent; never rejects. */
  finish(outcome: ReleaseOutcome, at: number): Promise<AnnotationRecord>;
  record(): AnnotationRecord;
}

export interface Annotator {
  /** Posts the start annotation now (time = at, default now) without waiting for it. */
  start(info: ReleaseInfo, at?: number): ReleaseAnnotation;
  /** Queues the start annotation (time = at, default now): nothing is sent before flush(). */
  defer(info: ReleaseInfo, at?: number): ReleaseAnnotation;
  /** Sends what defer() queued (a finished release as one region annotation) and re-arms after a timeout. Never rejects. */
  flush(): Promise<void>;
  /**
   * Waits for every request in flight (call before writing records). Deferred starts never flushed stay unsent (state
   * deferred) and their `posted` resolves null. Never rejects.
   */
  settle(): Promise<void>;
}

export interface AnnotatorOptions extends AnnotationSettings {
  /** Per request. Default 3 s. */
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof globalThis.fetch;
  /** One line per distinct problem; the release goes on. */
  warn(line: string): void;
}

/** A failed request: why, whether Grafana may have stored it anyway (timeout), and whether to stop sending (short: why). */
type Sent = { ok: true; body: unknown } | { ok: false; reason: string; maybeStored: boolean; stopAll?: string };

/** The origin of a redirect target (never its path or query, which may carry anything). */
function originOf(location: string | null, base: string): string | undefined {
  try {
    return location ? new URL(location, base).origin : undefined;
  } catch {
    return undefined;
  }
}

/** Annotations turned off: handles that record state "off" and send nothing. */
export function disabledAnnotator(): Annotator {
  const handle: ReleaseAnnotation = { posted: Promise.resolve(null), finish: async () => ({ id: null, state: "off" }), record: () => ({ id: null, state: "off" }) };
  return { start: () => handle, defer: () => handle, flush: async () => {}, settle: async () => {} };
}

export function createAnnotator(o: AnnotatorOptions): Annotator {
  const timeoutMs = o.timeoutMs ?? DEFAULT_GRAFANA_TIMEOUT_MS;
  const now = o.now ?? Date.now;
  const doFetch = o.fetch ?? globalThis.fetch;
  const origin = new URL(o.url).origin;
  const inFlight = new Set<Promise<unknown>>();
  const queue: Array<() => Promise<void>> = [];
  /** Deferred handles not flushed yet: settle() resolves their `posted` with null (the run is ending). */
  const unflushed = new Set<() => void>();
  const warned = new Set<string>();
  let stopped: string | undefined;

  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    return p;
  };
  const redact = (s: string) => s.split(o.token).join("<token>");
  const warnOnce = (reason: string, what: string) => {
    if (warned.has(reason)) return;
    warned.add(reason);
    o.warn(`grafana annotation (${what}) not sent: ${reason}; the release goes on without it`);
  };

  async function send(method: "POST" | "PATCH", path: string, body: unknown): Promise<Sent> {
    if (stopped !== undefined) return { ok: false, reason: `skipped: ${stopped} earlier in this run`, maybeStored: false };
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
      const res = await doFetch(`${o.url}${path}`, {
        method,
        redirect: "manual",
        signal: ctl.signal,
        headers: { authorization: `Bearer ${o.token}`, "content-type": "application/json", accept: "application/json", "user-agent": `lgtm-deploy/${VERSION}` },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (res.status === 200) return { ok: true, body: parsed };
      const message = typeof (parsed as { message?: unknown })?.message === "string" ? `: ${redact((parsed as { message: string }).message).split("\n")[0]!.slice(0, 120)}` : "";
      if (res.status >= 300 && res.status < 400) {
        const to = originOf(res.headers.get("location"), o.url);
        return { ok: false, reason: `Grafana answered HTTP ${res.status} (a redirect${to ? ` to ${to}` : ""}): grafana.annotations.url must be Grafana's base URL`, maybeStored: false, stopAll: "Grafana redirected" };
      }
      if (res.status === 401 || res.status === 403) {
        return { ok: false, reason: `Grafana refused the token (HTTP ${res.status}${message}): LGTM_GRAFANA_TOKEN must be a service account token with annotations:create and annotations:write`, maybeStored: false, stopAll: "Grafana refused the token" };
      }
      return { ok: false, reason: `Grafana answered HTTP ${res.status}${message}`, maybeStored: false };
    } catch (error) {
      if (ctl.signal.aborted) return { ok: false, reason: `Grafana at ${origin} did not answer within ${timeoutMs / 1000}s`, maybeStored: true, stopAll: "Grafana did not answer" };
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return { ok: false, reason: `Grafana at ${origin} is unreachable (${redact(cause?.code ?? cause?.message ?? (error as Error).message)})`, maybeStored: false };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends and applies the run-wide consequences of a failure: one warning per reason, stop after a timeout or 401. */
  async function request(method: "POST" | "PATCH", path: string, body: unknown, what: string): Promise<Sent> {
    const r = await send(method, path, body);
    if (!r.ok) {
      if (r.stopAll !== undefined) stopped ??= r.stopAll;
      if (!r.reason.startsWith("skipped:")) warnOnce(r.reason, what);
    }
    return r;
  }

  const idOf = (body: unknown): number | null => {
    const id = (body as { id?: unknown })?.id;
    return typeof id === "number" && Number.isInteger(id) && id > 0 ? id : null;
  };

  function handle(info: ReleaseInfo, time: number, deferred: boolean): ReleaseAnnotation {
    const rec: AnnotationRecord = { id: null, state: deferred ? "deferred" : "pending" };
    const what = `${info.component} ${info.environment}`;
    // Whether the start may have reached Grafana without an answer (a timeout): then no second POST, no duplicate.
    let maybeStored = false;
    let resolvePosted!: (id: number | null) => void;
    const posted = new Promise<number | null>((r) => (resolvePosted = r));
    const giveUp = () => resolvePosted(null);
    if (deferred) unflushed.add(giveUp);
    let finished: Promise<AnnotationRecord> | undefined;
    let pendingFinish: { outcome: ReleaseOutcome; at: number } | undefined;

    const post = async (outcome?: ReleaseOutcome, at?: number): Promise<void> => {
      const body = outcome === undefined ? startBody(info, time) : regionBody(info, time, outcome, at!);
      const r = await request("POST", "/api/annotations", body, what);
      const id = r.ok ? idOf(r.body) : null;
      if (r.ok && id === null) {
        rec.warning = "Grafana's answer to POST /api/annotations had no id";
        warnOnce(rec.warning, what);
        maybeStored = true; // it said 200: do not post a second one
      } else if (!r.ok) rec.warning = r.reason;
      rec.id = id;
      rec.state = id === null ? "failed" : outcome === undefined ? "open" : "closed";
      if (!r.ok) maybeStored = r.maybeStored;
      resolvePosted(id);
    };

    const close = async (outcome: ReleaseOutcome, at: number): Promise<AnnotationRecord> => {
      rec.outcome = outcome;
      if (rec.state === "deferred") {
        pendingFinish = { outcome, at };
        return { ...rec };
      }
      await posted;
      if (rec.id !== null) {
        const r = await request("PATCH", `/api/annotations/${rec.id}`, finishBody(info, outcome, at), what);
        if (r.ok) rec.state = "closed";
        else rec.warning = r.reason;
      } else if (!maybeStored) {
        await post(outcome, at); // the start never reached Grafana: post the whole release now
      }
      return { ...rec };
    };

    if (deferred) {
      queue.push(async () => {
        if (rec.state !== "deferred") return;
        unflushed.delete(giveUp);
        rec.state = "pending";
        await post(pendingFinish?.outcome, pendingFinish?.at);
      });
    } else {
      void track(post());
    }
    return {
      posted,
      finish(outcome, at) {
        finished ??= track(close(outcome, at));
        return finished;
      },
      record: () => ({ ...rec }),
    };
  }

  return {
    start: (info, at) => handle(info, at ?? now(), false),
    defer: (info, at) => handle(info, at ?? now(), true),
    async flush() {
      stopped = undefined; // Grafana was expected to be away (it was being released); try again
      const jobs = queue.splice(0);
      await track(Promise.all(jobs.map((j) => j())));
    },
    async settle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      for (const giveUp of unflushed) giveUp();
      unflushed.clear();
    },
  };
}
