/** The figures of a scenario's runs (medians), shared by bench/release.ts and test/bench-harness.test.ts. */
import { median } from "./lib.js";
import type { Approach, RunResult } from "./scenarios.js";

export interface Row {
  approach: Approach;
  exits: string;
  verdict: number | undefined;
  verdictAfterCompleted: number | undefined;
  failedToRollback: number | undefined;
  failedToHealthy: number | undefined;
  updateToCompleted: number | undefined;
  rollbackBy: string;
  readsPerPoll: number | undefined;
  polls: number | undefined;
  calls: number | undefined;
  /** Median read calls while watching, per operation ("DescribeServices 52, ListTasks 8"). */
  readsByOperation: string;
}

/** The medians of one approach's runs. Multi-service runs: the first failure / last recovery over all services. */
export function row(approach: Approach, runs: RunResult[]): Row {
  const pick = (f: (r: RunResult) => number | undefined) => median(runs.map(f));
  const first = (r: RunResult, f: (t: RunResult["timelines"][number]) => number | undefined) => minOf(r.timelines.map(f));
  const last = (r: RunResult, f: (t: RunResult["timelines"][number]) => number | undefined) => maxOf(r.timelines.map(f));
  const since = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a - b);
  const update = (r: RunResult) => first(r, (t) => t.updateAt);
  return {
    approach,
    exits: [...new Set(runs.map((r) => (r.exitCode === undefined ? "—" : String(r.exitCode))))].join("/"),
    verdict: pick((r) => since(r.verdictAt, update(r))),
    verdictAfterCompleted: pick((r) => since(r.verdictAt, last(r, (t) => t.releaseCompletedAt))),
    failedToRollback: pick((r) => since(first(r, (t) => t.rollbackAt), first(r, (t) => t.firstFailedAt))),
    failedToHealthy: pick((r) => since(last(r, (t) => t.healthyAgainAt), first(r, (t) => t.firstFailedAt))),
    updateToCompleted: pick((r) => since(last(r, (t) => t.releaseCompletedAt), update(r))),
    rollbackBy: [...new Set(runs.flatMap((r) => r.timelines.map((t) => t.rollbackBy ?? "none")))].join(", "),
    readsPerPoll: pick((r) => (r.reads && r.reads.polls > 0 ? r.reads.reads / r.reads.polls : undefined)),
    polls: pick((r) => r.reads?.polls),
    calls: pick((r) => r.calls),
    readsByOperation: [...new Set(runs.flatMap((r) => Object.keys(r.reads?.byOperation ?? {})))]
      .map((op) => `${op} ${median(runs.map((r) => r.reads?.byOperation[op] ?? 0))}`)
      .join(", "),
  };
}

function minOf(xs: Array<number | undefined>): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length === 0 ? undefined : Math.min(...v);
}
function maxOf(xs: Array<number | undefined>): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length === 0 || v.length < xs.length ? undefined : Math.max(...v);
}
