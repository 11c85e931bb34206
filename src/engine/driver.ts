/**
 * The release driver: runs one state machine per component (core/rollout.ts), performs their actions, and feeds the
 * results back as observations. It decides nothing about a release; it sequences I/O:
 *
 * - every call is asynchronous and bounded (per-call timeouts), so a hung or throttled call never holds the loop:
 *   deadlines (ticks), signals and other components go on meanwhile;
 * - one poll for all components: one DescribeServices per 10 services and one DescribeServiceDeployments per 20
 *   service deployments; stopped tasks are listed per component only when that component's counts changed;
 * - coordination between components: all task definitions are registered before any service is touched, --atomic
 *   turns one component's failure into a rollback of every other, and successes are final only when all are done;
 * - the record of every component is written before the first change and rewritten at every step that matters.
 */
import { randomUUID } from "node:crypto";
import type { ContainerDefinition, CreateServiceCommandInput, RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import type { AwsClients } from "../adapters/aws.js";
import type { Clock } from "../adapters/clock.js";
import * as ecs from "../adapters/ecs.js";
import type { ComponentName } from "../core/catalogue.js";
import { LOOK_WAIT_MS, initialState, isDone, step, type Action, type Observation, type Spec, type State } from "../core/rollout.js";
import type { ParsedTag } from "../core/tag.js";
import type { Emit } from "./progress.js";
import { writeRecord, type RecordStatus, type ReleaseRecord } from "./record.js";
import { buildRecord, failureReport, interruptedOutcome, type RecordContext } from "./report.js";
import { CALL_TIMEOUT_MS, MUTATION_TIMEOUT_MS, ROLLBACK_CALL_TIMEOUT_MS, callFor, type Call } from "./calls.js";
import { Poller, type Watched } from "./poller.js";
import { FailureLogs } from "./failure-logs.js";
import { ReleaseAnnotations } from "./annotations.js";
import type { Annotator } from "../adapters/grafana.js";

export interface ComponentPlan {
  component: ComponentName;
  spec: Spec;
  /** deploy: the task definition to register. */
  register?: RegisterTaskDefinitionCommandInput;
  /** --create-missing for a service that does not exist. */
  create?: CreateServiceCommandInput;
  image: string | null;
  digest: string | null;
  tag: ParsedTag | null;
  recordPath: string;
  /** Names of the essential containers of the revision rolled out (helps the classifier find the crash). */
  essentialContainers?: string[];
  /** The container definitions of the revision rolled out (where its failed tasks log); deploy: register's. */
  containerDefinitions?: ContainerDefinition[];
}

export interface EngineOptions {
  command: "deploy" | "rollback";
  environment: string;
  cluster: string;
  clients: AwsClients;
  clock: Clock;
  /** First SIGINT/SIGTERM: roll back (or leave), watch for the abort grace, write the records, exit. */
  signal: AbortSignal;
  /** Second signal: write the records now (synchronously); the process exits right after. */
  hardStop?: AbortSignal;
  emit: Emit;
  pollMs: number;
  atomic: boolean;
  reason?: string;
  triggeredBy?: string;
  /** --log-lines: the failed tasks' last log lines in the report and record (0 or absent: off, no call). */
  logLines?: number;
  /** The region of the Logs client (the environment's). */
  region?: string;
  /** --annotate: Grafana release annotations (absent: off). */
  annotator?: Annotator;
}

export interface ComponentOutcome {
  component: ComponentName;
  exitCode: number;
  record: ReleaseRecord;
}

interface Run extends Watched {
  peersTold: boolean;
  /** The newest poll whose answer was applied (for the events file's "read" trace). */
  lastRead?: number;
}

export async function runRelease(plans: readonly ComponentPlan[], o: EngineOptions): Promise<ComponentOutcome[]> {
  return new Driver(plans, o).run();
}

class Driver {
  private readonly runs: Run[];
  private readonly ctx: RecordContext;
  private queue: Array<{ run: Run; obs: Observation }> = [];
  private wake = new AbortController();
  private wakeQueued = false;
  private readonly pending = new Set<Promise<unknown>>();
  private checks: Run[] = [];
  private checking = false;
  private goSent = false;
  private readonly poller: Poller;
  private readonly logs: FailureLogs;
  private readonly annotations: ReleaseAnnotations;

  constructor(plans: readonly ComponentPlan[], private readonly o: EngineOptions) {
    this.runs = plans.map((plan) => ({ plan, state: initialState(), listing: false, peersTold: false, updatedAt: 0, lookups: 0 }));
    this.ctx = { runId: randomUUID(), command: o.command, environment: o.environment, cluster: o.cluster, reason: o.reason, triggeredBy: o.triggeredBy, startedAt: o.clock.now() };
    this.logs = new FailureLogs({ client: o.clients.logs, lines: o.logLines ?? 0, region: o.region ?? "", ...(o.hardStop ? { signal: o.hardStop } : {}) });
    this.poller = new Poller(this.runs, { clients: o.clients, cluster: o.cluster, pollMs: o.pollMs, now: () => this.now(), post: (r, obs) => this.post(r as Run, obs), wake: () => this.wakeAfterIo(), say: (r, level, kind, message) => this.say(r as Run, level, kind, message) });
    this.annotations = new ReleaseAnnotations(o.annotator, { command: o.command, environment: o.environment, triggeredBy: o.triggeredBy, reason: o.reason, components: plans.map((p) => p.component), warn: (component, message) => o.emit({ component, phase: "summary", kind: "annotation", level: "warn", message }) });
  }

  async run(): Promise<ComponentOutcome[]> {
    for (const r of this.runs) this.write(r, "in-progress");
    const onAbort = () => this.broadcast({ kind: "abort", now: this.o.clock.now() });
    const onHardStop = () => this.hardStop();
    this.o.signal.addEventListener("abort", onAbort, { once: true });
    this.o.hardStop?.addEventListener("abort", onHardStop, { once: true });
    try {
      // Already aborted (a signal during the plan): nothing may start.
      if (this.o.signal.aborted) onAbort();
      this.broadcast({ kind: "start", now: this.o.clock.now() });
      for (;;) {
        this.drain();
        this.coordinate();
        if (this.runs.every((r) => isDone(r.state))) break;
        this.startChecks();
        this.poller.start();
        await this.o.clock.sleep(this.delay(), this.wakeSignal());
        const now = this.o.clock.now();
        for (const r of this.runs) this.apply(r, { kind: "tick", now });
      }
      // No read of this run may reach ECS after it returns: what is still out gives up now.
      await this.poller.stop();
      // After an abort, Jenkins kills the process 5 s after its SIGTERM: the rest must fit in what is left.
      const aborted = this.o.signal.aborted;
      // Log reads and Grafana requests settle alongside the wait and the last look: no time beyond them at worst.
      const extras = this.settleExtras(aborted);
      // Outcome tags and restored settings are best effort, but given a moment to land before the process exits.
      await Promise.race([Promise.allSettled([...this.pending]), this.o.clock.sleep(aborted ? 300 : 1_000)]);
      this.drain();
      // The last look comes last, right before the records are written: they say the state the service is in then
      // (a rollback that completed during the wait above is not reported as "nothing").
      await this.finalLook(1_000);
      await extras;
      return this.outcomes();
    } finally {
      this.o.signal.removeEventListener("abort", onAbort);
      this.o.hardStop?.removeEventListener("abort", onHardStop);
    }
  }

  /** One last DescribeServices for the components that need attention, so their report says the state they are in. */
  private async finalLook(timeoutMs: number): Promise<void> {
    const runs = this.runs.filter((r) => (r.state.outcome?.exitCode ?? 0) === 4 && r.state.changed);
    if (runs.length === 0) return;
    try {
      const services = await ecs.describeServices(this.o.clients.ecsWrites, this.o.cluster, runs.map((r) => r.plan.spec.service), { timeoutMs });
      for (const r of runs) {
        const service = services.get(r.plan.spec.service);
        if (service) this.apply(r, { kind: "service-now", now: this.now(), service });
      }
    } catch {
      // The report keeps the last state seen.
    }
  }

  private post(run: Run, obs: Observation): void {
    this.queue.push({ run, obs });
    this.wakeAfterIo();
  }

  /**
   * Wakes the loop once this turn's I/O callbacks have run (setImmediate), not in the middle of them: answers that
   * arrived together are then judged together, the newest read first (nextToApply). Woken at once, the loop acted on a
   * listing's failures while the read showing ECS's own rollback, answered in the same millisecond, still sat unread
   * in its socket (issue #10, I6; seed 31337 #184). The cost is under a millisecond.
   */
  private wakeAfterIo(): void {
    if (this.wakeQueued) return;
    this.wakeQueued = true;
    setImmediate(() => {
      this.wakeQueued = false;
      this.wake.abort();
    });
  }

  private broadcast(obs: Observation): void {
    for (const r of this.runs) this.post(r, obs);
  }

  private wakeSignal(): AbortSignal {
    if (this.queue.length === 0 && this.wake.signal.aborted) this.wake = new AbortController();
    return this.wake.signal;
  }

  private drain(): void {
    while (this.queue.length > 0) {
      const { run, obs } = this.queue.splice(nextToApply(this.queue), 1)[0]!;
      this.apply(run, obs);
    }
  }

  private apply(run: Run, obs: Observation): void {
    if (obs.kind === "snapshot" && obs.listing === "skipped" && obs.polledAt !== undefined && obs.polledAt > (run.lastRead ?? Number.NEGATIVE_INFINITY)) {
      // When each poll's answer reached the engine (--events-file only): what the tool knew, and from when.
      run.lastRead = obs.polledAt;
      this.o.emit({ component: run.plan.component, phase: run.state.phase, kind: "read", level: "debug", message: "DescribeServices answer applied", data: { polledAt: new Date(obs.polledAt).toISOString() } });
    }
    const { state, actions } = step(run.state, obs, run.plan.spec);
    run.state = state;
    for (const a of actions) this.perform(run, a);
    // After the actions: a rollback call is out (and answered) before any log is read.
    this.logs.consider(run.plan.component, run.state, run.plan.containerDefinitions ?? run.plan.register?.containerDefinitions);
    this.annotations.observe(run.plan.component, run.state, this.now());
  }

  /**
   * Before the report: the log reads and Grafana requests still out get a bounded moment, no longer than the last
   * look and the outcome tags already take (less after an abort: Jenkins kills the process 5 s after its SIGTERM).
   * Both have run in the background since they were started; what has not answered by then is said in the record.
   */
  private async settleExtras(aborted: boolean): Promise<void> {
    this.annotations.flush();
    const sleep = (ms: number) => this.o.clock.sleep(ms);
    const bound = aborted ? 500 : 2_500;
    await Promise.all([this.logs.settle(sleep, bound), this.annotations.settle(sleep, bound)]);
  }

  /** Between components: the registration barrier, --atomic, and the end of a release where all succeeded. */
  private coordinate(): void {
    const now = this.o.clock.now();
    if (!this.goSent && this.runs.every((r) => r.state.phase === "ready" || isDone(r.state))) {
      this.goSent = true;
      const refused = this.runs.find((r) => isDone(r.state) && !r.state.changed && r.state.outcome?.verdict === "not-started");
      for (const r of this.runs.filter((x) => x.state.phase === "ready")) {
        if (refused) this.post(r, { kind: "cancel", now, message: `not started: ${refused.plan.component} was stopped before any service was changed`, exitCode: refused.state.outcome!.exitCode });
        else this.post(r, { kind: "go", now });
      }
    }
    if (this.o.atomic) {
      for (const failing of this.runs.filter((r) => !r.peersTold && failingRun(r.state))) {
        failing.peersTold = true;
        for (const other of this.runs.filter((r) => r !== failing && !isDone(r.state))) this.post(other, { kind: "peer-failed", now, peer: failing.plan.component });
      }
    }
    // Released components stay watched until every component is released or done (one may regress meanwhile).
    if (this.runs.every((r) => r.state.phase === "released" || isDone(r.state)) && this.runs.some((r) => r.state.phase === "released")) {
      for (const r of this.runs.filter((x) => x.state.phase === "released")) this.post(r, { kind: "finish", now });
    }
  }

  private delay(): number {
    const now = this.o.clock.now();
    const times: number[] = [now + 1000];
    const due = this.poller.dueAt();
    if (due !== undefined) times.push(due);
    for (const r of this.runs) {
      const s = r.state;
      if (s.retry) times.push(s.retry.at);
      if (s.deadline !== null) times.push(s.deadline);
      if (s.abortDeadline !== null) times.push(s.abortDeadline);
      if (s.stopRefusedAt !== null) times.push(s.stopRefusedAt + LOOK_WAIT_MS);
    }
    return Math.max(0, Math.min(...times) - now);
  }

  private perform(run: Run, a: Action): void {
    if (a.kind === "emit") return this.o.emit({ component: run.plan.component, phase: run.state.phase, kind: a.event, message: a.message, level: a.level, ...(a.data ? { data: a.data } : {}) });
    if (a.kind === "record") return this.write(run, "in-progress");
    if (a.kind === "check") {
      this.checks.push(run);
      return;
    }
    if (a.kind === "tag") return this.tag(run, a.taskDefinitionArn, a.outcome);
    if (a.kind === "look") return this.poller.look();
    if (a.kind === "update" || a.kind === "update-rollback") {
      run.updatedAt = this.now();
      run.lookups = 0;
    }
    if (a.kind === "update") this.annotations.begin({ component: run.plan.component, version: run.plan.tag?.version ?? null, tag: run.plan.tag?.tag ?? null, digest: run.plan.digest }, this.now());
    const seenTasks = new Set(run.state.stoppedTasks.map((t) => t.taskArn));
    const call = callFor(a, run.plan, { clients: this.o.clients, cluster: this.o.cluster, now: () => this.now(), rollbackTimeoutMs: this.rollbackCallTimeout(run, a), mutationTimeoutMs: this.mutationTimeout(run), seenTasks, readSignal: this.poller.signal });
    this.track(run, a.kind === "list-release-tasks" ? this.poller.track(call.run) : call.run, call.ok, call.fail);
  }

  /** Best effort: the revision's outcome as a tag, where `rollback --to previous` finds it. */
  private tag(run: Run, taskDefinitionArn: string, outcome: string): void {
    const tags = { "lgtm:outcome": outcome, "lgtm:outcome-at": new Date(this.now()).toISOString() };
    const p = ecs.tagResource(this.o.clients.ecsWrites, taskDefinitionArn, tags, { timeoutMs: 5_000 }).catch((error) => {
      this.o.emit({ component: run.plan.component, phase: "done", kind: "tag", level: "warn", message: `could not tag ${taskDefinitionArn} with its outcome (${ecs.callError(error).name}); rollback --to previous may not skip it` });
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private now(): number {
    return this.o.clock.now();
  }

  /**
   * Each rollback attempt is short (the SDK retries inside it); the machine retries attempts until the deadline.
   * StopServiceDeployment gets half of what is left: when it fails, its fallback (a look, then UpdateService) still
   * has time before --rollback-timeout (a 5xx outage whose SDK retries outlast the whole deadline did not).
   */
  private rollbackCallTimeout(run: Run, a: Action): number {
    const left = (run.state.deadline ?? this.now() + ROLLBACK_CALL_TIMEOUT_MS) - this.now();
    return Math.max(500, Math.min(ROLLBACK_CALL_TIMEOUT_MS, a.kind === "stop-deployment" ? left / 2 : left));
  }

  /** A change call may not outlive --timeout by much: past it, the machine decides (an unanswered UpdateService is rolled back). */
  private mutationTimeout(run: Run): number {
    const left = (run.state.deadline ?? this.now() + MUTATION_TIMEOUT_MS) - this.now();
    return Math.max(2_000, Math.min(MUTATION_TIMEOUT_MS, left));
  }

  private track(run: Run, call: Promise<unknown>, ok: Call["ok"], fail: Call["fail"]): void {
    const deliver = (obs: Observation | undefined) => obs && this.post(run, obs);
    const p = call.then(
      (v) => deliver(ok(v as never)),
      (error: unknown) => deliver(fail(ecs.callError(error))),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** The re-check right before UpdateService: one DescribeServices for every component that is ready. */
  private startChecks(): void {
    if (this.checking || this.checks.length === 0) return;
    const batch = this.checks;
    this.checks = [];
    this.checking = true;
    const names = batch.map((r) => r.plan.spec.service);
    const p = this.poller
      .track(ecs.describeServices(this.o.clients.ecs, this.o.cluster, names, { timeoutMs: CALL_TIMEOUT_MS, signal: this.poller.signal }))
      .then(
        (services) => batch.forEach((r) => this.post(r, { kind: "checked", now: this.now(), service: services.get(r.plan.spec.service) })),
        (error: unknown) => batch.forEach((r) => this.post(r, { kind: "check-failed", now: this.now(), error: ecs.callError(error) })),
      )
      .finally(() => {
        this.checking = false;
        this.wakeAfterIo();
      });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private say(r: Run, level: "info" | "warn", kind: string, message: string): void {
    this.o.emit({ component: r.plan.component, phase: r.state.phase, kind, message, level });
  }

  private record(r: Run, status: RecordStatus, stateOverride?: State): ReleaseRecord {
    const s = stateOverride ?? r.state;
    const subject = { component: r.plan.component, service: r.plan.spec.service, image: r.plan.image, digest: r.plan.digest, tag: r.plan.tag };
    const withLogs = { ...s, stoppedTasks: this.logs.merge(r.plan.component, s.stoppedTasks, status !== "in-progress") };
    return { ...buildRecord(withLogs, subject, this.ctx, this.now(), status, this.o.clients.counter.snapshot()), annotation: this.annotations.record(r.plan.component) };
  }

  private write(r: Run, status: RecordStatus, stateOverride?: State): void {
    try {
      writeRecord(r.plan.recordPath, this.record(r, status, stateOverride));
    } catch (error) {
      this.say(r, "warn", "record", `could not write the record ${r.plan.recordPath}: ${(error as Error).message}`);
    }
  }

  /** Second signal: every record now, synchronously, saying where each component was caught. */
  private hardStop(): void {
    for (const r of this.runs) {
      if (isDone(r.state)) this.write(r, "finished", this.final(r));
      else this.write(r, "interrupted", { ...r.state, outcome: interruptedOutcome(r.state) });
    }
  }

  /** A component never changed while others were: its previous version serves, the release as a whole failed. */
  private final(r: Run): State {
    const s = r.state;
    const others = this.runs.some((x) => x.state.changed);
    if (s.outcome?.verdict === "not-started" && others && (s.outcome.exitCode === 2 || s.outcome.exitCode === 5)) {
      return { ...s, outcome: { ...s.outcome, exitCode: 3, message: `${s.outcome.message} (other components were changed; this one still runs ${s.previous ?? "its previous revision"})` } };
    }
    return s;
  }

  private outcomes(): ComponentOutcome[] {
    return this.runs.map((r) => {
      const decided = this.final(r);
      const s = { ...decided, stoppedTasks: this.logs.merge(r.plan.component, decided.stoppedTasks, true) };
      if (s.outcome && s.outcome.exitCode !== 0) for (const line of failureReport(s)) this.o.emit({ component: r.plan.component, phase: "summary", kind: "report", message: line, level: "error" });
      const record = this.record(r, "finished", s);
      try {
        writeRecord(r.plan.recordPath, record);
      } catch (error) {
        this.say(r, "warn", "record", `could not write the record ${r.plan.recordPath}: ${(error as Error).message}`);
      }
      return { component: r.plan.component, exitCode: s.outcome!.exitCode, record };
    });
  }
}

/** A component whose failure must, with --atomic, roll back the others. */
function failingRun(s: State): boolean {
  if (s.phase === "rolling-back" || s.phase === "rollback-watching" || s.phase === "rollback-baking") return true;
  return isDone(s) && s.outcome !== null && s.outcome.verdict !== "succeeded";
}

/**
 * Which queued observation to apply next: the oldest, except that a newer read of the same component waiting behind it
 * goes first. What ECS shows now (its breaker rolling back, another client's deployment) is then known before an older
 * read's stopped tasks are judged; those still count, as facts (issue #10, I6).
 */
export function nextToApply(queue: readonly { run: unknown; obs: Observation }[]): number {
  const head = queue[0];
  if (head === undefined || head.obs.kind !== "snapshot") return 0;
  const polledAt = (obs: Observation): number => (obs.kind === "snapshot" ? (obs.polledAt ?? obs.now) : Number.NEGATIVE_INFINITY);
  let best = 0;
  for (let i = 1; i < queue.length; i++) if (queue[i]!.run === head.run && polledAt(queue[i]!.obs) > polledAt(queue[best]!.obs)) best = i;
  return best;
}
