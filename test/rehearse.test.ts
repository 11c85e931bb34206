/**
 * `npm start` (rehearse): the broken release's report shows the crashed container's own panic line under the failed
 * task, read from its awslogs stream in the emulator — the same bundle and code paths a Jenkins release uses.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { PANIC } from "../src/rehearsal/rehearse.js";
import { runBundle } from "./helpers/cli.js";

test("npm start --fast: every step ok; the broken Loki's report and record carry its panic line", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lgtm-rehearse-"));
  try {
    const r = await runBundle(["rehearse", "--fast", "--records", dir]);
    assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr);
    assert.doesNotMatch(r.stdout, /^FAIL/m);
    assert.match(r.stdout, /^ok {3}the report and record show the crashed container's panic line$/m);
    const report = r.stdout.slice(r.stdout.lastIndexOf("release report:")).replace(/^\S+Z \[\w+\] /gm, "");
    assert.match(report, new RegExp(`\\n {4}[0-9a-f]{12}: crashed[^]*?\\n {6}last \\d+ log line\\(s\\):\\n(?: {8}\\|.*\\n)*? {8}\\| ${PANIC}\\n`), report);
    const rec = JSON.parse(readFileSync(path.join(dir, "broken-loki.json"), "utf8"));
    assert.equal(rec.verdict, "rolled-back");
    assert.ok(rec.stoppedTasks.some((t: { failed: boolean; logLines?: string[] }) => t.failed && t.logLines?.includes(PANIC)), JSON.stringify(rec.stoppedTasks));
    assert.ok(readdirSync(dir).length >= 13, "a record per release");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
