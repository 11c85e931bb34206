/**
 * Aborts the way Jenkins does them: the committed bundle as a real process in its own process group, SIGTERM to the
 * group, SIGKILL a few seconds later (hudson.util.ProcessTree: SoftKillWaitSeconds, 5 s by default). The emulator runs
 * in this process, so its call log shows when the rollback call arrived.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execa } from "execa";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { BUNDLE, REPO_ROOT } from "./helpers/cli.js";
import { startRig, type Rig } from "./helpers/emulator.js";

const A = "aaaaaaa1111";
const B = "bbbbbbb2222";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<number> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
  return Date.now();
}

const readRecord = (file: string): any => {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
};

function startBundle(rig: Rig, args: string[]) {
  return execa(process.execPath, [BUNDLE, "--root", REPO_ROOT, "--endpoint-url", rig.emu.url, ...args], {
    reject: false,
    detached: true, // its own process group, like a Jenkins sh step
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    forceKillAfterDelay: false,
  });
}

async function prepared(): Promise<Rig> {
  const rig = await startRig(["tempo"], [A, B]);
  const first = await rig.cli(["deploy", "tempo", "--env", "local", "--sha", A, "--create-missing"]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  // The new build never gets going: the release is mid-watch whenever the signal comes.
  rig.emu.mergeScenario({ images: { [rig.digest("tempo", B)]: { behavior: "slow", startDelayMs: 120_000 } } });
  rig.emu.clearCalls();
  return rig;
}

const rollbackCalls = (rig: Rig) => rig.emu.calls().filter((c) => c.operation === "StopServiceDeployment" || (c.operation === "UpdateService" && (c.input as any).taskDefinition !== undefined && /:1$/.test((c.input as any).taskDefinition)));

test("Jenkins abort: SIGTERM to the process group, SIGKILL 5 s later — rollback call within 1 s, this run's record within 2 s, exit before the kill", async () => {
  const rig = await prepared();
  const record = path.join(rig.dir, "tempo.json");
  writeFileSync(record, JSON.stringify({ runId: "an-older-run", verdict: "succeeded" }));
  try {
    const child = startBundle(rig, ["deploy", "tempo", "--env", "local", "--sha", B, "--poll-interval", "50ms", "--bake", "200ms", "--record", record]);
    await until("the release's UpdateService", () => rig.emu.calls().some((c) => c.operation === "UpdateService"));
    await sleep(200);
    const t0 = Date.now();
    process.kill(-child.pid!, "SIGTERM");
    const killer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 5_000);
    const tCall = await until("the rollback call", () => rollbackCalls(rig).length > 0, 5_000);
    const tRecord = await until("this run's record in a rollback phase", () => {
      const r = readRecord(record);
      return r !== undefined && r.runId !== "an-older-run" && /roll|done/.test(r.phase);
    }, 5_000);
    const result = await child;
    clearTimeout(killer);
    const rollbackMs = tCall - t0;
    const recordMs = tRecord - t0;
    console.log(`# SIGTERM → rollback call arrived: ${rollbackMs} ms; → record of this run in a rollback phase: ${recordMs} ms; → exit ${result.exitCode} after ${Date.now() - t0} ms`);
    assert.ok(rollbackMs < 1_000, `rollback call after ${rollbackMs} ms`);
    assert.ok(recordMs < 2_000, `record after ${recordMs} ms`);
    assert.equal(result.signal ?? null, null, "exited by itself, before the SIGKILL");
    assert.ok([3, 4].includes(result.exitCode!), `${result.exitCode}\n${result.stdout}\n${result.stderr}`);
    const final = readRecord(record);
    assert.equal(final.status, "finished");
    assert.equal(final.exitCode, result.exitCode);
    assert.match(final.failureReasons.join(), /aborted/);
    assert.match(result.stderr, /received SIGTERM/);
  } finally {
    await rig.close();
  }
});

test("a second signal writes the record (this run's, 'interrupted'), then exits at once", async () => {
  const rig = await prepared();
  const record = path.join(rig.dir, "tempo.json");
  writeFileSync(record, JSON.stringify({ runId: "an-older-run", verdict: "succeeded" }));
  try {
    // A long bake keeps the rollback being judged when the second signal comes.
    const child = startBundle(rig, ["deploy", "tempo", "--env", "local", "--sha", B, "--poll-interval", "50ms", "--bake", "20s", "--abort-grace", "30s", "--record", record]);
    await until("the release's UpdateService", () => rig.emu.calls().some((c) => c.operation === "UpdateService"));
    process.kill(-child.pid!, "SIGTERM");
    await until("the rollback call", () => rollbackCalls(rig).length > 0, 5_000);
    await sleep(300);
    const t1 = Date.now();
    process.kill(-child.pid!, "SIGTERM");
    const result = await child;
    assert.ok(Date.now() - t1 < 1_000, "exits at once");
    assert.equal(result.exitCode, 130, result.stdout + result.stderr);
    const rec = readRecord(record);
    assert.notEqual(rec.runId, "an-older-run");
    assert.equal(rec.status, "interrupted");
    assert.equal(rec.exitCode, 4);
    assert.match(rec.message, /interrupted by a second signal while rolling back to lgtm-tempo:1/);
  } finally {
    await rig.close();
  }
});

test("SIGTERM before any change: nothing changed, exit 5, and the record says so", async () => {
  const rig = await prepared();
  rig.emu.mergeScenario({ api: { DescribeClusters: { latencyMs: 1500 } } });
  const record = path.join(rig.dir, "tempo.json");
  try {
    const child = startBundle(rig, ["deploy", "tempo", "--env", "local", "--sha", B, "--poll-interval", "50ms", "--bake", "200ms", "--record", record]);
    await until("the plan's first call", () => rig.emu.calls().some((c) => c.operation === "DescribeClusters"));
    process.kill(-child.pid!, "SIGTERM");
    const result = await child;
    assert.equal(result.exitCode, 5, result.stdout + result.stderr);
    assert.deepEqual(rig.emu.calls().filter((c) => c.mutating).map((c) => c.operation), []);
    assert.equal(readRecord(record).verdict, "not-started");
  } finally {
    await rig.close();
  }
});

/**
 * A SIGTERM that arrives while Node is still evaluating the bundle (Jenkins aborting the moment the step starts): the
 * bundle's first statement holds it (scripts/build.mjs), and main() handles it as a stop before anything was done —
 * not Node's default action, which would end the process by the signal and leave an older run's record in place. The
 * preload sends the signal synchronously right after that first statement, so the moment is exact on any machine.
 */
test("SIGTERM while the bundle is still being evaluated: handled as a stop — exit 5, this run's not-started record, no change", async () => {
  const rig = await prepared();
  const record = path.join(rig.dir, "tempo.json");
  const preload = path.join(rig.dir, "term-during-evaluation.mjs");
  writeFileSync(
    preload,
    [
      "const on = process.on.bind(process);",
      "let sent = false;",
      "process.on = (event, fn) => {",
      "  const r = on(event, fn);",
      '  if (!sent && event === "SIGINT" && fn === globalThis.__lgtmEarlyHandler) {',
      "    sent = true;",
      '    process.kill(process.pid, "SIGTERM");',
      '    process.stderr.write("preload: SIGTERM sent while the bundle is evaluated\\n");',
      "  }",
      "  return r;",
      "};",
    ].join("\n"),
  );
  writeFileSync(record, JSON.stringify({ runId: "an-older-run", verdict: "succeeded" }));
  try {
    const args = ["--root", REPO_ROOT, "--endpoint-url", rig.emu.url, "deploy", "tempo", "--env", "local", "--sha", B, "--record", record];
    const result = await execa(process.execPath, ["--import", preload, BUNDLE, ...args], { reject: false, cwd: REPO_ROOT, env: { NO_COLOR: "1" } });
    assert.match(result.stderr, /preload: SIGTERM sent while the bundle is evaluated/, "the bundle's first statement installs the early handler");
    assert.equal(result.signal, undefined, `ended by the signal's default action: ${result.stderr}`);
    assert.equal(result.exitCode, 5, result.stdout + result.stderr);
    assert.match(result.stderr, /received SIGTERM/);
    assert.deepEqual(rig.emu.calls().filter((c) => c.mutating).map((c) => c.operation), []);
    const rec = readRecord(record);
    assert.notEqual(rec?.runId, "an-older-run", "the older run's record was replaced");
    assert.equal(rec?.verdict, "not-started");
  } finally {
    await rig.close();
  }
});

// Keep execa imported for its types in startBundle's return value.
void execa;
