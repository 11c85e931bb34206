/**
 * Ordinary CLI manners: a closed stdout, dummy credentials for loopback endpoints, global options in every --help,
 * README and --help in step, short errors from the bundle as a process (stack only with --debug), status header.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { describe, mock, test } from "node:test";
import { Project } from "../src/adapters/files.js";
import { HONOURED_GLOBALS, buildProgram } from "../src/cli.js";
import { BUNDLE, REPO_ROOT, runBundle, runCli } from "./helpers/cli.js";
import { startRig } from "./helpers/emulator.js";

/** Every command the CLI has (not a hand-kept list: a new command must appear in README and HONOURED_GLOBALS). */
const COMMANDS = buildProgram({ out: () => undefined, err: () => undefined, env: {}, signal: new AbortController().signal }, () => undefined).commands.map((c) => c.name());

/** A command with subcommands documents its options on its one subcommand (env sync, migrate check, cutover plan). */
const SUBCOMMAND: Record<string, string> = { env: "sync", migrate: "check", cutover: "plan" };
const helpArgs = (c: string): string[] => (SUBCOMMAND[c] === undefined ? [c, "--help"] : [c, SUBCOMMAND[c]!, "--help"]);

/** `--flag` names in the "Options:" and "Global options" sections of a --help text (not -h/--help, -V/--version). */
function helpFlags(text: string): { own: Set<string>; global: Set<string> } {
  const section = (title: RegExp) => {
    const lines = text.split("\n");
    const start = lines.findIndex((l) => title.test(l));
    if (start < 0) return new Set<string>();
    const out = new Set<string>();
    for (const line of lines.slice(start + 1)) {
      if (!/^ {2}\S/.test(line) && !/^ {3,}/.test(line)) break;
      const m = /^ {2}(?:-\w, )?(--[a-z][a-z-]*)/.exec(line);
      const flag = m?.[1];
      if (flag !== undefined && flag !== "--help" && flag !== "--version") out.add(flag);
    }
    return out;
  };
  return { own: section(/^Options:/), global: section(/^Global options/) };
}

/** The README's "Options by command" table: command → its options and the global options it honours. */
function readmeTable(): Map<string, { own: Set<string>; global: Set<string> }> {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const table = readme.slice(readme.indexOf("### Options by command"));
  const rows = new Map<string, { own: Set<string>; global: Set<string> }>();
  for (const line of table.split("\n").slice(1)) {
    if (line.startsWith("#")) break;
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const name = /^`([a-z]+)/.exec(cells[1] ?? "")?.[1];
    if (name === undefined || cells.length < 5) continue;
    const flags = (cell: string) => new Set([...cell.matchAll(/`(--[a-z][a-z-]*)`/g)].map((m) => m[1]!));
    rows.set(name, { own: flags(cells[2]!), global: flags(cells[3]!) });
  }
  return rows;
}

describe("--help and README", () => {
  test("every subcommand's --help lists exactly the global options it honours, and the exit codes", async () => {
    assert.deepEqual([...COMMANDS].sort(), Object.keys(HONOURED_GLOBALS).sort(), "HONOURED_GLOBALS names every command");
    for (const c of COMMANDS) {
      const r = await runCli([c, "--help"]);
      assert.equal(r.code, 0, c);
      const { global } = helpFlags(r.stdout);
      assert.deepEqual([...global].sort(), HONOURED_GLOBALS[c]!.map((g) => `--${g.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)}`).sort(), c);
      assert.match(r.stdout, /\n {2}6 {2}diff --exit-code: there are differences/, c);
    }
    const nested = await runCli(["version", "bump", "--help"]);
    assert.deepEqual([...helpFlags(nested.stdout).global].sort(), ["--debug", "--json", "--root"]);
  });

  test("README's options table and --help agree, both ways, per command", async () => {
    const table = readmeTable();
    assert.deepEqual([...table.keys()].sort(), [...COMMANDS].sort(), "one row per command");
    for (const c of COMMANDS) {
      const help = helpFlags((await runCli(helpArgs(c))).stdout);
      const row = table.get(c)!;
      assert.deepEqual([...row.own].sort(), [...help.own].sort(), `${c}: README options vs --help`);
      assert.deepEqual([...row.global].sort(), [...help.global].sort(), `${c}: README global options vs --help`);
    }
  });

  test("every flag in the README's command synopses exists in that command's --help", async () => {
    const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const block = readme.slice(readme.indexOf("## Commands")).split("```")[1]!;
    for (const line of block.split("\n").filter((l) => l.startsWith("lgtm-deploy "))) {
      const command = line.split(/\s+/)[1]!;
      const help = helpFlags((await runCli(helpArgs(command))).stdout);
      for (const flag of line.replace(/#.*$/, "").match(/--[a-z][a-z-]*/g) ?? []) {
        assert.ok(help.own.has(flag) || help.global.has(flag), `README synopsis "${line}": ${flag} is not in "${command} --help"`);
      }
    }
  });
});

describe("a closed stdout (lgtm-deploy ... | head -1)", () => {
  for (const args of [["--help"], ["components"], ["render", "--all", "--env", "prod", "--sha", "0123456"], ["deploy", "--help"]]) {
    test(`${args.join(" ")}: exits 0, nothing on stderr`, async () => {
      // The reader goes away before the command writes anything: every write meets EPIPE.
      const child = spawn(process.execPath, [BUNDLE, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.destroy();
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((r) => child.on("close", r));
      assert.equal(code, 0, stderr);
      assert.equal(stderr, "");
    });
  }
});

describe("loopback endpoints never see real credentials", () => {
  const REAL = { AWS_ACCESS_KEY_ID: "AKIAREALKEY000000001", AWS_SECRET_ACCESS_KEY: "real-secret-key", AWS_SESSION_TOKEN: "real-session-token", AWS_PROFILE: "production" };

  test("in-process and as a process: every request is signed with the dummy key, no session token", async () => {
    const rig = await startRig(["tempo"], ["a1b2c3d4e5f6"]);
    // A recording proxy in front of the emulator: it sees the headers the emulator would see.
    const seen: Array<{ authorization?: string; token?: string }> = [];
    const target = new URL(rig.emu.url);
    const proxy = createServer((req, res) => {
      seen.push({ authorization: req.headers.authorization, token: req.headers["x-amz-security-token"] as string | undefined });
      const fwd = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(fwd);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const inProcess = await runCli(["status", "tempo", "--env", "local", "--endpoint-url", url], { env: REAL });
      assert.equal(inProcess.code, 5, inProcess.stderr); // tempo has no service yet: exit 5, after real calls
      const viaEnv = await runBundle(["diff", "tempo", "--env", "local", "--sha", "a1b2c3d4e5f6"], { env: { ...REAL, AWS_ENDPOINT_URL: url } });
      assert.equal(viaEnv.code, 0, viaEnv.stderr);
      assert.ok(seen.length >= 4, `requests seen: ${seen.length}`);
      for (const s of seen) {
        assert.match(s.authorization ?? "", /Credential=lgtm-local\//);
        assert.doesNotMatch(s.authorization ?? "", /AKIAREALKEY/);
        assert.equal(s.token, undefined, "no session token is sent");
      }
    } finally {
      await new Promise((r) => proxy.close(r));
      await rig.close();
    }
  });
});

describe("errors from the bundle as a process", () => {
  test("one short line, no stack; --debug adds the stack", async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [["status", "--env", "local", "--endpoint-url", "not a url"], 2, /^lgtm-deploy: invalid --endpoint-url "not a url": contains white space$/],
      [["status", "--env", "local", "--endpoint-url", "http://127.0.0.1:9"], 5, /^lgtm-deploy: cannot reach http:\/\/127\.0\.0\.1:9 for ECS DescribeClusters: connection refused/],
      [["render", "loki", "--env", "local", "--sha", "0123456", "--digest", "sha256:x"], 2, /^lgtm-deploy: invalid --digest "sha256:x"/],
      [["deploy", "tempo", "--env", "prod", "--sha", "0123456"], 2, /^lgtm-deploy: environments\/prod\.json: field "account" is still the placeholder/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runBundle(args, { env: { AWS_MAX_ATTEMPTS: "1", AWS_EC2_METADATA_DISABLED: "true" } });
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split("\n").length, 1, r.stderr);
      assert.ok(Buffer.byteLength(r.stderr) < 1024, `${Buffer.byteLength(r.stderr)} bytes`);
      const debug = await runBundle(["--debug", ...args], { env: { AWS_MAX_ATTEMPTS: "1", AWS_EC2_METADATA_DISABLED: "true" } });
      assert.equal(debug.code, code);
      assert.match(debug.stderr, /\n\s+at .+:\d+:\d+\)?$/m, `--debug prints a stack: ${debug.stderr}`);
      assert.ok(Buffer.byteLength(debug.stderr) < 8192, "even the stack is small: no data: URL frames");
    }
  });

  test("a bug: 'unexpected error', one line and the hint; the stack only with --debug", async () => {
    const broken = mock.method(Project.prototype, "environment", () => {
      throw new TypeError("Cannot read properties of undefined (reading 'cluster')");
    });
    try {
      const r = await runCli(["render", "loki", "--env", "local", "--sha", "0123456"]);
      assert.equal(r.code, 1);
      assert.deepEqual(r.stderr.split("\n"), [
        "lgtm-deploy: unexpected error: TypeError: Cannot read properties of undefined (reading 'cluster')",
        "lgtm-deploy: this is a bug in lgtm-deploy: re-run with --debug and report it with that output",
      ]);
      const d = await runCli(["render", "loki", "--env", "local", "--sha", "0123456", "--debug"]);
      assert.equal(d.code, 1);
      assert.match(d.stderr, /TypeError: Cannot read properties.*\n\s+at /);
    } finally {
      broken.mock.restore();
    }
  });

  test("an error thrown inside the AWS SDK: --debug frames name the bundle's vendor part (#vendor), the stack stays small", async () => {
    // Not JSON where ECS answers JSON: the SDK's deserializer throws, so the stack runs through the vm-compiled vendor code.
    const server = createServer((_req, res) => res.writeHead(501, { "content-type": "text/html" }).end("<!DOCTYPE html><p>no</p>"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const d = await runBundle(["--debug", "status", "--env", "local", "--endpoint-url", endpoint], { env: { AWS_MAX_ATTEMPTS: "1", AWS_EC2_METADATA_DISABLED: "true" } });
      assert.equal(d.code, 5, d.stderr);
      assert.match(d.stderr, new RegExp(`\\n\\s+at .*${path.basename(BUNDLE).replace(".", "\\.")}#vendor:\\d+:\\d+\\)?$`, "m"), d.stderr);
      assert.doesNotMatch(d.stderr, /data:/);
      assert.ok(Buffer.byteLength(d.stderr) < 8192, `${Buffer.byteLength(d.stderr)} bytes`);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test("the before-stop hook's command: status with a malformed endpoint stays far below 8 KB", async () => {
    const r = await runBundle(["status", "--env", "local", "--endpoint-url", "not a url"]);
    assert.equal(r.code, 2);
    assert.ok(Buffer.byteLength(r.stderr) < 200, r.stderr);
  });
});

describe("status", () => {
  test("prints a header (environment, cluster, region); exit 5 naming a missing service after the rows", async () => {
    const rig = await startRig([], []);
    try {
      const r = await rig.cli(["status", "--env", "local"]);
      assert.equal(r.code, 5);
      const lines = r.stdout.split("\n");
      assert.equal(lines[0], "environment local (environments/local.json), cluster lgtm, region us-east-1");
      assert.equal(lines.length, 7, "the header and one row per component");
      assert.match(lines[1]!, /^mimir: service lgtm-mimir does not exist$/);
      assert.match(r.stderr, /^lgtm-deploy: services lgtm-mimir, lgtm-loki, lgtm-tempo, lgtm-pyroscope, lgtm-grafana, lgtm-alloy do not exist in cluster "lgtm"/);
      const json = await rig.cli(["--json", "status", "--env", "local", "mimir"]);
      assert.equal(json.code, 5);
      assert.deepEqual(JSON.parse(json.stdout), { environment: "local", cluster: "lgtm", region: "us-east-1", components: [{ component: "mimir", service: "lgtm-mimir", exists: false }] });
      assert.deepEqual(rig.mutatingCalls(), []);
    } finally {
      await rig.close();
    }
  });
});
