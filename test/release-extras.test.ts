/**
 * The driver's two report helpers on their own: when failed tasks' logs may be read (never before a rollback is under
 * way), the per-component budget, and one Grafana annotation per component, deferred while Grafana is released.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import type { Annotator, ReleaseAnnotation, ReleaseInfo, ReleaseOutcome } from "../src/adapters/grafana.js";
import { initialState, type State } from "../src/core/rollout.js";
import type { StoppedTask } from "../src/core/verdict.js";
import { ReleaseAnnotations, outcomeOf } from "../src/engine/annotations.js";
import { FailureLogs, mayReadLogs } from "../src/engine/failure-logs.js";

const defs: ContainerDefinition[] = [{ name: "loki", essential: true, logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/lgtm/loki", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "loki" } } }];
const task = (id: string, failed = true): StoppedTask => ({ taskArn: `arn:aws:ecs:us-east-1:0:task/lgtm/${id}`, taskId: id, containers: [{ name: "loki", exitCode: 1 }], failed, classification: { kind: failed ? "deterministic" : "none", summary: "crashed" } as StoppedTask["classification"] });
const state = (over: Partial<State>): State => ({ ...initialState(), ...over });
const ROLLBACK = { id: null, arn: null, by: "lgtm-deploy" as const, via: "stop-deployment" as const };

function fakeLogs() {
  const streams: string[] = [];
  const client = { send: async (cmd: { input: { logStreamName: string } }) => (streams.push(cmd.input.logStreamName), { events: [{ timestamp: 1, message: `panic in ${cmd.input.logStreamName}` }] }) } as unknown as CloudWatchLogsClient;
  return { client, streams };
}

describe("failed tasks' logs: when and how many", () => {
  it("never while the release is watched, even with failed tasks; once a rollback is under way or the component failed without one", () => {
    const failed = [task("a")];
    assert.equal(mayReadLogs(state({ phase: "watching", stoppedTasks: failed })), false);
    assert.equal(mayReadLogs(state({ phase: "rolling-back", stoppedTasks: failed })), false, "the rollback call has not been answered yet");
    assert.equal(mayReadLogs(state({ phase: "rollback-watching", rollback: ROLLBACK, stoppedTasks: failed })), true);
    assert.equal(mayReadLogs(state({ phase: "done", outcome: { verdict: "failed", exitCode: 4, message: "x" } })), true);
    assert.equal(mayReadLogs(state({ phase: "done", outcome: { verdict: "succeeded", exitCode: 0, message: "x" } })), false);
    assert.equal(mayReadLogs(state({ phase: "done", outcome: { verdict: "not-started", exitCode: 5, message: "x" } })), false);
  });

  it("at most 3 tasks per component over the run (newest first seen), only failed ones; lines merged into the tasks", async () => {
    const { client, streams } = fakeLogs();
    const logs = new FailureLogs({ client, lines: 5, region: "us-east-1" });
    logs.consider("loki", state({ phase: "watching", stoppedTasks: [task("a")] }), defs);
    assert.deepEqual(streams, [], "nothing before the rollback");
    const tasks = [task("a"), task("b"), task("c", false), task("d"), task("e")];
    logs.consider("loki", state({ phase: "rollback-watching", rollback: ROLLBACK, stoppedTasks: tasks }), defs);
    logs.consider("loki", state({ phase: "rollback-watching", rollback: ROLLBACK, stoppedTasks: [...tasks, task("f")] }), defs);
    await logs.settle((ms) => new Promise((r) => setTimeout(r, ms)), 1_000);
    assert.deepEqual(streams, ["loki/loki/b", "loki/loki/d", "loki/loki/e"]);
    const merged = logs.merge("loki", [...tasks, task("f")], true);
    assert.deepEqual(merged.filter((t) => t.logLines !== undefined).map((t) => [t.taskId, t.logLines]), [["b", ["panic in loki/loki/b"]], ["d", ["panic in loki/loki/d"]], ["e", ["panic in loki/loki/e"]]]);
    assert.equal(merged.find((t) => t.taskId === "f")!.logLines, undefined);
  });

  it("--log-lines 0 makes no call; a read still out when the report is written says so in one line", async () => {
    const off = fakeLogs();
    const none = new FailureLogs({ client: off.client, lines: 0, region: "us-east-1" });
    none.consider("loki", state({ phase: "rollback-watching", rollback: ROLLBACK, stoppedTasks: [task("a")] }), defs);
    assert.deepEqual(off.streams, []);
    const hanging = { send: () => new Promise(() => {}) } as unknown as CloudWatchLogsClient;
    const stop = new AbortController();
    const slow = new FailureLogs({ client: hanging, lines: 5, region: "us-east-1", timeoutMs: 60_000, signal: stop.signal });
    slow.consider("loki", state({ phase: "rollback-watching", rollback: ROLLBACK, stoppedTasks: [task("a")] }), defs);
    const t0 = Date.now();
    await slow.settle((ms) => new Promise((r) => setTimeout(r, ms)), 50);
    assert.ok(Date.now() - t0 < 1_000, "settle is bounded by its own wait, not the call's timeout");
    assert.match(slow.merge("loki", [task("a")], true)[0]!.logNote ?? "", /^logs unavailable: CloudWatch Logs had not answered when the report was written$/);
    stop.abort(); // the second signal's abort ends the read (and its timer) at once
    await slow.settle((ms) => new Promise((r) => setTimeout(r, ms)), 1_000);
    assert.match(slow.merge("loki", [task("a")], true)[0]!.logNote ?? "", /^logs unavailable: aborted before CloudWatch Logs answered/);
  });
});

function fakeAnnotator() {
  const log: string[] = [];
  const handle = (info: ReleaseInfo, how: string): ReleaseAnnotation => {
    log.push(`${how} ${info.component}`);
    return { posted: Promise.resolve(1), finish: async (o: ReleaseOutcome) => (log.push(`finish ${info.component} ${o}`), { id: 1, state: "closed", outcome: o }), record: () => ({ id: 1, state: "open" }) };
  };
  const annotator: Annotator = { start: (i) => handle(i, "start"), defer: (i) => handle(i, "defer"), flush: async () => void log.push("flush"), settle: async () => {} };
  return { annotator, log };
}

describe("one annotation per component", () => {
  const subject = (component: string) => ({ component, version: "1.0.0", tag: "1.0.0_gabc", digest: null });
  const done = (verdict: "succeeded" | "rolled-back" | "failed") => state({ phase: "done", outcome: { verdict, exitCode: 0, message: "" } });

  it("started when the service is first changed, finished once with the outcome; a component never changed has none", () => {
    const { annotator, log } = fakeAnnotator();
    const a = new ReleaseAnnotations(annotator, { command: "deploy", environment: "prod", components: ["loki", "tempo"] });
    a.begin(subject("loki"), 1);
    a.begin(subject("loki"), 2);
    a.observe("loki", done("rolled-back"), 3);
    a.observe("loki", done("rolled-back"), 4);
    a.observe("tempo", done("failed"), 4);
    assert.deepEqual(log, ["start loki", "finish loki rolled-back"]);
    assert.deepEqual(a.record("tempo"), { id: null, state: "off" });
    assert.deepEqual([outcomeOf("succeeded"), outcomeOf("rolled-back"), outcomeOf("failed"), outcomeOf("not-started")], ["released", "rolled-back", "failed", "failed"]);
  });

  it("grafana in the release: starts are deferred until grafana is released, flushed once, later starts go at once", () => {
    const { annotator, log } = fakeAnnotator();
    const a = new ReleaseAnnotations(annotator, { command: "deploy", environment: "prod", components: ["grafana", "loki", "tempo"] });
    a.begin(subject("grafana"), 1);
    a.begin(subject("loki"), 1);
    a.observe("grafana", state({ phase: "baking" }), 2);
    assert.deepEqual(log, ["defer grafana", "defer loki"]);
    a.observe("grafana", state({ phase: "released" }), 3);
    a.begin(subject("tempo"), 4);
    a.observe("grafana", done("succeeded"), 5);
    a.flush();
    assert.deepEqual(log, ["defer grafana", "defer loki", "flush", "start tempo", "finish grafana released"]);
  });

  it("settle is bounded: a Grafana that never answers the close costs the bound and one line, then the records are written", async () => {
    const lines: string[] = [];
    const stuck: ReleaseAnnotation = { posted: Promise.resolve(7), finish: () => new Promise(() => {}), record: () => ({ id: 7, state: "open" }) };
    const annotator: Annotator = { start: () => stuck, defer: () => stuck, flush: async () => {}, settle: () => new Promise(() => {}) };
    const a = new ReleaseAnnotations(annotator, { command: "deploy", environment: "prod", components: ["loki"], warn: (c, l) => lines.push(`${c}: ${l}`) });
    a.begin(subject("loki"), 1);
    a.observe("loki", done("succeeded"), 2);
    const t0 = Date.now();
    await a.settle((ms) => new Promise((r) => setTimeout(r, ms)), 100);
    assert.ok(Date.now() - t0 < 1_000);
    assert.deepEqual(lines, ["loki: grafana annotation (loki prod) not confirmed: Grafana had not answered within 0.1s when the record was written (state open); the release goes on without it"]);
    assert.deepEqual(a.record("loki"), { id: 7, state: "open" });
  });
});
