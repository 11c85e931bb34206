/**
 * Grafana release annotations: requests checked against Grafana's documented annotations API by a local server, and
 * every way Grafana can be away (unreachable, 401, 500, slow, redirect) costing at most one short timeout and one
 * warning line — never an exception, never the token in output.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createAnnotator, disabledAnnotator, type Annotator } from "../src/adapters/grafana.js";
import { annotationSettings, GRAFANA_TOKEN_ENV, regionBody, releaseInfo, releaseTags, startBody, type ReleaseInfo } from "../src/core/annotation.js";
import { parseEnvironment } from "../src/core/environment.js";
import { InvalidInputError } from "../src/core/errors.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./helpers/cli.js";
import { FakeGrafanaApi, startFakeGrafana, type FakeGrafana } from "./helpers/fake-grafana.js";

const TOKEN = "glsa_0123456789abcdefSECRETSECRET_cafebabe";
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const loki: ReleaseInfo = { component: "loki", environment: "prod", version: "3.2.0", tag: "3.2.0_g0badc0ffee00", digest: "sha256:1eef", text: "deploy loki 3.2.0 (3.2.0_g0badc0ffee00) to prod" };
const grafana: ReleaseInfo = { ...loki, component: "grafana", version: "13.2.1", tag: "13.2.1_g0badc0ffee00", text: "deploy grafana 13.2.1 to prod" };

async function withGrafana(fn: (g: FakeGrafana, make: (o?: { timeoutMs?: number; token?: string }) => { annotator: Annotator; warnings: string[] }) => Promise<void>): Promise<void> {
  const g = await startFakeGrafana(TOKEN);
  try {
    await fn(g, (o = {}) => {
      const warnings: string[] = [];
      let clock = T0;
      const annotator = createAnnotator({ url: g.url, token: o.token ?? TOKEN, timeoutMs: o.timeoutMs ?? 2_000, now: () => (clock += 1000), warn: (l) => warnings.push(l) });
      return { annotator, warnings };
    });
  } finally {
    await g.close();
  }
}

/** A port with nothing listening (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const noToken = (texts: string[]) => texts.forEach((t) => assert.ok(!t.includes(TOKEN), `token leaked: ${t}`));

describe("annotation bodies (pure)", () => {
  it("tags: lgtm-deploy, component, environment, version, then the outcome; data carries the image", () => {
    assert.deepEqual(releaseTags(loki), ["lgtm-deploy", "loki", "prod", "3.2.0"]);
    assert.deepEqual(releaseTags(loki, "rolled-back"), ["lgtm-deploy", "loki", "prod", "3.2.0", "rolled-back"]);
    assert.deepEqual(releaseTags({ ...loki, version: null }), ["lgtm-deploy", "loki", "prod"]);
    assert.deepEqual(startBody(loki, T0), { time: T0, tags: ["lgtm-deploy", "loki", "prod", "3.2.0"], text: loki.text, data: { tool: "lgtm-deploy", component: "loki", environment: "prod", version: "3.2.0", tag: loki.tag!, digest: "sha256:1eef" } });
    assert.equal(regionBody(loki, T0, "failed", T0 - 5).timeEnd, T0, "timeEnd never before time");
  });

  it("releaseInfo says what, where, who and why", () => {
    assert.deepEqual(releaseInfo({ command: "deploy", component: "loki", environment: "prod", version: "3.2.0", tag: "3.2.0_g0badc0ffee00", digest: "sha256:1eef", triggeredBy: "https://ci/job/7/" }), {
      component: "loki", environment: "prod", version: "3.2.0", tag: "3.2.0_g0badc0ffee00", digest: "sha256:1eef",
      text: "lgtm-deploy deploy loki 3.2.0 (3.2.0_g0badc0ffee00) to prod\nby https://ci/job/7/",
    });
    assert.equal(releaseInfo({ command: "rollback", component: "tempo", environment: "prod", version: null, tag: null, reason: "OOM" }).text, "lgtm-deploy rollback tempo a task definition to prod\nreason: OOM");
  });

  it("--annotate needs grafana.annotations.url and LGTM_GRAFANA_TOKEN; errors name the file, field or variable, never the token", () => {
    const prod = parseEnvironment("prod", "environments/prod.json", readFileSync(path.join(REPO_ROOT, "environments/prod.json"), "utf8"));
    const without = { ...prod, grafana: { ...prod.grafana, annotations: undefined } };
    assert.throws(() => annotationSettings(without, { [GRAFANA_TOKEN_ENV]: TOKEN }), (e: unknown) => e instanceof InvalidInputError && /environments\/prod\.json has no field "grafana\.annotations\.url"/.test((e as Error).message));
    const withUrl = { ...prod, grafana: { ...prod.grafana, annotations: { url: "https://grafana.example.com/" } } };
    assert.throws(() => annotationSettings(withUrl, {}), /set LGTM_GRAFANA_TOKEN/);
    assert.throws(() => annotationSettings(withUrl, { [GRAFANA_TOKEN_ENV]: "two words" }), (e: unknown) => !(e as Error).message.includes("two words"));
    assert.deepEqual(annotationSettings(withUrl, { [GRAFANA_TOKEN_ENV]: ` ${TOKEN}\n` }), { url: "https://grafana.example.com", token: TOKEN });
  });

  it("the environment schema takes grafana.annotations.url and rejects credentials, queries and other fields in it", () => {
    const text = readFileSync(path.join(REPO_ROOT, "environments/local.json"), "utf8");
    const withAnnotations = (a: unknown) => {
      const j = JSON.parse(text);
      j.grafana.annotations = a;
      return JSON.stringify(j);
    };
    assert.equal(parseEnvironment("local", "environments/local.json", withAnnotations({ url: "http://127.0.0.1:3000/grafana" })).grafana.annotations?.url, "http://127.0.0.1:3000/grafana");
    for (const bad of [{ url: "https://admin:pw@grafana.example.com" }, { url: "https://grafana.example.com/?token=x" }, { url: "ftp://grafana" }, { url: "https://g.example.com", token: "x" }]) {
      assert.throws(() => parseEnvironment("local", "environments/local.json", withAnnotations(bad)), /environments\/local\.json: invalid environment:\n {2}field "grafana\.annotations(\.url)?"/);
    }
  });
});

describe("the fake Grafana enforces the documented API (so the tests below can fail)", () => {
  it("rejects a dashboard annotation, seconds instead of milliseconds, a missing text, Basic auth, a wrong content type, PUT", () => {
    const api = new FakeGrafanaApi(TOKEN);
    const h = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", accept: "application/json" };
    const bad: Array<[string, string, Record<string, string>, unknown]> = [
      ["POST", "/api/annotations", h, { dashboardUID: "abc", time: T0, text: "x", tags: [] }],
      ["POST", "/api/annotations", h, { time: T0 / 1000, text: "x" }],
      ["POST", "/api/annotations", h, { time: T0, tags: ["a"] }],
      ["POST", "/api/annotations", h, { time: T0, text: "x", tags: "a,b" }],
      ["POST", "/api/annotations", { ...h, authorization: "Basic YWRtaW46YWRtaW4=" }, { time: T0, text: "x" }],
      ["POST", "/api/annotations", { ...h, "content-type": "text/plain" }, { time: T0, text: "x" }],
      ["PUT", "/api/annotations/1", h, { time: T0, text: "x" }],
      ["PATCH", "/api/annotations/1", h, { timeEnd: "soon" }],
    ];
    for (const [method, p, headers, body] of bad) assert.equal(api.handle({ method, path: p, headers, body: JSON.stringify(body) }).status, 400, `${method} ${p} ${JSON.stringify(body)}`);
    assert.equal(api.violations.length, bad.length);
    assert.equal(api.handle({ method: "POST", path: "/api/annotations", headers: { ...h, authorization: "Bearer wrong" }, body: "{}" }).status, 401);
  });
});

describe("annotator against a local Grafana", () => {
  it("start posts an organisation annotation, finish patches timeEnd and the outcome; the id goes into the record", async () => {
    await withGrafana(async (g, make) => {
      const { annotator, warnings } = make();
      const h = annotator.start(loki);
      const id = await h.posted;
      assert.equal(id, 1);
      assert.deepEqual(h.record(), { id: 1, state: "open" });
      const rec = await h.finish("rolled-back", T0 + 60_000);
      assert.deepEqual(rec, { id: 1, state: "closed", outcome: "rolled-back" });
      assert.deepEqual(await h.finish("released", T0 + 99_000), rec, "finish is idempotent");
      await annotator.settle();
      assert.deepEqual(g.api.violations, []);
      assert.deepEqual(g.api.requests.map((r) => `${r.method} ${r.path}`), ["POST /api/annotations", "PATCH /api/annotations/1"]);
      const a = g.api.annotations.get(1)!;
      assert.deepEqual({ time: a.time, timeEnd: a.timeEnd, tags: a.tags, text: a.text }, { time: T0 + 1000, timeEnd: T0 + 60_000, tags: ["lgtm-deploy", "loki", "prod", "3.2.0", "rolled-back"], text: `${loki.text}\nOutcome: rolled-back` });
      assert.deepEqual(warnings, []);
      assert.ok(g.api.requests.every((r) => r.headers["user-agent"]?.startsWith("lgtm-deploy/")));
    });
  });

  it("Grafana in the release: defer() sends nothing until flush(); a release already over is one region annotation", async () => {
    await withGrafana(async (g, make) => {
      const { annotator } = make();
      const h = annotator.defer(grafana, T0);
      assert.deepEqual(await h.finish("released", T0 + 30_000), { id: null, state: "deferred", outcome: "released" });
      assert.equal(g.api.requests.length, 0);
      await annotator.flush();
      assert.equal(await h.posted, 1);
      assert.deepEqual(h.record(), { id: 1, state: "closed", outcome: "released" });
      const a = g.api.annotations.get(1)!;
      assert.deepEqual([a.time, a.timeEnd, a.patches], [T0, T0 + 30_000, 0]);
      assert.ok(a.tags.includes("released"));
      await annotator.flush(); // idempotent: nothing queued
      assert.equal(g.api.requests.length, 1);
      assert.deepEqual(g.api.violations, []);
    });
  });

  it("defer, flush (Grafana healthy again), then finish: start posted with its original time, then patched", async () => {
    await withGrafana(async (g, make) => {
      const { annotator } = make();
      const h = annotator.defer(grafana, T0);
      await annotator.flush();
      assert.equal(g.api.annotations.get(1)!.time, T0);
      await h.finish("failed", T0 + 5000);
      assert.deepEqual(g.api.requests.map((r) => r.method), ["POST", "PATCH"]);
      assert.deepEqual(g.api.annotations.get(1)!.tags.at(-1), "failed");
      assert.deepEqual(g.api.violations, []);
    });
  });

  it("a deferred start never flushed: settle() resolves it as not posted and nothing is sent", async () => {
    await withGrafana(async (g, make) => {
      const { annotator } = make();
      const h = annotator.defer(grafana);
      await annotator.settle();
      assert.equal(await h.posted, null);
      assert.equal(h.record().state, "deferred");
      assert.equal(g.api.requests.length, 0);
    });
  });

  it("unreachable Grafana: one warning line, no exception, and the finish posts the whole release once Grafana is back", async () => {
    const port = await deadPort();
    const warnings: string[] = [];
    const annotator = createAnnotator({ url: `http://127.0.0.1:${port}`, token: TOKEN, warn: (l) => warnings.push(l) });
    const t0 = Date.now();
    const hs = [annotator.start(loki), annotator.start({ ...loki, component: "mimir" })];
    assert.deepEqual(await Promise.all(hs.map((h) => h.posted)), [null, null]);
    await Promise.all(hs.map((h) => h.finish("released", Date.now())));
    await annotator.settle();
    assert.ok(Date.now() - t0 < 2_000);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0]!, /^grafana annotation \(loki prod\) not sent: Grafana at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\); the release goes on without it$/);
    assert.deepEqual(hs[0]!.record(), { id: null, state: "failed", outcome: "released", warning: warnings[0]!.replace(/^.*not sent: /, "").replace(/; the release goes on.*$/, "") });
  });

  it("a start that failed with HTTP 500 is posted whole at finish once Grafana answers again (no duplicate)", async () => {
    await withGrafana(async (g, make) => {
      const { annotator, warnings } = make();
      g.mode = "500";
      const h = annotator.start(loki);
      assert.equal(await h.posted, null);
      g.mode = "ok";
      const rec = await h.finish("released", T0 + 10_000);
      assert.deepEqual(rec, { id: 1, state: "closed", outcome: "released", warning: "Grafana answered HTTP 500: Failed to save annotation" });
      assert.equal(g.api.annotations.size, 1);
      assert.deepEqual(warnings, ["grafana annotation (loki prod) not sent: Grafana answered HTTP 500: Failed to save annotation; the release goes on without it"]);
    });
  });

  it("401: says the token is refused (never what it is) and sends nothing more in this run", async () => {
    await withGrafana(async (g, make) => {
      const { annotator, warnings } = make({ token: "glsa_wrongwrongwrong" });
      const a = annotator.start(loki);
      const b = annotator.start({ ...loki, component: "tempo" });
      await Promise.all([a.posted, b.posted]);
      await Promise.all([a.finish("released", T0 + 1), b.finish("released", T0 + 1)]);
      await annotator.settle();
      assert.equal(g.api.requests.length, 2, "only the two starts in flight together; nothing after the refusal");
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /Grafana refused the token \(HTTP 401: Invalid API key\): LGTM_GRAFANA_TOKEN must be a service account token/);
      assert.ok(!warnings[0]!.includes("glsa_wrong"));
      assert.deepEqual(g.api.violations, []);
    });
  });

  it("a Grafana that never answers costs one timeout, then nothing; flush() tries again", async () => {
    await withGrafana(async (g, make) => {
      const { annotator, warnings } = make({ timeoutMs: 200 });
      g.mode = "hang";
      const t0 = Date.now();
      const h = annotator.start(loki);
      assert.equal(await h.posted, null);
      const rec = await h.finish("released", T0 + 1);
      assert.ok(Date.now() - t0 < 2_000, `took ${Date.now() - t0} ms`);
      assert.equal(rec.state, "failed", "a start that may have been stored is not posted again (no duplicate)");
      const later = annotator.start({ ...loki, component: "mimir" });
      assert.equal(await later.posted, null);
      assert.equal(later.record().warning, "skipped: Grafana did not answer earlier in this run");
      assert.equal(g.api.requests.length, 1);
      assert.deepEqual(warnings, [`grafana annotation (loki prod) not sent: Grafana at ${g.url} did not answer within 0.2s; the release goes on without it`]);
      g.mode = "ok";
      const deferred = annotator.defer(grafana);
      await annotator.flush();
      assert.equal(await deferred.posted, 1);
    });
  });

  it("a slow but answering Grafana within the timeout is fine; slower than the timeout is a warning", async () => {
    await withGrafana(async (g, make) => {
      g.mode = "slow";
      g.slowMs = 100;
      const fast = make({ timeoutMs: 1_000 });
      assert.equal(await fast.annotator.start(loki).posted, 1);
      g.slowMs = 600;
      const slow = make({ timeoutMs: 150 });
      assert.equal(await slow.annotator.start(loki).posted, null);
      assert.match(slow.warnings[0]!, /did not answer within 0\.15s/);
    });
  });

  it("a redirect is not followed (the token stays with Grafana) and says the URL is wrong", async () => {
    await withGrafana(async (g, make) => {
      const { annotator, warnings } = make();
      g.mode = "redirect";
      assert.equal(await annotator.start(loki).posted, null);
      assert.match(warnings[0]!, /HTTP 302 \(a redirect to https:\/\/login\.example\.com\): grafana\.annotations\.url must be Grafana's base URL/);
      assert.equal(g.api.requests.length, 1);
    });
  });

  it("disabledAnnotator records state off and sends nothing", async () => {
    const h = disabledAnnotator().start(loki);
    assert.equal(await h.posted, null);
    assert.deepEqual(await h.finish("released", T0), { id: null, state: "off" });
  });
});

describe("invariant under random faults (in-memory Grafana, injected fetch)", () => {
  // hang: never answered; stored-hang: Grafana stored it but the answer never came (a timeout that did create it).
  type Fault = "ok" | "500" | "401" | "refused" | "hang" | "stored-hang";
  it("never rejects; closed ⇒ Grafana holds timeEnd and the outcome; at most 2 requests per release; no duplicates; no token in output", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom<Fault>("ok", "ok", "ok", "500", "401", "refused", "hang", "stored-hang"), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), async (faults, n, deferGrafana) => {
        const api = new FakeGrafanaApi(TOKEN);
        let i = 0;
        const fetchStub = (async (url: string | URL | Request, init?: RequestInit) => {
          const fault = faults[i++ % faults.length]!;
          if (fault === "refused") throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
          const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
          const req = { method: init!.method!, path: new URL(String(url)).pathname, headers: fault === "401" ? { ...headers, authorization: "Bearer other" } : headers, body: String(init!.body) };
          if (fault === "hang" || fault === "stored-hang") {
            if (fault === "stored-hang") api.handle(req);
            return new Promise<Response>((_, reject) => init!.signal!.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
          }
          const a = fault === "500" ? (api.requests.push(req), { status: 500, body: { message: "db locked" } }) : api.handle(req);
          return new Response(JSON.stringify(a.body), { status: a.status, headers: { "content-type": "application/json" } });
        }) as typeof fetch;
        const warnings: string[] = [];
        const annotator = createAnnotator({ url: "http://grafana.test", token: TOKEN, timeoutMs: 5, fetch: fetchStub, warn: (l) => warnings.push(l) });
        const infos = Array.from({ length: n }, (_, k) => ({ ...loki, component: `c${k}` }));
        const handles = infos.map((info, k) => (deferGrafana && k === 0 ? annotator.defer(info, T0) : annotator.start(info, T0)));
        await Promise.all(handles.slice(deferGrafana ? 1 : 0).map((h) => h.posted));
        if (deferGrafana) await annotator.flush(); // Grafana healthy again: re-armed after any earlier timeout
        const records = await Promise.all(handles.map((h, k) => h.finish(k % 2 ? "rolled-back" : "released", T0 + 1000)));
        await annotator.settle();
        assert.ok(i <= 2 * n, `${i} requests for ${n} releases`);
        assert.deepEqual(api.violations, []);
        const perComponent = [...api.annotations.values()].map((a) => a.tags[1]);
        assert.equal(new Set(perComponent).size, perComponent.length, `duplicate annotations: ${perComponent.join(" ")}`);
        for (const [k, r] of records.entries()) {
          assert.ok(["closed", "open", "failed", "deferred"].includes(r.state));
          if (r.state === "closed") {
            const a = api.annotations.get(r.id!)!;
            assert.equal(a.timeEnd, T0 + 1000);
            assert.ok(a.tags.includes(k % 2 ? "rolled-back" : "released"));
          }
        }
        assert.ok(new Set(warnings).size === warnings.length, "each distinct warning once");
        noToken([...warnings, JSON.stringify(records)]);
      }),
      { numRuns: 150 },
    );
  });
});
