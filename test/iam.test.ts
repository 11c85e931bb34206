import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./helpers/cli.js";
import { startRig } from "./helpers/emulator.js";

interface Statement {
  Action: string | string[];
  Resource: string | string[];
}

const policy = JSON.parse(readFileSync(path.join(REPO_ROOT, "iam/jenkins-deploy-policy.json"), "utf8")) as { Statement: Statement[] };
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const allowed = (action: string) => policy.Statement.some((s) => list(s.Action).includes(action));

test("the Jenkins IAM policy allows every AWS call the helper makes in a release, a rollback and status", async () => {
  const rig = await startRig(["tempo"], ["aaaaaaa1111", "bbbbbbb2222"]);
  try {
    assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", "aaaaaaa1111", "--create-missing"])).code, 0);
    assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", "bbbbbbb2222", "--dry-run"])).code, 0);
    assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", "bbbbbbb2222"])).code, 0);
    assert.equal((await rig.cli(["rollback", "tempo", "--env", "local", "--to", "previous"])).code, 0);
    assert.equal((await rig.cli(["rollback", "tempo", "--env", "local", "--to", "1.1.0"])).code, 0);
    assert.equal((await rig.cli(["status", "--env", "local", "tempo"])).code, 0);
    assert.equal((await rig.cli(["diff", "tempo", "--env", "local", "--sha", "aaaaaaa1111"])).code, 0);
    const used = [...new Set(rig.emu.calls().map((c) => `${c.service}:${c.operation}`))].sort();
    assert.ok(used.length >= 10, used.join(" "));
    const missing = used.filter((a) => !allowed(a));
    assert.deepEqual(missing, [], `calls the policy does not allow: ${missing.join(", ")}`);
  } finally {
    await rig.close();
  }
});

test("the policy grants nothing broad: no wildcard actions, PassRole only to ECS tasks", () => {
  for (const s of policy.Statement) for (const a of list(s.Action)) assert.doesNotMatch(a, /\*/, a);
  const pass = policy.Statement.find((s) => list(s.Action).includes("iam:PassRole"))!;
  assert.ok(list(pass.Resource).every((r) => /^arn:aws:iam::\d{12}:role\/lgtm-/.test(r)));
});
