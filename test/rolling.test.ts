/**
 * `lgtm-deploy check` and the same check inside `deploy`: a stateful component that would lose or hide data in a
 * rolling release is refused with exit 2, naming the setting and the document, before any AWS call.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { runBundle, runCli, REPO_ROOT } from "./helpers/cli.js";
import { copyProject, type TempProject } from "./helpers/project.js";

const temps: TempProject[] = [];
after(() => temps.forEach((t) => t.cleanup()));
const temp = (): TempProject => {
  const t = copyProject();
  temps.push(t);
  return t;
};

describe("lgtm-deploy check", () => {
  test("the shipped configs are rolling-safe in prod and local (what CI runs)", async () => {
    for (const env of ["prod", "local"]) {
      const r = await runCli(["--root", REPO_ROOT, "check", "--all", "--env", env]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.split("\n"), ["mimir: rolling-safe", "loki: rolling-safe", "tempo: rolling-safe", "pyroscope: rolling-safe"]);
    }
    const json = await runCli(["--root", REPO_ROOT, "--json", "check", "mimir", "grafana", "--env", "prod"]);
    assert.deepEqual(JSON.parse(json.stdout), { environment: "prod", components: ["mimir"], problems: [] });
  });

  test("a config without min_ready_duration and an environment with a short grace period: exit 2, each setting and document named", async () => {
    const t = temp();
    t.write("dockerfiles/mimir/mimir.yaml", readFileSync(t.path("dockerfiles/mimir/mimir.yaml"), "utf8").replace(/\n {4}min_ready_duration: 11m/, ""));
    t.edit("environments/prod.json", (raw) => (raw.loadBalancers.loki.healthCheckGracePeriodSeconds = 120));
    const r = await runCli(["--root", t.root, "check", "--all", "--env", "prod"]);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /^mimir: NOT rolling-safe$/m);
    assert.match(r.stdout, /^loki: NOT rolling-safe$/m);
    assert.match(r.stdout, /^tempo: rolling-safe$/m);
    assert.match(r.stderr, /mimir: ingester\.ring\.min_ready_duration is 15s; must be at least 10m.*\[https:\/\/github\.com\/grafana\/mimir\/blob\/main\/docs\/sources\/mimir\/manage\/run-production-environment\/scaling-out\.md\]/);
    assert.match(r.stderr, /loki: healthCheckGracePeriodSeconds is 120; must be at least 330 s .*API_CreateService/);
  });

  test("deploy runs the same check first: refused with exit 2 before any AWS call", async () => {
    const t = temp();
    t.write("dockerfiles/loki/config.yaml", readFileSync(t.path("dockerfiles/loki/config.yaml"), "utf8").replace("flush_on_shutdown: true", "flush_on_shutdown: false"));
    // Port 9 on loopback: any AWS call would fail with a connection error, not with the check's message and exit 2.
    const r = await runCli(["--root", t.root, "--endpoint-url", "http://127.0.0.1:9", "deploy", "loki", "tempo", "--env", "local", "--sha", "0123456"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /not rolling-safe.*\n {2}loki: ingester\.wal\.flush_on_shutdown is false; must be true/);
    assert.doesNotMatch(r.stderr, /ECONNREFUSED|connect/);
    // A release of a stateless component is not held up by a stateful one's config.
    const g = await runCli(["--root", t.root, "--endpoint-url", "http://127.0.0.1:9", "deploy", "grafana", "--env", "local", "--sha", "0123456", "--timeout", "1s", "--bake", "0s", "--poll-interval", "200ms"]);
    assert.notEqual(g.code, 2, g.stderr);
  });

  test("the bundle ships the commands (check, migrate check, cutover plan)", async () => {
    const r = await runBundle(["check", "--all", "--env", "prod"]);
    assert.equal(r.code, 0, r.stderr);
    const m = await runBundle(["migrate", "check", "--from", "test/fixtures/old-stack/different-prefix", "--env", "prod"]);
    assert.equal(m.code, 5, m.stderr);
    const c = await runBundle(["cutover", "plan", "--env", "prod"]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /1\. Read-only rehearsal/);
  });
});
