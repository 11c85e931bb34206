/**
 * README "From an empty account to the first release": every command in it exists with the flags it uses, and the
 * figures it quotes are what the tools print. Also: the helper never pulls in CDK.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { Command } from "commander";
import { buildProgram } from "../src/cli.js";
import { stackName } from "../src/core/environment.js";
import { Project } from "../src/adapters/files.js";
import { BUNDLE, REPO_ROOT, runCli } from "./helpers/cli.js";

const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
const section = readme.slice(readme.indexOf("## From an empty account to the first release"), readme.indexOf("## Task and service definitions"));
const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
const lines = block.split("\n").filter((l) => l.trim() !== "").map((l) => l.replace(/\s+#\s.*$/, "").trim());
const prod = new Project(REPO_ROOT).environment("prod");

/** Shell words of one simple command (quotes removed; $(...) kept as one word). */
function words(segment: string): string[] {
  return (segment.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^["']|["']$/g, ""));
}
/** The simple commands of a line: split on |, ;, &&, || and the for-loop keywords. */
function commands(line: string): string[][] {
  return line
    .split(/\s*(?:\|\||&&|\||;)\s*/)
    .map((s) => s.replace(/^(for .* in .*|do|done)\s*/, "").trim())
    .filter((s) => s !== "" && !s.startsWith("for "))
    .map(words);
}

test("the walk-through is one command per step, in order: cost, synth, bootstrap, deploy, sync, build, release", () => {
  const order = ["npm ci", "alias lgtm-deploy", "lgtm-deploy cost", "npm run synth", "npm run bootstrap", "npm run deploy", "aws cloudformation describe-stacks", "for c in", "lgtm-deploy deploy"];
  assert.deepEqual(lines.map((l) => order.find((o) => l.startsWith(o))), order);
});

test("every lgtm-deploy command in it exists and accepts the flags it is given", () => {
  const program = buildProgram({ out: () => {}, err: () => {}, env: {}, signal: new AbortController().signal }, () => {});
  const globalFlags = program.options.map((o) => o.long);
  let checked = 0;
  for (const line of lines) {
    for (const cmd of commands(line)) {
      if (cmd[0] !== "lgtm-deploy") continue;
      let target: Command = program;
      let i = 1;
      while (i < cmd.length && !cmd[i]!.startsWith("-")) {
        const sub: Command | undefined = target.commands.find((c) => c.name() === cmd[i]);
        if (sub === undefined) break;
        target = sub;
        i++;
      }
      assert.notEqual(target, program, `${cmd.join(" ")}: no such command`);
      const known = [...globalFlags, ...target.options.map((o) => o.long)];
      for (const flag of cmd.filter((w) => w.startsWith("--"))) assert.ok(known.includes(flag), `${cmd.join(" ")}: ${target.name()} has no ${flag}`);
      checked++;
    }
  }
  assert.equal(checked, 4, "cost, env sync, build, deploy");
  assert.ok(existsSync(path.join(REPO_ROOT, /node \$PWD\/(\S+)"/.exec(block)![1]!)), "the alias points at the committed bundle");
});

test("the npm scripts exist in infra/, the bootstrap target and the stack name are prod's", () => {
  const scripts = (JSON.parse(readFileSync(path.join(REPO_ROOT, "infra/package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  for (const m of block.matchAll(/npm run (\w+) -w infra/g)) assert.match(scripts[m[1]!] ?? "", /^cdk \w+ --no-notices$/, m[1]);
  assert.match(block, new RegExp(`aws://${prod.account}/${prod.region}`));
  assert.match(block, new RegExp(`--stack-name ${stackName(prod)} `));
  assert.match(block, new RegExp(`-c env=${prod.name}`));
});

test("the AWS CLI accepts the describe-stacks command as written (parameter validation, no network)", async (t) => {
  const aws = "/usr/bin/aws";
  if (!existsSync(aws)) {
    t.skip("Debian awscli (/usr/bin/aws) is not installed; .ci/run installs it");
    return;
  }
  const line = lines.find((l) => l.startsWith("aws cloudformation"))!;
  const cmd = commands(line)[0]!;
  const env = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_MAX_ATTEMPTS: "1", AWS_PAGER: "", AWS_DEFAULT_REGION: prod.region };
  const r = await execa(aws, [...cmd.slice(1), "--endpoint-url", "http://127.0.0.1:9"], { reject: false, env, extendEnv: false, timeout: 60_000 });
  assert.match(r.stderr, /Could not connect to the endpoint URL/, r.stderr);
});

test("the cost figures the README quotes are what cost prints", async () => {
  const r = await runCli(["cost", "--env", "prod"]);
  assert.equal(r.code, 0, r.stderr);
  const quoted = /\*\*What it costs\*\*[\s\S]*?\n\n/.exec(section)![0];
  for (const figure of ["$455.94", "$364.80", "$91.14", "$10.53", "130 GB", "~$560", "2026-07-01"]) {
    assert.ok(quoted.includes(figure), `README quotes ${figure}`);
    assert.ok(r.stdout.includes(figure), `cost prints ${figure}`);
  }
});

test("the helper never pulls in CDK: no import in src/, nothing of it in the bundle", () => {
  const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(path.join(dir, d.name)) : [path.join(dir, d.name)]));
  for (const file of files(path.join(REPO_ROOT, "src")).filter((f) => f.endsWith(".ts"))) {
    assert.doesNotMatch(readFileSync(file, "utf8"), /from\s+["'](aws-cdk-lib|constructs|aws-cdk)(\/[^"']*)?["']|import\(\s*["']aws-cdk/, path.relative(REPO_ROOT, file));
  }
  const bundle = readFileSync(BUNDLE, "utf8");
  for (const marker of ["aws-cdk-lib", "constructs.Construct", "CfnResource"]) assert.equal(bundle.includes(marker), false, marker);
});
