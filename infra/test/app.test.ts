import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { REPO_ROOT, stackEnvironmentNames } from "../lib/inputs.js";

// The README's command, as a process, with the network cut off when the machine allows it (unshare -n).
async function synthCli(args: string[]) {
  const outdir = mkdtempSync(path.join(tmpdir(), "lgtm-cdk-synth-"));
  const command = ["npm", "run", "-s", "synth", "-w", "infra", "--", ...args, "-q", "-o", outdir];
  const offline = (await execa("unshare", ["-n", "true"], { reject: false })).exitCode === 0;
  const r = await execa(offline ? "unshare" : command[0]!, offline ? ["-n", ...command] : command.slice(1), {
    cwd: REPO_ROOT,
    reject: false,
    // Validation runs in validation.test.ts; here it would only cost ~6 s.
    env: { CDK_DISABLE_CLI_TELEMETRY: "true", CDK_VALIDATION: "false", CDK_DISABLE_VERSION_CHECK: "1" },
    timeout: 120_000,
  });
  return { ...r, outdir, offline };
}

test("npm run synth -w infra -- -c env=prod works offline and writes the stack lgtm-prod", async (t) => {
  const r = await synthCli(["-c", "env=prod"]);
  try {
    assert.equal(r.exitCode, 0, r.stderr);
    if (!r.offline) t.diagnostic("unshare -n is not available here: ran with the network");
    const template = JSON.parse(readFileSync(path.join(r.outdir, "LgtmProd.template.json"), "utf8"));
    assert.equal(Object.keys(template.Resources).length, 66);
    const manifest = JSON.parse(readFileSync(path.join(r.outdir, "manifest.json"), "utf8"));
    assert.equal(manifest.artifacts.LgtmProd.properties.stackName, "lgtm-prod");
    assert.equal(manifest.artifacts.LgtmProd.environment, "aws://123456789012/ap-northeast-2");
    assert.equal(existsSync(path.join(REPO_ROOT, "infra/cdk.context.json")), false, "no context lookups were made");
  } finally {
    rmSync(r.outdir, { recursive: true, force: true });
  }
});

test("an environment without stack inputs: one line naming the file, no stack trace, non-zero exit", async () => {
  assert.deepEqual(stackEnvironmentNames(), ["prod"], "local has no stack");
  const r = await synthCli(["-c", "env=local"]);
  rmSync(r.outdir, { recursive: true, force: true });
  assert.notEqual(r.exitCode, 0);
  assert.match(r.stderr, /lgtm infra: environments\/local\.json has no "stack" inputs/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
});
