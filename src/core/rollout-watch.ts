/**
 * The watch transitions: what a snapshot (DescribeServices + DescribeServiceDeployments + newly stopped tasks) does to
 * a component that is watching, baking, rolling back or judging its rollback. Pure; see core/rollout.ts.
 *
 * Evidence rules: a deployment that is not visible proves nothing (stale reads); ECS rolling back is recognised only
 * from the service deployment's ROLLBACK_* status, or our deployment FAILED with a newer PRIMARY on the previous
 * revision; a newer PRIMARY on any other revision is someone else's deployment, which is never undone.
 */
import type { Deployment, Service } from "@aws-sdk/client-ecs";
import { shortTd, seconds } from "./names.js";
import { Tx, lastLookAtRelease, newWatch, restoreOutsideRevision, rollbackTarget, startRollback, statusHint, type Observation, type RollbackRef, type State, type Watch } from "./rollout-state.js";
import { countsKey, findOurs, fresh, readSnapshot, type Facts, type RollbackBy, type StoppedTask } from "./verdict.js";

type Snapshot = Extract<Observation, { kind: "snapshot" }>;

/** Looks taken when the service deployment says STOPPED/ROLLBACK_FAILED while DescribeServices shows ours PRIMARY. */
const SD_DOUBTS = 3;

/** Released components stay watched until the run ends: their success is final only then (other components wait). */
const WATCHED = new Set(["watching", "baking", "released", "rolling-back", "rollback-watching", "rollback-baking"]);

/**
 * The deployment whose stopped tasks the driver should list now, or null: only when its counts or the newest event
 * changed, a listing is owed, or a bake is about to end (a last look before the verdict).
 */
export function listingFor(s: State, svc: Service | undefined, now: number, bakeMs: number): string | null {
  const w = s.watch;
  if (!WATCHED.has(s.phase) || w === null || svc === undefined) return null;
  const dep = findOurs(svc, w.target);
  if (dep?.id === undefined) return null;
  // Once released, the last look was taken: a released component waiting for the others lists only on changes
  // (listing it every poll made a six-component release list stopped tasks ~4x as often as six sequential ones).
  const bakeDue = s.phase !== "released" && w.bakeFrom !== null && now - w.bakeFrom >= bakeMs;
  return countsKey(dep, svc.events?.[0]?.id) !== w.lastKey || w.listingOwed || bakeDue ? dep.id : null;
}

export function onSnapshot(tx: Tx, obs: Snapshot): void {
  const { s } = tx;
  if (!WATCHED.has(s.phase) || s.watch === null) return;
  const w = s.watch;
  // Snapshots can arrive out of order: one whose stopped-task listing outlasted the next poll carries an older read
  // of the service than the one already judged. Its stopped tasks are facts (a stopped task stays stopped); its
  // service is old news, read as "not returned" (which proves nothing) so that it cannot undo a newer read — end a
  // bake that had started, hide a rollback by ECS, or pass for the look taken after a refused StopServiceDeployment.
  const polledAt = obs.polledAt ?? obs.now;
  const outOfOrder = s.lastPolledAt !== null && polledAt < s.lastPolledAt;
  if (!outOfOrder) s.lastPolledAt = polledAt;
  const service = outOfOrder ? undefined : obs.service;
  const deployments = outOfOrder ? [] : obs.deployments;
  newEvents(tx, service);
  const ours0 = findOurs(obs.service, w.target);
  // A listing started before the watch moved on (release → rollback) is about the old deployment: not ours now.
  const stale = obs.listedFor !== undefined && obs.listedFor !== (w.target.id ?? ours0?.id);
  const tasks = stale ? [] : obs.stoppedTasks.filter((t) => t.taskDefinitionArn === undefined || t.taskDefinitionArn === w.target.taskDefinition);
  const fresh = newStopped(tx, w, tasks);
  if (stale) {
    // nothing learned about the watched deployment's tasks
  } else if (obs.listing === "done") {
    w.lastKey = countsKey(ours0, obs.service?.events?.[0]?.id);
    // A task still stopping is judged once STOPPED; ECS's counts may not change again before then (a crash's count
    // rises at the exit, seconds before the task is STOPPED), so its listing is owed.
    w.listingOwed = (obs.stopping ?? 0) > 0;
  } else if (obs.listing === "failed") w.listingOwed = true;
  const releaseSd = s.release?.arn ? deployments.find((d) => d.serviceDeploymentArn === s.release!.arn) : undefined;
  if (releaseSd?.status) s.releaseSdStatus = releaseSd.status;
  const rollbackPhase = s.phase !== "watching" && s.phase !== "baking" && s.phase !== "released";
  const sdArn = rollbackPhase && s.rollback?.via === "update-service" ? s.rollback.arn : (s.release?.arn ?? null);
  const sd = sdArn === null ? undefined : deployments.find((d) => d.serviceDeploymentArn === sdArn);
  // In rolling-back, only a StopServiceDeployment of ours still out makes a rollback status ours.
  const weRequested = s.phase === "rolling-back" ? s.inFlight && s.rollbackCall === "stop-deployment" : s.rollback?.via === "stop-deployment";
  const facts = readSnapshot(service, sd, w.target, { previousTd: s.previous, weRequestedRollback: weRequested, allowZeroDesired: tx.spec.rules.allowZeroDesired });
  // The report's breaker and alarms are the release's, not those of a rollback deployment.
  if (sd !== undefined && sd === releaseSd) {
    if (facts.breaker) s.breaker = facts.breaker;
    if (facts.alarms) s.alarms = facts.alarms;
  }
  if (w.target.id === null && facts.ours?.id !== undefined) {
    w.target.id = facts.ours.id;
    if (!rollbackPhase && s.release) s.release.id = facts.ours.id;
    if (rollbackPhase && s.rollback) s.rollback.id = facts.ours.id;
  }
  if (service && !predatesRelease(s, service)) s.serviceNow = describeService(service);
  stateLine(tx, w, facts);
  // How far the stopped tasks are known: a listing covers at least up to the read it was sent after. It counts even
  // when its snapshot arrived out of order — under load listings are routinely overtaken by the next poll, and a bake
  // that needed the steady read and the listing in one snapshot would never end.
  // A listing that found a task still on its way to STOPPED covers nothing yet: that task may be a failure, judged
  // once it is STOPPED (seed 20261130 #38, loaded: a flaky task exited 1 ms before the bake's end and the release was
  // declared while it was STOPPING).
  if (obs.listing === "done" && !stale && (obs.stopping ?? 0) === 0) w.listedThrough = Math.max(w.listedThrough ?? Number.NEGATIVE_INFINITY, polledAt);
  const listed = (bakeMs: number): boolean => bakeMs === 0 || (w.bakeFrom !== null && (w.listedThrough ?? Number.NEGATIVE_INFINITY) >= w.bakeFrom + bakeMs);
  // A partial snapshot (its service deployments still unread) never ends a bake (release or rollback), nor overrides a refused
  // StopServiceDeployment: what ECS's service deployment says may stand against either.
  const complete = obs.partial !== true;
  if (s.phase === "watching" || s.phase === "baking" || s.phase === "released") return judgeRelease(tx, w, facts, fresh, (ms) => complete && listed(ms), service);
  if (s.phase === "rolling-back") return noticeEcsRollback(tx, facts, complete ? polledAt : null, service);
  if (s.rollback?.via === "adopted" && s.rollback.by === "someone-else" && ecsRollsBack(s, service, s.rollback.id)) {
    // Adopted as "someone else" before the read said who; ECS's own word says it now.
    s.rollback.by = "ecs";
    tx.emit("warn", "adopt", "ECS's events say the rollback is ECS's own");
  }
  judgeRollback(tx, w, facts, fresh, (ms) => complete && listed(ms));
}

/**
 * Whether ECS itself rolls the release back to deployment `to`, by what DescribeServices alone shows (for when
 * DescribeServiceDeployments does not answer): ECS marked the release's deployment FAILED, or ECS's own event
 * "rolling back to deployment <to>".
 */
function ecsRollsBack(s: State, svc: Service | undefined, to: string | null | undefined): boolean {
  if (svc?.deployments?.some((d) => d.id === s.release?.id && d.rolloutState === "FAILED")) return true;
  return to != null && (svc?.events ?? []).some((e) => (e.message ?? "").includes(`rolling back to deployment ${to}`));
}

function newEvents(tx: Tx, svc: Service | undefined): void {
  const { s } = tx;
  const fresh = (svc?.events ?? []).filter((e) => e.id !== undefined && !s.seenEvents.includes(e.id)).reverse();
  for (const e of fresh) {
    s.seenEvents.push(e.id!);
    s.events.push(e.message ?? "");
    tx.emit("info", "service-event", e.message ?? "", { id: e.id, createdAt: e.createdAt?.toISOString() });
  }
  if (s.seenEvents.length > 300) s.seenEvents = s.seenEvents.slice(-200);
  if (s.events.length > 10) s.events = s.events.slice(-10);
}

function newStopped(tx: Tx, w: Watch, tasks: readonly StoppedTask[]): StoppedTask[] {
  const fresh: StoppedTask[] = [];
  for (const t of tasks) {
    if (w.seenTasks.includes(t.taskArn)) continue;
    w.seenTasks.push(t.taskArn);
    const kind = t.classification.kind;
    if (kind !== "none") w.failures.push(t.taskArn);
    fresh.push(t);
    tx.s.stoppedTasks.push(t);
    tx.emit(kind === "none" ? "info" : "warn", "stopped-task", `task ${t.taskId} stopped: ${t.classification.summary}${kind === "none" ? " (not counted as a failure)" : ` (${kind} failure)`}`, { ...t });
  }
  if (tx.s.stoppedTasks.length > 50) tx.s.stoppedTasks = tx.s.stoppedTasks.slice(-50);
  return fresh;
}

/**
 * A read that provably predates our update (eventual consistency): the release's deployment, which ECS named in its
 * answer, is not in it, and nothing in it was created or updated by ECS since. It says nothing about the service now.
 */
export function predatesRelease(s: State, svc: Service): boolean {
  const id = s.release?.id;
  if (!id) return false;
  const deps = svc.deployments ?? [];
  const since = { id: null, taskDefinition: "", exclude: s.before, since: s.release?.createdAt ?? null };
  return !deps.some((d) => d.id === id) && !deps.some((d) => fresh(d, since));
}

export function describeService(svc: Service): string {
  const deps = (svc.deployments ?? []).map((d) => `${d.status} ${shortTd(d.taskDefinition)} ${d.rolloutState ?? ""} ${d.runningCount ?? 0}/${d.desiredCount ?? 0}`.replace(/\s+/g, " "));
  return deps.length > 0 ? deps.join("; ") : `${svc.status ?? "unknown"}, no deployments`;
}

function stateLine(tx: Tx, w: Watch, f: Facts): void {
  const d = f.ours;
  if (d === undefined) return;
  const breaker = f.breaker ? `, breaker ${f.breaker.failureCount}/${f.breaker.threshold}` : "";
  const line = `${shortTd(d.taskDefinition)} rollout ${d.rolloutState ?? "n/a"} (${d.status}): ${d.runningCount ?? 0}/${d.desiredCount ?? 0} running, ${d.pendingCount ?? 0} pending, ${w.failures.length} failed${breaker}`;
  if (line === w.lastLine) return;
  w.lastLine = line;
  tx.emit("info", "state", line, { deploymentId: d.id, rolloutState: d.rolloutState, running: d.runningCount, pending: d.pendingCount, desired: d.desiredCount, failedTasks: w.failures.length, breaker: f.breaker });
}

const failuresText = (tasks: StoppedTask[]): string => tasks.map((t) => `${t.taskId}: ${t.classification.summary}`).join("; ");

function judgeRelease(tx: Tx, w: Watch, f: Facts, fresh: StoppedTask[], listed: (bakeMs: number) => boolean, svc: Service | undefined): void {
  const { s, spec } = tx;
  const rules = spec.rules;
  if (f.serviceGone) return tx.finish({ verdict: "failed", exitCode: 4, message: `${spec.service} is ${s.serviceNow ?? "gone"}: it was deleted or is being deleted`, nextStep: statusHint(spec) });
  if (f.ecsRollback) return adopt(tx, f.ecsRollback.by, `ECS is rolling the release back (${f.ecsRollback.by}): ${f.ecsRollback.reason}`, f.newcomer);
  if (f.sdStatus === "ROLLBACK_FAILED" || f.sdStatus === "STOPPED") {
    // DescribeServices still showing our deployment PRIMARY may be older than the service deployment's status (the
    // two reads race another client's update): a few more looks before deciding on half a picture.
    if (f.newcomer === undefined && f.ours?.status === "PRIMARY" && (w.sdDoubts ?? 0) < SD_DOUBTS) {
      w.sdDoubts = (w.sdDoubts ?? 0) + 1;
      return tx.act({ kind: "look" });
    }
    if (f.newcomer === undefined) return tx.finish({ verdict: "failed", exitCode: 4, message: `ECS reports the release's service deployment ${f.sdStatus}${f.sdReason ? ` (${f.sdReason})` : ""}; ${spec.service}: ${s.serviceNow ?? "state unknown"}`, nextStep: statusHint(spec) });
  }
  if (f.newcomer !== undefined) {
    if (f.newcomer.taskDefinition === s.previous && s.previous !== null) {
      const by: RollbackBy = ecsRollsBack(s, svc, f.newcomer.id) ? "ecs" : "someone-else";
      return adopt(tx, by, `deployment ${f.newcomer.id} put ${shortTd(s.previous)} back while the release was watched${by === "ecs" ? " (ECS's own rollback)" : ""}`, f.newcomer);
    }
    return foreign(tx, f.newcomer);
  }
  if (f.ours?.rolloutState === "FAILED") return startRollback(tx, `ECS marked the rollout FAILED: ${f.ours.rolloutStateReason ?? "no reason given"}`);
  const counted = fresh.filter((t) => t.classification.kind !== "none");
  if (w.completedOnce && counted.length > 0) return startRollback(tx, `a task of ${shortTd(s.newTd)} failed after the deployment COMPLETED (during the bake): ${failuresText(counted)}`);
  const deterministic = counted.find((t) => t.classification.kind === "deterministic");
  if (deterministic && rules.failFast) return startRollback(tx, `the first failure is deterministic: ${deterministic.classification.summary} — not waiting for another launch`);
  if (w.failures.length >= rules.maxFailedTasks) {
    const all = s.stoppedTasks.filter((t) => w.failures.includes(t.taskArn));
    return startRollback(tx, `${w.failures.length} task(s) of ${shortTd(s.newTd)} failed (--max-failed-tasks ${rules.maxFailedTasks}): ${failuresText(all)}`);
  }
  if (!f.steady) {
    if ((s.phase === "baking" || s.phase === "released") && f.ours !== undefined) {
      s.phase = "watching";
      w.bakeFrom = null;
      tx.emit("warn", "bake", `left steady state (${f.running}/${f.desired} running): the bake starts again when it is back`);
    }
    return;
  }
  if (s.phase === "released") return;
  if (s.phase === "watching") {
    s.phase = "baking";
    w.bakeFrom = tx.now;
    w.completedOnce = true;
    if (rules.bakeMs > 0) tx.emit("info", "bake", `COMPLETED with ${f.running}/${f.desired} running; baking for ${seconds(rules.bakeMs)}: any failed task of ${shortTd(s.newTd)} fails the release`);
  }
  if (tx.now - w.bakeFrom! >= rules.bakeMs && listed(rules.bakeMs)) {
    s.phase = "released";
    tx.emit("info", "released", `${shortTd(s.newTd)} is COMPLETED with ${f.running}/${f.desired} running${rules.bakeMs > 0 ? ` and stayed healthy for ${seconds(rules.bakeMs)}` : ""}`);
    tx.act({ kind: "record" });
  }
}

/** ECS (breaker, alarm) or someone else is already rolling back to the previous revision: watch it, do not fight it. */
function adopt(tx: Tx, by: RollbackBy, reason: string, newcomer: Deployment | undefined): void {
  const { s, spec } = tx;
  s.failureReasons.push(reason);
  tx.emit("warn", "adopt", `${reason}; watching that rollback instead of issuing another`);
  if (s.previous === null) return tx.finish({ verdict: "failed", exitCode: 4, message: `${reason}, but there is no previous revision to return to`, nextStep: statusHint(spec) });
  const id = newcomer?.taskDefinition === s.previous ? (newcomer.id ?? null) : null;
  const ref: RollbackRef = { id, arn: s.release?.arn ?? null, by, via: "adopted" };
  s.rollback = ref;
  s.phase = "rollback-watching";
  s.retry = null;
  s.deadline = tx.now + spec.rules.rollbackTimeoutMs;
  if (s.abortDeadline !== null) s.deadline = Math.min(s.deadline, s.abortDeadline);
  s.watch = newWatch(rollbackTarget(s, id), tx.now);
  tx.act({ kind: "record" });
  lastLookAtRelease(tx);
}

/** The release deployment's stopped tasks, looked at once more after the watch moved on: reported, not judged. */
export function onReleaseTasks(tx: Tx, tasks: readonly StoppedTask[]): void {
  const known = new Set(tx.s.stoppedTasks.map((t) => t.taskArn));
  for (const t of tasks) {
    if (known.has(t.taskArn)) continue;
    tx.s.stoppedTasks.push(t);
    const kind = t.classification.kind;
    tx.emit(kind === "none" ? "info" : "warn", "stopped-task", `task ${t.taskId} stopped: ${t.classification.summary}${kind === "none" ? " (not counted as a failure)" : ` (${kind} failure)`}`, { ...t });
  }
  if (tx.s.stoppedTasks.length > 50) tx.s.stoppedTasks = tx.s.stoppedTasks.slice(-50);
}

function foreign(tx: Tx, d: Deployment): void {
  const { s, spec } = tx;
  tx.finish({
    verdict: "failed",
    exitCode: 4,
    message: `deployment ${d.id} (${shortTd(d.taskDefinition)}) replaced ${s.phase.startsWith("rollback") ? "the rollback" : "this release"} while it was watched; lgtm-deploy does not undo a deployment it did not start`,
    nextStep: statusHint(spec),
  });
}

/**
 * While our rollback call is out or being retried, ECS may roll back by itself (breaker, alarm): then stop retrying
 * and watch its rollback. A call of ours that lands later is handled where its answer arrives (core/rollout.ts).
 */
function noticeEcsRollback(tx: Tx, f: Facts, polledAt: number | null, svc: Service | undefined): void {
  const { s } = tx;
  if (s.inFlight && s.rollbackCall === "stop-deployment") return; // most likely our own StopServiceDeployment at work
  // Another client's deployment of another revision: rolling back over it would undo it (issue #10, I6).
  if (f.newcomer !== undefined && f.newcomer.taskDefinition !== s.previous && f.ecsRollback === undefined) return foreign(tx, f.newcomer);
  const nc = f.newcomer?.taskDefinition === s.previous ? f.newcomer : undefined;
  if (nc?.id !== undefined && f.ecsRollback === undefined && !ecsRollsBack(s, svc, nc.id) && s.rollbackCall === "update-rollback") {
    // Our UpdateService to the previous revision went out (its answer lost, or its attempt failed without saying
    // whether it happened) and a deployment of that revision appeared with no sign of ECS rolling back — ECS's rollback
    // is recognised only by positive evidence: ours landed. Watch it as ours; retries stop (another attempt would start
    // yet another deployment). Seed 2027 #120: recorded as ECS's rollback.
    s.inFlight = false;
    s.retry = null;
    s.rollback = { id: nc.id, arn: null, by: "lgtm-deploy", via: "update-service" };
    s.watch = newWatch(rollbackTarget(s, nc.id), tx.now);
    s.phase = "rollback-watching";
    tx.emit("warn", "rollback", `rollback to ${shortTd(s.previous)} landed (deployment ${nc.id}) though its UpdateService had no answer: watching it`, { deploymentId: nc.id, via: "update-service" });
    tx.act({ kind: "record" });
    return;
  }
  if (nc !== undefined || f.ecsRollback !== undefined) {
    s.inFlight = false;
    s.stopRefusedAt = null;
    const what = nc !== undefined ? `deployment ${nc.id} already rolls ${tx.spec.service} back to ${shortTd(s.previous)}` : `ECS is already rolling ${tx.spec.service} back`;
    return adopt(tx, f.ecsRollback?.by ?? "ecs", `${what}${f.ecsRollback ? ` (${f.ecsRollback.reason})` : ""}`, nc);
  }
  // StopServiceDeployment was refused and this look, taken after that, shows the service and no rollback by ECS:
  // UpdateService. (A look that did not return the service, or a partial one, shows nothing; the next one decides.)
  if (s.stopRefusedAt !== null && polledAt !== null && polledAt >= s.stopRefusedAt && f.serviceSeen) {
    s.stopRefusedAt = null;
    tx.act({ kind: "update-rollback", taskDefinition: s.previous!, settings: s.restore, force: true });
  }
}

function judgeRollback(tx: Tx, w: Watch, f: Facts, fresh: StoppedTask[], listed: (bakeMs: number) => boolean): void {
  const { s, spec } = tx;
  const rules = spec.rules;
  const fail = (message: string) => tx.finish({ verdict: "failed", exitCode: 4, message: `the rollback to ${shortTd(s.previous)} failed: ${message}`, nextStep: statusHint(spec) });
  if (f.serviceGone) return fail(`${spec.service} was deleted or is being deleted`);
  const viaUpdate = s.rollback?.via === "update-service";
  const sdFailed = f.sdStatus === "ROLLBACK_FAILED" || (viaUpdate && (f.sdStatus === "STOPPED" || f.sdStatus?.startsWith("ROLLBACK")));
  if (sdFailed) {
    // The deployment itself is the evidence that counts: a rollback deployment that is not FAILED is judged on its own.
    if (!f.serviceSeen) return;
    const alive = f.ours !== undefined && f.ours.rolloutState !== "FAILED" && f.ours.status === "PRIMARY";
    if (!alive) return fail(`ECS reports its service deployment ${f.sdStatus}${f.sdReason ? ` (${f.sdReason})` : ""}`);
    if (!s.failureReasons.some((r) => r.startsWith("ECS reported"))) {
      s.failureReasons.push(`ECS reported the service deployment ${f.sdStatus}${f.sdReason ? ` (${f.sdReason})` : ""} while deployment ${f.ours!.id} of ${shortTd(s.previous)} was ${f.ours!.rolloutState ?? "running"}`);
      tx.emit("warn", "rollback", `ECS reports ${f.sdStatus}, yet deployment ${f.ours!.id} of ${shortTd(s.previous)} is ${f.ours!.rolloutState ?? "running"}: judging that deployment itself`);
    }
  }
  if (s.rollback?.via === "adopted" && f.ecsRollback !== undefined && s.rollback.by !== f.ecsRollback.by) {
    // Adopted on DescribeServices alone; the service deployment now says who rolled back, and why.
    s.rollback.by = f.ecsRollback.by;
    s.failureReasons.push(`ECS rolled the release back (${f.ecsRollback.by}): ${f.ecsRollback.reason}`);
    tx.emit("warn", "adopt", `ECS confirms it is rolling back (${f.ecsRollback.by}): ${f.ecsRollback.reason}`);
  }
  const nc = f.newcomer;
  if (nc?.id !== undefined && nc.taskDefinition === s.previous) {
    // Another deployment of the very revision we roll back to (ECS's own rollback, started at the same moment):
    // nothing of ours is undone by following it, and it is where the service goes.
    tx.emit("warn", "rollback", `deployment ${nc.id} of ${shortTd(s.previous)} took over from ${w.target.id ?? "ours"} (ECS rolling back at the same moment): watching it instead`);
    w.target.id = nc.id;
    if (s.rollback) s.rollback.id = nc.id;
    w.bakeFrom = null;
    s.phase = "rollback-watching";
    return;
  }
  if (nc !== undefined) return foreign(tx, nc);
  if (f.ours?.rolloutState === "FAILED") return fail(`ECS marked it FAILED: ${f.ours.rolloutStateReason ?? "no reason given"}`);
  const counted = fresh.filter((t) => t.classification.kind !== "none");
  if (w.completedOnce && counted.length > 0) return fail(`a task of ${shortTd(s.previous)} failed after the rollback COMPLETED: ${failuresText(counted)}`);
  if (w.failures.length >= rules.maxFailedTasks || (rules.failFast && counted.some((t) => t.classification.kind === "deterministic"))) {
    return fail(`${w.failures.length} task(s) of ${shortTd(s.previous)} failed: ${failuresText(s.stoppedTasks.filter((t) => w.failures.includes(t.taskArn)))}`);
  }
  if (f.serviceSeen) s.servingPrevious = f.steady;
  if (!f.steady) {
    if (s.phase === "rollback-baking" && f.ours !== undefined) {
      s.phase = "rollback-watching";
      w.bakeFrom = null;
    }
    return;
  }
  if (s.phase === "rollback-watching") {
    s.phase = "rollback-baking";
    w.bakeFrom = tx.now;
    w.completedOnce = true;
  }
  if (tx.now - w.bakeFrom! >= rules.rollbackBakeMs && listed(rules.rollbackBakeMs)) {
    const by = s.rollback?.by === "lgtm-deploy" ? "" : ` (rolled back by ${s.rollback?.by})`;
    // A rollback ECS carried out restored the service revision only: the rest goes back now that it is over.
    if (s.rollback?.via !== "update-service" && s.rollback?.by !== "someone-else") restoreOutsideRevision(tx);
    tx.finish({
      verdict: "rolled-back",
      exitCode: 3,
      message: `${spec.command === "rollback" ? "rollback" : "release"} failed and was rolled back${by}: ${shortTd(s.previous)} is serving again (COMPLETED, ${f.running}/${f.desired} running${rules.rollbackBakeMs > 0 ? `, healthy for ${seconds(rules.rollbackBakeMs)}` : ""})`,
    });
  }
}
