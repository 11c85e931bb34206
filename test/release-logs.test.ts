/**
 * The failed tasks' container logs in a release's failure report and record, end to end against the emulator: read
 * only after the rollback call went out, bounded, and never changing the verdict when they cannot be read.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
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
  let rig: Rig;
  before(async () => {
    rig = await crashingRig();
  });
  after(async () => {
    await rig.close();
  });
  /** B again: lgtm-deploy's fail-fast decides (a breaker threshold out of reach) and makes the rollback call itself. */
  const broken = (...extra: string[]) => rig.cli(["deploy", "loki", "--env", "local", "--sha", B, "--max-failed-tasks", "200", ...extra]);

  it("a crash-looping release shows the crashed container's own lines under the task, in the report and the record", async () => {
    {
      const r = await broken("--log-lines", "3");
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
      assert.equal(rig.record("loki").deployments.rollbackBy, "lgtm-deploy");
    }
  });

  for (const [name, errorType, message, note] of [
    ["forbidden (AccessDeniedException)", "AccessDeniedException", "User is not authorized to perform: logs:GetLogEvents", /logs unavailable: AccessDeniedException on logs:GetLogEvents for \/ecs\/lgtm-local\/loki — add it to the Jenkins role \(iam\/jenkins-deploy-policy\.json\)/],
    ["missing (no such stream)", "ResourceNotFoundException", "The specified log stream does not exist.", /logs unavailable: no log stream loki\/loki\/[0-9a-f]+ in \/ecs\/lgtm-local\/loki/],
  ] as const) {
    it(`logs ${name}: one line under each task read, the verdict and exit code unchanged`, async () => {
      rig.emu.mergeScenario({ faults: [{ operation: "GetLogEvents", fault: "error", errorType, message }] });
      try {
        rig.emu.clearCalls();
        const r = await broken();
        assert.equal(r.code, 3, r.stdout + r.stderr);
        const rec = rig.record("loki");
        assert.equal(rec.verdict, "rolled-back");
        const read = failedTasks(rig).filter((t) => t.logLines !== undefined);
        assert.ok(read.length >= 1);
        for (const t of read) {
          assert.deepEqual(t.logLines, []);
          assert.match(t.logNote ?? "", note);
          assert.doesNotMatch(t.logNote ?? "", /\n/);
        }
        const report = reportOf(r.stdout);
        assert.equal(report.split("\n").filter((l) => /^ {6}logs unavailable: /.test(l)).length, read.length, report);
        assert.doesNotMatch(r.stdout + r.stderr, /unexpected error|at .+:\d+:\d+/);
      } finally {
        rig.emu.mergeScenario({ faults: [] });
      }
    });
  }

  it("a manual rollback to a crashing revision: its failed tasks' lines in the rollback's report and record", async () => {
    const rec = rig.record("loki");
    const crashing = rec.taskDefinition.new as string; // the last broken release's revision (B)
    rig.emu.clearCalls();
    const r = await rig.cli(["rollback", "loki", "--env", "local", "--to", crashing.split(":").pop()!, "--reason", "test", "--max-failed-tasks", "200", "--log-lines", "2"]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    const read = failedTasks(rig).filter((t) => t.logLines !== undefined);
    assert.ok(read.length >= 1, JSON.stringify(rig.record("loki").stoppedTasks));
    for (const t of read) assert.deepEqual(t.logLines, ["goroutine 1 [running]:", "  main.main()"]);
    assert.match(reportOf(r.stdout), /\n {6}last 2 log line\(s\):\n {8}\| goroutine 1 \[running\]:\n/);
  });

  it("--log-lines 0: no GetLogEvents call, no log fields in the record", async () => {
    rig.emu.clearCalls();
    const r = await broken("--log-lines", "0");
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.deepEqual(ops(rig).filter((c) => c.service === "logs"), []);
    for (const t of failedTasks(rig)) assert.ok(!("logLines" in t) && !("logNote" in t), JSON.stringify(t));
    assert.doesNotMatch(reportOf(r.stdout), /log line|logs unavailable/);
  });

  it("by default (20 lines): at most 3 failed tasks read, one GetLogEvents each, none before the release went out", async () => {
    rig.emu.clearCalls();
    // Counting failures (no fail-fast) lets several tasks fail before the rollback.
    const r = await rig.cli(["deploy", "loki", "--env", "local", "--sha", B, "--max-failed-tasks", "4", "--no-fail-fast"]);
    assert.ok(r.code === 3, r.stdout + r.stderr);
    const read = failedTasks(rig).filter((t) => t.logLines !== undefined);
    assert.ok(read.length >= 1 && read.length <= 3, JSON.stringify(failedTasks(rig)));
    for (const t of read) assert.deepEqual(t.logLines, ['level=info msg="Starting Loki"', ...PANIC.map((l) => l.replace("\t", "  "))]);
    const calls = ops(rig);
    const firstChange = calls.findIndex((c) => c.op === "StopServiceDeployment" || c.op === "UpdateService");
    const reads = calls.filter((c) => c.op === "GetLogEvents");
    assert.equal(reads.length, read.length);
    // Whoever rolled back (ECS's breaker or lgtm-deploy), no log was read before the release's UpdateService.
    assert.ok(reads.every((g) => g.seq > calls[firstChange]!.seq));
  });
});
