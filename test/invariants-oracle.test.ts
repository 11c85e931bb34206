/**
 * The invariants oracle's own rules for "when could the tool have known" (test/helpers/invariants/oracle-calls.ts):
 * they decide whether a write counts against the tool (I6), so they are checked on hand-made call logs here.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { decidedAt, knewAt, knewBefore } from "./helpers/invariants/oracle-calls.js";
import { received, type ProxyCall } from "./helpers/invariants/proxy.js";

const read = (seq: number, forwardedAt: number, answeredAt: number, extra: Partial<ProxyCall> = {}): ProxyCall => ({
  seq, time: forwardedAt - 1, op: "DescribeServices", services: ["lgtm-alloy"], input: {}, ordinals: {}, outcome: "forwarded", status: 200, forwardedAt, answeredAt, ...extra,
});
const context = (calls: ProxyCall[], lagMs = 0) => ({ o: { proxyCalls: calls, schedule: { api: lagMs > 0 ? { consistency: { lagMs } } : {} } } }) as never;

describe("oracle: which answers the tool read", () => {
  test("an answer written while the tool listened was read; one written after it hung up was not", () => {
    assert.equal(received(read(1, 100, 120)), true);
    assert.equal(received(read(1, 100, 120, { abandonedAt: 150 })), true, "hung up after the answer: read");
    assert.equal(received(read(1, 100, 1_400, { abandonedAt: 1_000 })), false, "its 1 s call timeout gave up first");
    assert.equal(received({ ...read(1, 100, 120), answeredAt: undefined }), false, "never answered");
  });

  test("knewAt: the first fresh read after the event whose answer the tool read (seed 5150 #24: a delayed read it had given up on)", () => {
    const abandoned = read(1, 1_300, 1_310, { abandonedAt: 1_000 });
    const later = read(2, 2_000, 2_005);
    assert.equal(knewAt(context([abandoned, later]), "alloy", 900), 2_005);
    assert.equal(knewAt(context([read(1, 1_300, 1_310), later]), "alloy", 900), 1_310, "the same read, answered in time, counts");
    assert.equal(knewAt(context([abandoned]), "alloy", 900), undefined, "it never knew");
  });

  test("knewAt: only reads sent after the event (plus the emulator's consistency lag) show it; stale answers do not", () => {
    const calls = [read(1, 950, 960), read(2, 1_050, 1_060, { outcome: "stale" }), read(3, 1_150, 1_160), read(4, 1_300, 1_310)];
    assert.equal(knewAt(context(calls), "alloy", 1_000), 1_160);
    assert.equal(knewAt(context(calls, 200), "alloy", 1_000), 1_310);
    assert.equal(knewAt(context(calls), "tempo", 1_000), undefined, "another service's reads say nothing");
  });
});

describe("oracle: when the tool decided a write (its --events-file)", () => {
  const stop = (seq: number, time: number): ProxyCall => ({ seq, time, op: "StopServiceDeployment", services: ["lgtm-alloy"], input: {}, ordinals: {}, outcome: "forwarded", status: 200 });
  const ev = (time: number, kind: string, message: string) => ({ time, component: "alloy", kind, message });
  const ctx = (calls: ProxyCall[], events: ReturnType<typeof ev>[]) => ({ o: { proxyCalls: calls, toolEvents: events, schedule: { api: {} } } }) as never;

  test("the decision event right before the write dates it (seed 5150 #12: decided at +296, reached ECS at +313)", () => {
    const w = stop(1, 313);
    assert.equal(decidedAt(ctx([w], [ev(296, "rollback", "rolling back to lgtm-alloy:1 (StopServiceDeployment ROLLBACK)")]), "alloy", w), 296);
  });

  test("a retry, or the UpdateService after a refused StopServiceDeployment, is decided when it is sent", () => {
    const first = stop(1, 313);
    const retry = stop(2, 900);
    const events = [ev(296, "rollback", "rolling back to lgtm-alloy:1 (StopServiceDeployment ROLLBACK)"), ev(400, "rollback", "rollback call failed (ServerException: x); retrying in 0.5s (attempt 2)")];
    assert.equal(decidedAt(ctx([first, retry], events), "alloy", retry), undefined);
    assert.equal(decidedAt(ctx([first, retry], [events[0]!]), "alloy", retry), undefined, "only the first write after a decision is dated by it");
  });

  test("without the tool's events (a tool that keeps none), nothing is dated", () => {
    const w = stop(1, 313);
    assert.equal(decidedAt(ctx([w], []), "alloy", w), undefined);
  });
});

describe("oracle: was a write informed by an answer (knewBefore)", () => {
  const stop = (time: number): ProxyCall => ({ seq: 1, time, op: "StopServiceDeployment", services: ["lgtm-alloy"], input: {}, ordinals: {}, outcome: "forwarded", status: 200 });
  const decision = (time: number) => ({ time, component: "alloy", kind: "rollback", message: "rolling back to lgtm-alloy:1 (StopServiceDeployment ROLLBACK)" });
  const ctx = (w: ProxyCall, events: ReturnType<typeof decision>[]) => ({ o: { proxyCalls: [w], toolEvents: events, schedule: { api: {} } } }) as never;

  test("decided 1 ms after the answer left (whole-ms clocks, faster than the tool ever reads one): not informed", () => {
    const w = stop(905);
    assert.equal(knewBefore(ctx(w, [decision(866)]), "alloy", w, 865), false);
  });
  test("decided 2 ms or more after: informed — a fight", () => {
    const w = stop(905);
    assert.equal(knewBefore(ctx(w, [decision(867)]), "alloy", w, 865), true);
    assert.equal(knewBefore(ctx(w, [decision(900)]), "alloy", w, 865), true);
  });
  test("no decision event (a tool without --events-file): the write's arrival decides, strictly", () => {
    const w = stop(866);
    assert.equal(knewBefore(ctx(w, []), "alloy", w, 865), true);
    assert.equal(knewBefore(ctx(w, []), "alloy", w, 866), false);
  });
});

describe("oracle: with the tool's own \"read\" events, knowledge is when it applied an answer", () => {
  const applied = (time: number, polledAt: number) => ({ time, component: "alloy", kind: "read", message: "DescribeServices answer applied", polledAt });
  const decision = (time: number) => ({ time, component: "alloy", kind: "rollback", message: "rolling back to lgtm-alloy:1 (StopServiceDeployment ROLLBACK)" });
  const stop = (time: number): ProxyCall => ({ seq: 9, time, op: "StopServiceDeployment", services: ["lgtm-alloy"], input: {}, ordinals: {}, outcome: "forwarded", status: 200 });
  const ctx = (calls: ProxyCall[], events: object[]) => ({ o: { proxyCalls: calls, toolEvents: events, schedule: { api: {} } } }) as never;

  test("the first applied answer of a read that reached ECS after the event (a poll sent before it does not count)", () => {
    const calls = [read(1, 900, 905), read(2, 1_300, 1_310)];
    const events = [applied(910, 899), applied(1_320, 1_298)];
    assert.equal(knewAt(ctx(calls, events), "alloy", 1_000), 1_320);
    assert.equal(knewAt(ctx(calls, events.slice(0, 1)), "alloy", 1_000), undefined, "its answer never applied: not known");
  });

  test("a poll whose first attempt was throttled: the retried answer it applied counts", () => {
    const calls = [read(1, 1_300, 1_302, { status: 400, outcome: "throttle" }), read(2, 1_450, 1_460)];
    assert.equal(knewAt(ctx(calls, [applied(1_470, 1_298)]), "alloy", 1_000), 1_470);
  });

  test("decided before the answer was applied: not informed by it; after: informed", () => {
    const calls = [read(1, 1_300, 1_310)];
    const w = stop(1_330);
    const events = (d: number) => [applied(1_320, 1_298), decision(d)].sort((a, b) => a.time - b.time);
    assert.equal(knewBefore(ctx([...calls, w], events(1_315)), "alloy", w, 1_320), false);
    assert.equal(knewBefore(ctx([...calls, w], events(1_325)), "alloy", w, 1_320), true);
  });
});
