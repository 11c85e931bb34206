/**
 * The oracle's checks on the calls the tool sent and when (I6: never undo another party's deployment, never fight
 * ECS's rollback; I7: deadlines; ABORT: --on-abort leave) and on what it should have achieved (LIVE). See oracle.ts.
 */
import { serviceName, type ComponentName } from "../../../src/core/catalogue.js";
import { add, SERVICE_WRITES, toolWrites, ts, type Context } from "./oracle.js";
import { received, type ProxyCall } from "./proxy.js";
import { deadlineMs } from "./run.js";
import { breakerRollbacks, shortTd } from "./state.js";

/**
 * When the tool could first have known about something that happened at `since` on service c: when the answer to
 * its first fresh read of c (sent on after `since`, not a stale answer) was sent back to it. Not when the read was
 * sent: until its answer arrives, the tool cannot know what it says, and a write it sends meanwhile was decided
 * without it (a race no ECS client can win; issue #10 I6 is about writes after a read that showed the other party).
 */
export function knewAt(x: Context, c: ComponentName, since: number): number | undefined {
  // With the emulator's own eventual consistency on, a read is surely fresh only lagMs after the event.
  const lag = x.o.schedule.api.consistency?.lagMs ?? 0;
  if (toolReads(x)) return appliedAt(x, c, since + lag);
  // Only answers the tool read: one it had given up on (its per-call timeout) told it nothing.
  const read = x.o.proxyCalls.find((k) => k.op === "DescribeServices" && k.outcome === "forwarded" && k.status === 200 && received(k) && k.services.includes(serviceName(c)) && (k.forwardedAt ?? 0) > since + lag);
  return read === undefined ? undefined : (read.answeredAt ?? read.forwardedAt);
}

/** Whether the tool says when it applied each poll's answer ("read" events in its --events-file). */
function toolReads(x: Context): boolean {
  return (x.o.toolEvents ?? []).some((e) => e.kind === "read");
}

/**
 * By the tool's own account: when it first applied a poll's answer about c whose DescribeServices reached ECS after
 * `after` (and whose answer it read). Each "read" event names when its poll was sent.
 */
function appliedAt(x: Context, c: ComponentName, after: number): number | undefined {
  const reads = x.o.proxyCalls.filter((k) => k.op === "DescribeServices" && k.services.includes(serviceName(c)));
  for (const e of x.o.toolEvents) {
    if (e.kind !== "read" || e.component !== c || e.polledAt === undefined) continue;
    // This poll's DescribeServices attempts (the SDK may have retried one): sent from the poll on, answered before the
    // tool applied it; the answer it applied is the last one that succeeded.
    const attempts = reads.filter((k) => k.time >= e.polledAt! - 1 && (k.answeredAt ?? Infinity) <= e.time + 1 && k.status === 200 && received(k));
    const call = attempts[attempts.length - 1];
    if (call && call.outcome === "forwarded" && (call.forwardedAt ?? 0) > after) return e.time;
  }
  return undefined;
}

/** The tool's last fresh read of service c answered before `t`. */
function lastFreshReadBefore(x: Context, c: ComponentName, t: number): ProxyCall | undefined {
  const reads = x.o.proxyCalls.filter((k) => k.op === "DescribeServices" && k.outcome === "forwarded" && k.status === 200 && received(k) && k.services.includes(serviceName(c)) && (k.answeredAt ?? k.forwardedAt ?? 0) < t);
  return reads[reads.length - 1];
}

/** The tool's writes to service c that reached ECS and were sent after `t` (proxy arrival time). */
function writesSentAfter(x: Context, c: ComponentName, t: number): { op: string; td?: string; time: number }[] {
  return x.o.proxyCalls
    .filter((k) => SERVICE_WRITES.has(k.op) && k.services.includes(serviceName(c)) && (k.outcome === "forwarded" || k.outcome === "hangAfter") && (k.status === 200 || k.status === undefined) && k.time > t)
    .map((k) => ({ op: k.op, td: k.input?.taskDefinition, time: k.time }));
}

/** The window in which the tool must answer SIGTERM with its rollback call (docs/testing.md, interpretation 9). */
const ABORT_CALL_MS = 1_300;
/**
 * An answer sent back this little before SIGTERM was still on its way into the tool when the signal came: the
 * harness's abort hook fires right after an answer leaves the proxy (`when: "after"`), and an in-process abort is
 * handled before the socket is read. The rollback call the signal forces was decided without that answer.
 */
const ABORT_RACE_MS = 10;

/** A write that is the tool's immediate answer to SIGTERM (its first write to the service after it), decided then. */
function answersAbort(x: Context, c: ComponentName, w: { time: number }): boolean {
  const tAbort = x.o.tAbort;
  if (tAbort === undefined || w.time < tAbort || w.time > tAbort + ABORT_CALL_MS) return false;
  const first = writesSentAfter(x, c, tAbort)[0];
  return first !== undefined && first.time === w.time;
}

/** Whether the tool could have known, when it decided write `w`, what a read answered at `knew` showed. */
export function knewBefore(x: Context, c: ComponentName, w: { time: number }, knew: number): boolean {
  if (answersAbort(x, c, w)) return knew < x.o.tAbort! - ABORT_RACE_MS;
  const decided = decidedAt(x, c, w);
  // With the tool's own "read" events, both times are its clock, in the order it did things.
  if (decided !== undefined) return toolReads(x) ? decided > knew : decided - knew >= READ_MS;
  return w.time > knew;
}

/**
 * The least time from an answer leaving the proxy to a decision that read it: both clocks are whole milliseconds
 * (an answer stamped 865 and a decision stamped 866 may be 0.2 ms apart), and the tool's fastest reaction to an
 * answer, measured on this machine idle (answer showing ECS's rollback → the tool's "adopt" event, 12 runs each), was
 * 1 ms in the test's process and 2 ms as a process of its own. Seen under load: decisions 1 ms after the answer left.
 */
const READ_MS = 2;

/**
 * When the tool decided write `w`, by its own events (--events-file, ms times on this machine's clock): the last event
 * of the component before the write, when that event is the decision itself ("rolling back to …", "updating …") and
 * `w` is the first write after it. A retry, or a write after "StopServiceDeployment failed … looking", is a decision of
 * its own taken later: undefined, and the write's own arrival time stands. A busy machine may take tens of
 * milliseconds from the decision to the write reaching ECS; an answer that arrived meanwhile did not inform it.
 */
export function decidedAt(x: Context, c: ComponentName, w: { time: number }): number | undefined {
  const before = x.o.toolEvents.filter((e) => e.component === c && e.time <= w.time && (e.kind === "rollback" || e.kind === "update"));
  const last = before[before.length - 1];
  if (last === undefined || !/^(rolling back to |updating )/.test(last.message)) return undefined;
  const first = writesSentAfter(x, c, last.time - 1)[0];
  return first !== undefined && first.time === w.time ? last.time : undefined;
}

/**
 * I6. A write counts against the tool only when it was sent after a fresh read that showed the other party's
 * deployment or ECS's rollback: a write already decided (or in flight) when the other party acted is a race
 * that no ECS client can win (there is no conditional UpdateService).
 */
export function checkSixth(x: Context): void {
  const { o } = x;
  for (const c of o.schedule.components) {
    const writes = toolWrites(x, c);
    const tp = o.thirdParty;
    if (tp?.applied && tp.component === c && x.thirdPartySeq !== undefined && tp.appliedAt !== undefined) {
      const first = writes[0];
      const knew = knewAt(x, c, tp.appliedAt);
      if (first && first.seq > x.thirdPartySeq) {
        // Another client deployed before the tool's update: if the tool read the service in between, it knew, and
        // updating over that deployment while it was in flight undoes it.
        // Judged by what the tool's last fresh read before its update showed it (the proxy keeps each answer's
        // deployments): that deployment still in progress. The ground truth's COMPLETED time is simulated time
        // converted to wall clock, off by the emulator's tick under load — the answer itself is what the tool saw.
        // When the tool sent its update (a hook may hold the call at the proxy before ECS sees it).
        const sent = x.o.proxyCalls.find((k) => k.op === "UpdateService" && k.services.includes(serviceName(c)) && k.status === 200)?.time ?? ts(first);
        const lastRead = lastFreshReadBefore(x, c, sent);
        const shown = lastRead?.seen?.[serviceName(c)];
        const inProgress = shown !== undefined && shown.some((d) => d.taskDefinition === tp.taskDefinition) && (shown.length > 1 || shown.some((d) => d.rolloutState === "IN_PROGRESS"));
        if (knew !== undefined && lastRead !== undefined && knew < sent && inProgress) {
          add(x, "I6", c, `read the service at +${(lastRead.forwardedAt ?? 0) - o.t0} ms, saw another client's deployment of ${shortTd(tp.taskDefinition)} in progress, and updated over it`);
        }
      } else if (knew !== undefined) {
        const after = writesSentAfter(x, c, knew).filter((k) => knewBefore(x, c, k, knew));
        if (after.length > 0) add(x, "I6", c, `another client deployed ${shortTd(tp.taskDefinition)}; after reading that, the tool sent ${after.map((k) => `${k.op}(${shortTd(k.td)})`).join(", ")}`);
      }
    }
    for (const r of breakerRollbacks(o.stateLater, o.events, c)) {
      const knew = knewAt(x, c, r.start);
      if (knew === undefined || knew > r.end) continue;
      const fights = writesSentAfter(x, c, knew).filter((k) => k.time <= r.end && knewBefore(x, c, k, knew));
      const described = (k: (typeof fights)[number]): string => {
        const decided = decidedAt(x, c, k);
        return `${k.op}(${shortTd(k.td)}) at +${k.time - o.t0} ms${decided === undefined ? "" : ` (decided at +${decided - o.t0} ms)`}`;
      };
      if (fights.length > 0) add(x, "I6", c, `${fights.map(described).join(", ")} sent while ECS's circuit breaker was rolling back (started ${new Date(r.start).toISOString()}, seen by the tool at +${knew - o.t0} ms); answers sent to the tool just before: ${answersBefore(x, fights[0]!.time)}`);
    }
  }
}

/** For a violation's message: the answers the proxy sent in the 300 ms before `t` (what the tool may have decided on). */
function answersBefore(x: Context, t: number): string {
  const recent = x.o.proxyCalls.filter((k) => k.answeredAt !== undefined && k.answeredAt <= t && k.answeredAt > t - 300);
  return recent.map((k) => `${k.op}${k.services.length > 0 ? `[${k.services.join(",")}]` : ""} ${k.status ?? k.outcome} at +${k.answeredAt! - x.o.t0}`).join("; ") || "none";
}

export function checkTiming(x: Context): void {
  const { o } = x;
  const took = o.tEnd - o.t0;
  if (took > deadlineMs(o.schedule)) add(x, "I7", undefined, `the run took ${took} ms; --timeout ${o.schedule.flags.timeoutMs} ms allows at most ${deadlineMs(o.schedule)} ms with the rollback`);
  if (o.tAbort !== undefined && o.tEnd - o.tAbort > o.schedule.flags.abortGraceMs + 2_500) {
    add(x, "I7", undefined, `exited ${o.tEnd - o.tAbort} ms after SIGTERM; --abort-grace is ${o.schedule.flags.abortGraceMs} ms`);
  }
  // --on-abort leave: no rollback because of the abort. A failure rollback already under way when the signal came
  // is not counted (the README does not say whether "leave" stops it).
  const rollingBack = o.schedule.components.some((c) => toolWrites(x, c).slice(1).some((k) => ts(k) < (o.tAbort ?? 0)));
  if (o.tAbort !== undefined && o.schedule.flags.onAbort === "leave" && !rollingBack) {
    for (const c of o.schedule.components) {
      const after = toolWrites(x, c).slice(1).filter((k) => ts(k) > o.tAbort! + 50);
      if (after.length > 0) add(x, "ABORT", c, `--on-abort leave, yet the tool sent ${after.map((k) => k.operation).join(", ")} after SIGTERM`);
    }
  }
}

/** Behaviours whose outcome does not depend on timing: healthy (or briefly slow) succeeds, these fail. */
const DETERMINISTIC_FAILURES = new Set(["earlyCrash", "unhealthy", "expired"]);
const TIMED_OUT = /timed? ?out|timeout|deadline/i;

/**
 * README promises beyond safety, and I7's "faults change only the timing of a verdict": when nothing but the API
 * misbehaves (faults, stale reads, maintenance), a healthy component succeeds and a deterministically failing one
 * is rolled back (with --atomic: all are rolled back if one fails). A verdict the deadline decided (the record says
 * it timed out) is exempt: a slower API may legitimately exhaust --timeout. A missing image stops preflight.
 */
export function checkLiveness(x: Context): void {
  const { o } = x;
  const s = o.schedule;
  const kind = (c: ComponentName): string => s.behaviours[c]?.kind ?? "healthy";
  if (s.components.some((c) => kind(c) === "missing")) {
    if (o.exitCode !== 5) add(x, "LIVE", undefined, `an image is missing from ECR: expected exit 5 (precondition), got ${o.exitCode}`);
    const writes = x.toolCalls.filter((k) => SERVICE_WRITES.has(k.operation) && k.status === 200);
    if (writes.length > 0) add(x, "LIVE", undefined, `an image is missing from ECR, yet the tool changed services (${writes.map((k) => k.operation).join(",")})`);
    return;
  }
  // A run the watchdog had to stop (past every deadline) already fails I7; its verdict says nothing more.
  if (o.overran) return;
  const healthy = (c: ComponentName): boolean => kind(c) === "healthy" || (kind(c) === "slow" && (s.behaviours[c] as { startDelayMs: number }).startDelayMs <= 300);
  const onlyApi = !s.previousBroken && !s.thirdParty && !s.abort && (!s.targeted || s.targeted.action.kind === "delay");
  if (!onlyApi || !s.components.every((c) => healthy(c) || DETERMINISTIC_FAILURES.has(kind(c)))) return;
  const anyFails = s.components.some((c) => !healthy(c));
  const timedOut = (c: ComponentName): boolean => TIMED_OUT.test((o.records.get(c)?.failureReasons ?? []).join(" "));
  // With --atomic, one component's deadline decides for all of them.
  const atomicTimeout = s.flags.atomic && s.components.some(timedOut);
  for (const c of s.components) {
    const rec = o.records.get(c);
    const want = !anyFails ? "succeeded" : !healthy(c) || s.flags.atomic ? "rolled-back" : "succeeded";
    if (rec?.verdict === want || timedOut(c) || atomicTimeout) continue;
    add(x, "LIVE", c, `${kind(c)} image${anyFails && s.flags.atomic ? " in an atomic release with a failing component" : ""}, only the API misbehaving: expected ${want}, got ${rec?.verdict ?? "no record"} (exit ${o.exitCode}) — README: the watch survives throttling, 5xx, dropped connections`);
  }
}
