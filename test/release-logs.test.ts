/**
 * The failed tasks' container logs in a release's failure report and record, end to end against the emulator: read
 * only after the rollback call went out, bounded, and never changing the verdict when they cannot be read.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startRig, type Rig } from "./helpers/emulator.js";

const A = "aaaaaaa1111";
const B = "bbbbbbb2222";
const PANIC = ["panic: invalid memberlist configuration: join_members must not be empty", "goroutine 1 [running]:", "\tmain.main()"];

/** Loki released at A, then B crash-loops with its own panic lines in the awslogs stream. */
async function crashingRig(): Promise<Rig> {
  const rig = await startRig(["loki"], [A, B]);
  const first = await rig.cli(["deploy", "loki", "--env", "local", "--sha", A, "--create-missing"]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  rig.emu.mergeScenario({ images: { [rig.digest("loki", B)]: { behavior: "crash", afterMs: 10, logs: [{ afterMs: 0, message: 'level=info msg="Starting Loki"' }], exitLog: PANIC } } });
  rig.emu.clearCalls();
  return rig;
}

type Task = { taskId: string; failed: boolean; logLines?: string[]; logNote?: string };
const failedTasks = (rig: Rig): Task[] => (rig.record("loki").stoppedTasks as Task[]).filter((t) => t.failed);
/** The report as printed, without the progress lines' timestamp and component prefix. */
const reportOf = (stdout: string) => stdout.slice(stdout.lastIndexOf("release report:")).replace(/^\S+Z \[\w+\] /gm, "");
const ops = (rig: Rig) => rig.emu.calls().map((c) => ({ seq: c.seq, op: c.operation, service: c.service }));

describe("failed tasks' log lines in the report and the record (emulator)", () => {
  it("a crash-looping release shows the crashed container's own lines under the task, in the report and the record", async () => {
    const rig = await crashingRig();
    try {
      // A breaker threshold out of reach: lgtm-deploy's fail-fast decides and makes the rollback call itself.
      const r = await rig.cli(["deploy", "loki", "--env", "local", "--sha", B, "--log-lines", "3", "--max-failed-tasks", "200"]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      const failed = failedTasks(rig);
      assert.ok(failed.length >= 1);
      const read = failed.filter((t) => t.logLines !== undefined);
      assert.ok(read.length >= 1 && read.length <= 3, JSON.stringify(failed));
      for (const t of read) {
        assert.deepEqual(t.logLines, ["panic: invalid memberlist configuration: join_members must not be empty", "goroutine 1 [running]:", "  main.main()"]);
        assert.equal(t.logNote, undefined);
      }
      const report = reportOf(r.stdout);
      const id = read[0]!.taskId.slice(0, 12);
      assert.match(report, new RegExp(`\\n {4}${id}: crashed[^]*?\\n {6}last 3 log line\\(s\\):\\n {8}\\| panic: invalid memberlist configuration: join_members must not be empty\\n {8}\\| goroutine 1 \\[running\\]:\\n {8}\\|   main\\.main\\(\\)\\n`), report);
      // One GetLogEvents per task read, all after the rollback call went out.
      const calls = ops(rig);
      const rollback = calls.find((c) => c.op === "StopServiceDeployment" || (c.op === "UpdateService" && calls.some((u) => u.op === "UpdateService" && u.seq < c.seq)));
      assert.ok(rollback, JSON.stringify(calls.map((c) => c.op)));
      const reads = calls.filter((c) => c.op === "GetLogEvents");
      assert.equal(reads.length, read.length);
      for (const g of reads) assert.ok(g.seq > rollback.seq, `GetLogEvents #${g.seq} before the rollback call #${rollback.seq}`);
      assert.equal(rig.record("loki").apiCalls.calls["Logs:GetLogEvents"], read.length);
    } finally {
      await rig.close();
    }
  });
});
