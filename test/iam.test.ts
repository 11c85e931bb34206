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
const globMatches = (pattern: string, value: string) => new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`).test(value);

test("the Jenkins IAM policy allows every AWS call the helper makes in a release, a rollback and status", async () => {
  const rig = await startRig(["tempo"], ["aaaaaaa1111", "bbbbbbb2222", "ccccccc3333"]);
  try {
    assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", "aaaaaaa1111", "--create-missing"])).code, 0);
    assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", "bbbbbbb2222", "--dry-run"])).code, 0);
    assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", "bbbbbbb2222"])).code, 0);
    // A failed release: StopServiceDeployment (or UpdateService) to roll back, the outcome tagged on the revision.
    rig.emu.mergeScenario({ images: { [rig.digest("tempo", "ccccccc3333")]: { behavior: "crash", afterMs: 0 } } });
    assert.equal((await rig.cli(["deploy", "tempo", "--env", "local", "--sha", "ccccccc3333"])).code, 3);
    assert.equal((await rig.cli(["rollback", "tempo", "--env", "local", "--to", "previous"])).code, 0);
    assert.equal((await rig.cli(["rollback", "tempo", "--env", "local", "--to", "1.0.0"])).code, 0);
    assert.equal((await rig.cli(["status", "--env", "local", "tempo"])).code, 0);
    assert.equal((await rig.cli(["diff", "tempo", "--env", "local", "--sha", "aaaaaaa1111"])).code, 0);
    const used = [...new Set(rig.emu.calls().map((c) => `${c.service}:${c.operation}`))].sort();
    assert.ok(used.length >= 10, used.join(" "));
    const missing = used.filter((a) => !allowed(a));
    assert.deepEqual(missing, [], `calls the policy does not allow: ${missing.join(", ")}`);
    for (const op of ["ecs:StopServiceDeployment", "ecs:TagResource"]) assert.ok(used.includes(op), `${op} was exercised`);
    // The resource-scoped calls of a release are allowed on the resources they name (any account: the emulator's is 0…0).
    for (const c of rig.emu.calls().filter((x) => x.operation === "TagResource" || x.operation === "StopServiceDeployment")) {
      const input = c.input as { resourceArn?: string; serviceDeploymentArn?: string };
      const arn = (input.resourceArn ?? input.serviceDeploymentArn)!.replace(/:\d{12}:/, ":123456789012:");
      const ok = policy.Statement.some((st) => list(st.Action).includes(`ecs:${c.operation}`) && list(st.Resource).some((r) => globMatches(r, arn)));
      assert.ok(ok, `ecs:${c.operation} on ${arn} is not allowed by any statement`);
    }
  } finally {
    await rig.close();
  }
});

test("the policy grants nothing broad: no wildcard actions, PassRole only to ECS tasks", () => {
  for (const s of policy.Statement) for (const a of list(s.Action)) assert.doesNotMatch(a, /\*/, a);
  const pass = policy.Statement.find((s) => list(s.Action).includes("iam:PassRole"))!;
  assert.ok(list(pass.Resource).every((r) => /^arn:aws:iam::\d{12}:role\/lgtm-/.test(r)));
});
