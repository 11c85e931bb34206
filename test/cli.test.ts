import { test } from "node:test";
import assert from "node:assert/strict";
import { execa, type ResultPromise } from "execa";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createAwsClients } from "../src/adapters/aws.js";
import { Project } from "../src/adapters/files.js";
import { makeTag } from "../src/core/tag.js";
import { createCluster, createRepository, pushManifest } from "../src/rehearsal/seed.js";
import { VERSION } from "../src/version.js";
import { BUNDLE, REPO_ROOT, runBundle, runCli } from "./helpers/cli.js";

const COMMANDS = ["components", "tag", "version", "render", "build", "deploy", "rollback", "status", "diff", "emulator", "rehearse"];

test("--version matches package.json; every command has --help with the exit codes", async () => {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
  assert.equal(VERSION, pkg.version);
  const v = await runBundle(["--version"]);
  assert.equal(v.stdout.trim(), pkg.version);
  const top = await runCli(["--help"]);
  assert.equal(top.code, 0);
  for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`\\n  ${c}\\b`), `top-level help lists ${c}`);
  for (const c of COMMANDS) {
    const r = await runCli([c, "--help"]);
    assert.equal(r.code, 0, c);
    assert.match(r.stdout, /Exit codes:\n  0  success\n  1  unexpected error\n  2  invalid input/, c);
    assert.match(r.stdout, /4  release failed and rollback failed or was impossible/);
  }
});

test("usage errors exit 2 and name the flag", async () => {
  let r = await runCli(["deploy", "mimir", "--env", "local", "--sha", "abcdef1", "--timeout", "soon"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--timeout must be a duration such as 90s, 20m or 1h30m, got "soon"/);
  r = await runCli(["deploy", "mimir", "--env", "local", "--sha", "abcdef1", "--max-failed-tasks", "-1"]);
  assert.equal(r.code, 2);
  r = await runCli(["deploy", "mimir", "--env", "local", "--sha", "abcdef1", "--on-abort", "panic"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--on-abort/);
  r = await runCli(["deploy", "mimir", "loki", "--env", "local", "--tag", "1.0.0_gabcdef1"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--tag applies to a single component/);
  r = await runCli(["deploy", "--env", "local", "--sha", "abcdef1"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /name at least one component/);
  r = await runCli(["frobnicate"]);
  assert.equal(r.code, 2);
});

test("components --json is the catalogue", async () => {
  const r = await runCli(["--json", "components"]);
  const rows = JSON.parse(r.stdout);
  assert.deepEqual(rows.map((c: any) => [c.name, c.tasks, c.cpu, c.memory]), [
    ["mimir", 3, 2048, 4096],
    ["loki", 2, 1024, 2048],
    ["tempo", 1, 1024, 2048],
    ["pyroscope", 1, 1024, 2048],
    ["grafana", 1, 512, 1024],
    ["alloy", 1, 512, 1024],
  ]);
});

/** Starts the bundled emulator as its own process and returns its URL. */
async function bundledEmulator(): Promise<{ url: string; proc: ResultPromise }> {
  const proc = execa(process.execPath, [BUNDLE, "emulator", "--port", "0", "--max-lifetime", "5m"], { reject: false, env: { NO_COLOR: "1" } });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = "";
    proc.stdout!.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(buf);
      if (m) resolve(m[1]!);
    });
    proc.once("exit", () => reject(new Error(`emulator exited early: ${buf}`)));
  });
  return { url, proc };
}

test("the bundle as a process: release, then SIGTERM mid-watch rolls back, against the bundled emulator", async () => {
  const { url, proc } = await bundledEmulator();
  const dir = mkdtempSync(path.join(tmpdir(), "lgtm-bundle-"));
  const clients = await createAwsClients({ region: "us-east-1", endpointUrl: url, env: {} });
  try {
    const env = new Project(REPO_ROOT).environment("local");
    await createCluster(clients, env);
    await createRepository(clients, env, "tempo");
    const [a, b] = ["a1b2c3d4e5f6", "b2c3d4e5f6a7"].map((sha) => makeTag({ version: new Project(REPO_ROOT).version("tempo"), sha }).tag);
    await pushManifest(clients, env, "tempo", a!);
    const slowDigest = await pushManifest(clients, env, "tempo", b!);
    // Seconds-long default timings of the emulator are slow for a test: make them short, and make b slow to start.
    const res = await fetch(`${url}/_emulator/scenario`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ timing: { provisioningMs: 20, pendingMs: 20, healthCheckMs: 20, drainMs: 10, stopMs: 10 }, images: { [slowDigest]: { behavior: "slow", startDelayMs: 60_000 } } }),
    });
    assert.equal(res.status, 200);
    const common = ["--endpoint-url", url, "deploy", "tempo", "--env", "local", "--poll-interval", "50ms", "--bake", "200ms"];
    const first = await runBundle([...common, "--tag", a!, "--create-missing", "--record", path.join(dir, "first.json")]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal(JSON.parse(readFileSync(path.join(dir, "first.json"), "utf8")).verdict, "succeeded");

    const release = execa(process.execPath, [BUNDLE, ...common, "--tag", b!, "--record", path.join(dir, "second.json")], { reject: false, cwd: REPO_ROOT, env: { NO_COLOR: "1" }, forceKillAfterDelay: false });
    let out = "";
    release.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    for (let i = 0; i < 200 && !/deployment ecs-svc\/\d+ started/.test(out); i++) await new Promise((r) => setTimeout(r, 25));
    release.kill("SIGTERM");
    const r = await release;
    assert.equal(r.exitCode, 3, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /received SIGTERM, stopping the watch/);
    assert.match(r.stdout, /release failed: release aborted \(SIGINT\/SIGTERM\)/);
    assert.match(r.stdout, /rolling back to lgtm-tempo:1/);
    const rec = JSON.parse(readFileSync(path.join(dir, "second.json"), "utf8"));
    assert.equal(rec.verdict, "rolled-back");
    assert.match(rec.taskDefinition.rolledBackTo, /lgtm-tempo:1$/);
  } finally {
    clients.destroy();
    proc.kill("SIGTERM");
    const e = await proc;
    rmSync(dir, { recursive: true, force: true });
    assert.match(String(e.stderr), /emulator stopped \(signal\)/);
  }
});
