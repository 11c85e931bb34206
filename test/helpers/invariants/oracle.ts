/**
 * The oracle: the exit code and the records of one run, checked against the emulator's ground truth and the
 * call logs, invariant by invariant (issue #10 I1–I7, README "Exit codes", "How a release works", and
 * docs/release-record.md). Each check names what it reads; docs/testing.md lists them.
 */
import { serviceName, type ComponentName } from "../../../src/core/catalogue.js";
import type { CallRecord } from "../../../src/emulator/index.js";
import type { Observation } from "./run.js";
import { received } from "./proxy.js";
import { checkLiveness, checkSixth, checkTiming, knewAt } from "./oracle-calls.js";
import { deadlineMs } from "./run.js";
import {
  breakerRollbacks,
  completedAt,
  failuresBetween,
  isFailedTask,
  ms,
  primaryOf,
  runningAt,
  serviceOf,
  shortTd,
  tasksOf,
  type EmuState,
} from "./state.js";

export type Invariant = "I1" | "I2" | "I3" | "I4" | "I5" | "I6" | "I7" | "REC" | "LIVE" | "ABORT" | "DESIRED";

export interface Violation {
  invariant: Invariant;
  component?: ComponentName;
  message: string;
}

/** Tolerance on the bake length: the emulator's tick and the recorder's timestamps. */
export const BAKE_TOLERANCE_MS = 60;

const SEVERITY = [0, 5, 2, 3, 1, 4];
const worst = (codes: number[]): number => codes.reduce((w, c) => (SEVERITY.indexOf(c) > SEVERITY.indexOf(w) ? c : w), 0);
/** docs/release-record.md: not-started is 3 when other components of the same run were changed. */
const VERDICT_CODES: Record<string, number[]> = { succeeded: [0], "rolled-back": [3], failed: [4], "not-started": [2, 5, 3] };
export const SERVICE_WRITES = new Set(["UpdateService", "CreateService", "DeleteService", "StopServiceDeployment"]);
const NEXT_STEP = /lgtm-deploy (rollback|status)|rollback --to|--to previous|re-?run|investigate|needs attention/i;

export function serviceOfCall(c: CallRecord): string {
  const i = c.input as any;
  const ref = String(i?.service ?? i?.serviceName ?? "");
  if (c.operation === "StopServiceDeployment") return String(i?.serviceDeploymentArn ?? "").split("/")[2] ?? "";
  return ref.split("/").pop() ?? "";
}

export const ts = (c: CallRecord): number => Date.parse(c.time);

export interface Context {
  o: Observation;
  /**
   * Per component: the revision(s) that may be the rollback target — the one serving when the tool's update
   * landed; both the baseline and the third party's when another client deployed in a race the tool could not see.
   */
  prev: Map<ComponentName, string[]>;
  /** Calls of the tool that reached the emulator (the harness's own third-party call removed). */
  toolCalls: CallRecord[];
  thirdPartySeq?: number;
  v: Violation[];
}

export function toolWrites(x: Context, c: ComponentName): CallRecord[] {
  return x.toolCalls.filter((k) => SERVICE_WRITES.has(k.operation) && k.status === 200 && serviceOfCall(k) === serviceName(c));
}

export function releaseUpdate(x: Context, c: ComponentName): CallRecord | undefined {
  return toolWrites(x, c).find((k) => k.operation === "UpdateService" || k.operation === "CreateService");
}

/** The ECS deployment the release's UpdateService created: the one whose tasks run the released revision. */
export function releaseDeploymentId(s: EmuState, c: ComponentName, td: string): string | undefined {
  const first = tasksOf(s, c)
    .filter((t) => t.taskDefinitionArn === td && t.startedBy)
    .sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0))[0];
  return first?.startedBy ?? serviceOf(s, c)?.deployments.find((d) => d.taskDefinition === td)?.id;
}

export function verdictTime(x: Context, rec: any): number {
  const f = Date.parse(rec?.finishedAt ?? "");
  return Number.isFinite(f) ? Math.min(Math.max(f, x.o.t0), x.o.tEnd) : x.o.tEnd;
}

/**
 * Failures up to this time must have been seen by the tool before its verdict: its last poll of the service
 * (ground truth then showed them), or 300 ms before the verdict if it did not poll at the end of its bake.
 */
export function seenBy(x: Context, c: ComponentName, tV: number): number {
  const polls = x.toolCalls.filter((k) => k.operation === "DescribeServices" && k.status === 200 && ts(k) <= tV && ((k.input as any)?.services ?? []).some((r: string) => r.split("/").pop() === serviceName(c)));
  const last = polls.length > 0 ? ts(polls[polls.length - 1]!) : x.o.t0;
  return Math.max(last, tV - 300);
}

export function add(x: Context, invariant: Invariant, component: ComponentName | undefined, message: string): void {
  x.v.push({ invariant, component, message });
}

/** Is the record this run's, not the stale one the harness left at the path? */
function ownRecord(x: Context, rec: any): string | undefined {
  if (rec === undefined) return "no record at the record path";
  if (rec.unreadable !== undefined) return "the record is not valid JSON (torn write?)";
  if (rec.runId === "stale-previous-run" || rec.tool?.version === "0.0.0-previous-run") return "the record is the previous run's (never replaced)";
  const started = Date.parse(rec.startedAt ?? "");
  if (!(started >= x.o.t0 - 2_000 && started <= x.o.tEnd + 1_000)) return `record startedAt ${rec.startedAt} is not within this run`;
  return undefined;
}

function checkRecords(x: Context): void {
  const { o } = x;
  const changed = x.toolCalls.some((k) => k.mutating && k.status === 200 && k.service === "ecs");
  const codes: number[] = [];
  for (const c of o.schedule.components) {
    const rec = o.records.get(c);
    const bad = ownRecord(x, rec);
    if (bad) {
      // I4 is about runs that changed something; a run killed before any change that leaves the previous run's file
      // breaks docs/release-record.md instead ("a killed process … never [leaves] an older run's file").
      if (changed || !o.killed) add(x, "I4", c, `${changed ? "after a change" : "preflight stop"}: ${bad} (exit ${o.exitCode})`);
      else add(x, "REC", c, `killed by Jenkins' SIGKILL before any change: ${bad}`);
      continue;
    }
    if (rec.component !== c || rec.command !== "deploy") add(x, "REC", c, `record is for ${rec.command} ${rec.component}`);
    // Documented since the engine rewrite: a finished run's record says so (status, and the null/inProgress pair).
    if ("status" in rec && rec.status !== "finished") add(x, "REC", c, `the run ended (exit ${o.exitCode}) but the record's status is ${rec.status}`);
    if ("runId" in rec && (typeof rec.runId !== "string" || rec.runId === "")) add(x, "REC", c, "the record has no runId");
    const allowed = VERDICT_CODES[rec.verdict];
    if (!allowed || !allowed.includes(rec.exitCode)) add(x, "REC", c, `verdict ${rec.verdict} with exitCode ${rec.exitCode}`);
    codes.push(rec.exitCode);
    const early = o.earlyRecords?.get(c);
    if (o.earlyRecords && releaseUpdate(x, c) && ownRecord(x, early)) {
      add(x, "I4", c, `while the watch ran, the record path held ${ownRecord(x, early)} (not written early as in-progress)`);
    } else if (o.earlyRecords && releaseUpdate(x, c) && early && "status" in early && early.status !== "in-progress") {
      add(x, "REC", c, `while the watch ran, the record's status was ${early.status}, not in-progress`);
    }
  }
  if (o.exitCode !== 1 && codes.length === o.schedule.components.length && worst(codes) !== o.exitCode) {
    add(x, "REC", undefined, `exit ${o.exitCode} but the records' worst exit code is ${worst(codes)} (${codes.join(",")})`);
  }
}

function checkSucceeded(x: Context, c: ComponentName, rec: any): void {
  const { o } = x;
  const up = releaseUpdate(x, c);
  if (!up) return add(x, "I1", c, "verdict succeeded but the tool never updated the service");
  const td = (up.input as any).taskDefinition as string;
  if (rec.taskDefinition?.new !== td) add(x, "REC", c, `taskDefinition.new ${shortTd(rec.taskDefinition?.new)} but the release deployed ${shortTd(td)}`);
  const svc = serviceOf(o.stateEnd, c);
  const p = svc && primaryOf(svc);
  if (!svc || !p) return add(x, "I1", c, "no service/PRIMARY after the run");
  const tV = verdictTime(x, rec);
  const dep = releaseDeploymentId(o.stateLater, c, td);
  const cAt = dep ? completedAt(o.events, c, dep) : undefined;
  // Another client that deploys after this component's bake could have ended acts after its verdict (the record's
  // finishedAt is the whole command's): the state at the end is then not the tool's claim.
  const tp = o.thirdParty;
  const replacedLater = tp?.applied === true && tp.component === c && cAt !== undefined && tp.sentAt >= cAt + o.schedule.flags.bakeMs;
  if (!replacedLater) {
    if (p.taskDefinition !== td) return add(x, "I1", c, `exit/verdict success but PRIMARY is ${shortTd(p.taskDefinition)}, not the new ${shortTd(td)}`);
    if (p.rolloutState !== "COMPLETED" || svc.deployments.length !== 1) add(x, "I1", c, `new revision not the only COMPLETED deployment: ${svc.deployments.map((d) => `${d.status}/${d.rolloutState}`).join(",")}`);
    if (!(p.desiredCount > 0)) add(x, "I1", c, `desired count ${p.desiredCount}: nothing verified`);
  }
  if (cAt === undefined || cAt > tV) return add(x, "I1", c, `ECS had not declared the release deployment ${dep} COMPLETED by the verdict`);
  if (tV - cAt < o.schedule.flags.bakeMs - BAKE_TOLERANCE_MS) add(x, "I1", c, `verdict ${tV - cAt} ms after COMPLETED, bake is ${o.schedule.flags.bakeMs} ms`);
  // The bake window: from COMPLETED for --bake, as far as the tool could have seen it before its verdict. With the
  // emulator's eventual consistency on, a read shows the state as it was up to lagMs earlier (random age: a read at
  // the bake's end may predate a failure): the tool can be held only to what was visible lagMs before its last look,
  // as I3 does (seed 1850898678 #181: lagMs 1500 on every read, a failure 233 ms into a 437 ms bake).
  const lag = o.schedule.api.consistency?.lagMs ?? 0;
  const seenEnd = Math.min(cAt + o.schedule.flags.bakeMs, seenBy(x, c, tV));
  const bakeEnd = lag > 0 ? Math.max(cAt, seenEnd - lag) : seenEnd;
  const late = failuresBetween(o.stateLater, c, td, cAt, bakeEnd);
  if (late.length > 0) add(x, "I1", c, `${late.length} task(s) of the new revision failed in the bake window (${late.map((t) => `${t.stopCode}@+${Math.round((t.stoppedAt ?? 0) * 1000 - cAt)}ms`).join(", ")})`);
  const early = failuresBetween(o.stateLater, c, td, o.t0, cAt);
  if (early.length >= o.schedule.flags.maxFailedTasks) add(x, "I1", c, `${early.length} failed task(s) during the rollout, limit --max-failed-tasks ${o.schedule.flags.maxFailedTasks}`);
  const running = runningAt(o.stateLater, c, td, bakeEnd);
  // AWS maintenance (retirement, AZ rebalancing) may stop a task before its replacement runs (minimum healthy 0 %):
  // not a failure, so a short count then is not held against the release.
  const maintenance = tasksOf(o.stateLater, c).some((t) => t.taskDefinitionArn === td && t.stopCode === "ServiceSchedulerInitiated" && !isFailedTask(t) && (ms(t.stoppingAt) ?? ms(t.stoppedAt) ?? 0) >= cAt && (ms(t.stoppingAt) ?? 0) <= bakeEnd);
  if (running < p.desiredCount && !maintenance) add(x, "I1", c, `${running}/${p.desiredCount} tasks of the new revision running at the end of the bake`);
  const auto = o.schedule.autoscaled;
  if (auto?.component === c && p.desiredCount !== o.baseline.get(c)!.desiredCount) {
    add(x, "DESIRED", c, `the service's autoscaled desired count ${o.baseline.get(c)!.desiredCount} was reset to ${p.desiredCount}`);
  }
}

function checkRolledBack(x: Context, c: ComponentName, rec: any): void {
  const { o } = x;
  const base = o.baseline.get(c)!;
  const options = x.prev.get(c)!;
  const prev = options.includes(rec.taskDefinition?.previous) ? (rec.taskDefinition.previous as string) : options[0]!;
  if (!options.includes(rec.taskDefinition?.previous)) add(x, "REC", c, `taskDefinition.previous ${shortTd(rec.taskDefinition?.previous)}, but ${options.map(shortTd).join(" or ")} was serving`);
  const by = rec.deployments?.rollbackBy;
  if ((by === "ecs-circuit-breaker" || by === "ecs-alarm" || by === "ecs") && breakerRollbacks(o.stateLater, o.events, c).length === 0) {
    add(x, "I7", c, `record says ECS rolled back (${by}), but ECS never started a rollback (a stale read taken for one?)`);
  }
  if (by === "someone-else" && !(o.thirdParty?.applied && o.thirdParty.component === c)) add(x, "REC", c, "record says someone else rolled back, but nobody else touched the service");
  if (rec.taskDefinition?.rolledBackTo !== prev) add(x, "I2", c, `verdict rolled-back but rolledBackTo is ${shortTd(rec.taskDefinition?.rolledBackTo)}`);
  // Another client that deploys after the rollback was through its bake acts after this component's verdict (the
  // record's finishedAt is the whole command's): the state at the end is then not the tool's claim (as in I1).
  const tp = o.thirdParty;
  const rbAt = typeof rec.deployments?.rollback === "string" ? completedAt(o.events, c, rec.deployments.rollback) : undefined;
  if (tp?.applied === true && tp.component === c && rbAt !== undefined && tp.sentAt >= rbAt + o.schedule.flags.bakeMs) {
    const early = failuresBetween(o.stateLater, c, prev, rbAt, rbAt + o.schedule.flags.bakeMs);
    if (early.length > 0) add(x, "I2", c, `${early.length} task(s) of the previous revision failed in the rollback's bake window`);
    return;
  }
  const svc = serviceOf(o.stateEnd, c);
  const p = svc && primaryOf(svc);
  if (!svc || !p) return add(x, "I2", c, "no service/PRIMARY after the run");
  if (p.taskDefinition !== prev) return add(x, "I2", c, `verdict rolled-back but PRIMARY is ${shortTd(p.taskDefinition)} (${p.rolloutState}), not the previous ${shortTd(prev)}`);
  if (p.rolloutState !== "COMPLETED" || svc.deployments.length !== 1) add(x, "I2", c, `previous revision not the only COMPLETED deployment at the verdict: ${svc.deployments.map((d) => `${shortTd(d.taskDefinition)} ${d.status}/${d.rolloutState}`).join(",")}`);
  if (p.desiredCount !== base.desiredCount) add(x, "I2", c, `desired count ${p.desiredCount} after the rollback, ${base.desiredCount} before the release`);
  const tV = verdictTime(x, rec);
  const rAt = completedAt(o.events, c, p.id);
  if (rAt === undefined || rAt > tV) add(x, "I2", c, `the rollback deployment ${p.id} was not COMPLETED by the verdict`);
  else {
    if (tV - rAt < o.schedule.flags.bakeMs - BAKE_TOLERANCE_MS) add(x, "I2", c, `rollback judged ${tV - rAt} ms after COMPLETED; bake is ${o.schedule.flags.bakeMs} ms`);
    // As in I1: with eventual consistency on, held only to what was visible lagMs before the last look.
    const lag = o.schedule.api.consistency?.lagMs ?? 0;
    const seenEnd = Math.min(rAt + o.schedule.flags.bakeMs, seenBy(x, c, tV));
    const fails = failuresBetween(o.stateLater, c, prev, rAt, lag > 0 ? Math.max(rAt, seenEnd - lag) : seenEnd);
    if (fails.length > 0) add(x, "I2", c, `${fails.length} task(s) of the previous revision failed in the rollback's bake window`);
  }
  if (runningAt(o.stateLater, c, prev, seenBy(x, c, tV)) < p.desiredCount) add(x, "I2", c, `fewer than ${p.desiredCount} tasks of the previous revision running at the verdict`);
  // The tool's rollback calls: StopServiceDeployment, or an UpdateService to another revision than the released one
  // (not "every write after the first": when the release's own UpdateService never reached ECS — throttled past its
  // retries — the first write that did is the rollback's).
  const mine = toolWrites(x, c).filter((k) => k.operation === "StopServiceDeployment" || (k.input as any)?.taskDefinition !== rec.taskDefinition?.new);
  if (rec.deployments?.rollbackBy === "lgtm-deploy" && mine.length === 0) add(x, "REC", c, "record says lgtm-deploy rolled back, but the tool sent no rollback call");
}

function checkFailed(x: Context, c: ComponentName, rec: any): void {
  const { o } = x;
  if (!Array.isArray(rec.failureReasons) || rec.failureReasons.length === 0) add(x, "I3", c, "verdict failed without failureReasons");
  const svc = serviceOf(o.stateEnd, c);
  const p = svc && primaryOf(svc);
  if (!svc || !p) return;
  const options = x.prev.get(c)!;
  const prev = options.includes(rec.taskDefinition?.previous) ? (rec.taskDefinition.previous as string) : options[0]!;
  const rb = rec.taskDefinition?.rolledBackTo;
  if (rb && p.taskDefinition !== rb) add(x, "I3", c, `record says rolled back to ${shortTd(rb)}, the service's PRIMARY is ${shortTd(p.taskDefinition)}`);
  const tV = verdictTime(x, rec);
  // With the emulator's eventual consistency on, the tool's reads show the service as it was up to lagMs earlier:
  // what it could know about the state it reports ends there (I3 is about what the record could have said).
  // Reads the proxy answered from before the tool's own last write (`staleMs`) show nothing newer: when the tool's
  // reads at the end were served stale, it knew only what its last fresh answer said.
  const mine = o.proxyCalls.filter((k) => k.op === "DescribeServices" && k.status === 200 && k.services.includes(serviceName(c)) && (k.answeredAt ?? k.time) <= tV);
  const staleAtEnd = mine.some((k) => k.outcome === "stale" && (k.answeredAt ?? k.time) >= tV - 300);
  // Only from answers it read: a read it gave up on (delayed past its per-call timeout) showed it nothing.
  const lastFresh = [...mine].reverse().find((k) => k.outcome === "forwarded" && received(k));
  const seen = (staleAtEnd ? (lastFresh?.answeredAt ?? o.t0) : Math.min(seenBy(x, c, tV), lastFresh?.forwardedAt ?? o.t0)) - (o.schedule.api.consistency?.lagMs ?? 0);
  const rAt = completedAt(o.events, c, p.id);
  // "rolledBackTo: set when the service was verified serving previous again": verified = COMPLETED and healthy for
  // the bake, as far as the tool could see before its verdict. Then "rolled back to: nothing" misstates the service.
  const verifiable = p.taskDefinition === prev && p.rolloutState === "COMPLETED" && svc.deployments.length === 1 && rAt !== undefined && rAt + o.schedule.flags.bakeMs <= seen && failuresBetween(o.stateLater, c, prev, rAt, seen).length === 0;
  // A read the tool relies on failing for good (an exact-call fault without end) may leave it unable to verify.
  const t = o.schedule.targeted;
  const blinded = t !== undefined && t.count === Infinity && (t.component === undefined || t.component === c) && !["UpdateService", "StopServiceDeployment", "RegisterTaskDefinition"].includes(t.op);
  if (verifiable && !blinded && !rb && toolWrites(x, c).length > 0) {
    add(x, "I3", c, `the rollback to ${shortTd(prev)} completed and stayed healthy for --bake before the verdict, but the record says rolled back to: nothing`);
  }
  // Documented record fields (when the engine writes them): the next step, and the service's state as last seen.
  // The PRIMARY can only be named if its deployment existed at the tool's last look.
  if ("nextStep" in rec && !(typeof rec.nextStep === "string" && rec.nextStep.trim() !== "")) add(x, "I3", c, "verdict failed, but the record's nextStep is empty");
  // A rollback revives the earlier deployment with its old id and createdAt (emulator: sim/breaker.ts revive): it is
  // PRIMARY again only from the rollback's start, which is when it became knowable (seed 791546494 #2: reads served
  // stale after the StopServiceDeployment showed the release PRIMARY to the end).
  const becamePrimary = Math.max((p.createdAt ?? 0) * 1000, ...breakerRollbacks(o.stateLater, o.events, c).map((r) => r.start).filter((t) => t <= tV));
  const primaryKnowable = becamePrimary <= seen;
  if (primaryKnowable && typeof rec.serviceState === "string" && !rec.serviceState.includes(`PRIMARY ${shortTd(p.taskDefinition)}`)) {
    add(x, "I3", c, `the record's serviceState "${rec.serviceState}" does not match the service: PRIMARY ${shortTd(p.taskDefinition)} ${p.rolloutState}`);
  }
  // The last lines must name the revision the service is on now and what to do next.
  const tail = [...o.out.slice(-Math.max(40, 25 * o.schedule.components.length)), ...o.err.slice(-10)].join("\n");
  if (primaryKnowable && !tail.includes(shortTd(p.taskDefinition))) add(x, "I3", c, `the last lines do not name the revision ${shortTd(p.taskDefinition)} the service is on (${p.rolloutState})`);
  if (!NEXT_STEP.test(tail)) add(x, "I3", c, "the last lines do not say what to do next");
}

function checkComponent(x: Context, c: ComponentName): void {
  const { o } = x;
  const rec = o.records.get(c);
  const touched = toolWrites(x, c).length > 0;
  if (ownRecord(x, rec)) {
    if (touched) add(x, "I5", c, "updated by this run, but no record of this run says what happened to it");
    return;
  }
  if (touched && !["succeeded", "rolled-back", "failed"].includes(rec.verdict)) add(x, "I5", c, `updated by this run, but its verdict is ${rec.verdict}`);
  if (rec.verdict === "succeeded") checkSucceeded(x, c, rec);
  if (rec.verdict === "rolled-back") checkRolledBack(x, c, rec);
  if (rec.verdict === "failed") checkFailed(x, c, rec);
  if (!touched && rec.verdict !== "not-started") {
    if (rec.verdict === "succeeded") add(x, "I1", c, "verdict succeeded without any update");
  }
}

function checkExit(x: Context): void {
  const { o } = x;
  if (o.hung) return add(x, "I7", undefined, `the run never ended (watchdog gave up after ${deadlineMs(o.schedule) + 10_000 + o.schedule.flags.abortGraceMs + 10_000} ms)`);
  if (![0, 1, 2, 3, 4, 5].includes(o.exitCode)) add(x, "REC", undefined, `undocumented exit code ${o.exitCode}`);
  if (o.exitCode === 2 || o.exitCode === 5) {
    // README: 2 and 5 mean "nothing was changed".
    const writes = x.toolCalls.filter((k) => SERVICE_WRITES.has(k.operation) && k.status === 200);
    if (writes.length > 0) add(x, "REC", undefined, `exit ${o.exitCode} ("nothing was changed") after ${writes.map((k) => `${k.operation} ${serviceOfCall(k)}`).join(", ")}`);
  }
  const verdicts = o.schedule.components.map((c) => o.records.get(c)?.verdict);
  if (o.exitCode === 0 && verdicts.some((v) => v !== "succeeded")) add(x, "I1", undefined, `exit 0 with verdicts ${verdicts.join(",")}`);
  if (o.exitCode === 3 && verdicts.some((v) => v === "failed")) add(x, "I2", undefined, `exit 3 while a component's verdict is failed`);
  // --atomic holds until an abort that means "leave": from then on nothing is rolled back (README, step 9).
  const leftByAbort = o.tAbort !== undefined && o.schedule.flags.onAbort === "leave";
  if (o.schedule.flags.atomic && !leftByAbort && verdicts.some((v) => v === "rolled-back" || v === "failed")) {
    for (const c of o.schedule.components) if (o.records.get(c)?.verdict === "succeeded") add(x, "I5", c, "--atomic: another component failed, this one was left on the new revision");
  }
}

/**
 * How long after spawning Node may still die of SIGTERM's default action: Node's own start-up and the parse of the
 * bundle, before its first statement runs (measured ~60–70 ms on this machine, idle); generous for a loaded one.
 */
const SIGTERM_UNGUARDED_MS = 1_000;

export function check(o: Observation): Violation[] {
  const tp = o.thirdParty;
  // The harness's own UpdateService: the one naming the third party's revision that reached ECS while the harness
  // was sending it. (The tool may later send that revision too — rolling back to it — and those calls are the tool's.)
  const thirdPartyCall = tp
    ? o.emuCalls.find((k) => k.operation === "UpdateService" && (k.input as any)?.taskDefinition === tp.taskDefinition && k.status === 200 && ts(k) >= tp.sentAt - 5 && ts(k) <= (tp.appliedAt ?? Infinity) + 5)
    : undefined;
  const prev = new Map<ComponentName, string[]>();
  const x: Context = {
    o,
    prev,
    toolCalls: o.emuCalls.filter((k) => k !== thirdPartyCall && k.operation !== "BatchDeleteImage"),
    thirdPartySeq: thirdPartyCall?.seq,
    v: [],
  };
  for (const c of o.schedule.components) {
    const base = o.baseline.get(c)?.taskDefinition ?? "";
    const first = releaseUpdate(x, c);
    if (tp?.component === c && thirdPartyCall && first && first.seq > thirdPartyCall.seq) {
      const knew = tp.appliedAt === undefined ? undefined : knewAt(x, c, tp.appliedAt);
      prev.set(c, knew !== undefined && knew < ts(first) ? [tp.taskDefinition] : [base, tp.taskDefinition]);
    } else prev.set(c, [base]);
  }
  if (o.diedOfSigterm) {
    // SIGTERM's default action: the signal came before Node had evaluated the bundle's first statement (which installs
    // the handler; README, exit code 143). The tool never ran — so it sent nothing — and the record path is as it was
    // (the Jenkins steps remove the previous record before starting the helper: vars/lgtmInternal.groovy).
    if (x.toolCalls.length > 0 || o.proxyCalls.length > 0) add(x, "REC", undefined, `ended by SIGTERM's default action (exit 143) after ${o.proxyCalls.length + x.toolCalls.length} AWS call(s): the handler was missing while the tool ran`);
    if (o.tAbort === undefined || o.tAbort - o.t0 > SIGTERM_UNGUARDED_MS) add(x, "REC", undefined, `ended by SIGTERM's default action (exit 143) although the signal came ${o.tAbort === undefined ? "never" : `${o.tAbort - o.t0} ms`} after the start (the bundle installs its handler first)`);
    return x.v;
  }
  if (o.killed) {
    // Jenkins' SIGKILL ended the process: its exit code and unfinished verdicts are not the tool's word. What must
    // still hold: this run's record at every path (I4), no write against another party (I6), the timing (I7).
    checkRecords(x);
    x.v = x.v.filter((v) => v.invariant === "I4" || (v.invariant === "REC" && v.message.startsWith("killed")));
    checkSixth(x);
    checkTiming(x);
    return x.v;
  }
  checkExit(x);
  if (o.hung) return x.v;
  checkRecords(x);
  for (const c of o.schedule.components) checkComponent(x, c);
  checkSixth(x);
  checkTiming(x);
  checkLiveness(x);
  return x.v;
}

export function formatViolations(v: Violation[]): string {
  return v.map((x) => `  ${x.invariant}${x.component ? ` [${x.component}]` : ""}: ${x.message}`).join("\n");
}
