/**
 * Per-component default timeouts (core/release-timeout.ts): the waves ECS makes, the figures for every component of
 * the real environments, the Mimir default against its rollout, and an explicit --timeout that is certainly too short.
 */
import { test, describe } from "node:test";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";
import { Project } from "../src/adapters/files.js";
import { defaultBakeMs } from "../src/core/bake.js";
import { COMPONENT_NAMES, type ComponentName } from "../src/core/catalogue.js";
import { HANDOVER_LEAD_SECONDS, mimirHandoverGapSeconds } from "../src/core/cutover.js";
import { chooseTimeout, DEFAULT_TIMEOUT_FLOOR_SECONDS, DEREGISTRATION_DELAY_BOUND_SECONDS, releaseTimeouts, rolloutShape, waves, type RolloutShape } from "../src/core/release-timeout.js";
import { STARTUP_ALLOWANCE_SECONDS } from "../src/core/rolling.js";
import { renderService, renderTaskDefinition } from "../src/core/render.js";
import { makeTag } from "../src/core/tag.js";
import { componentTimeouts, projectMinReady } from "../src/commands/release-timeouts.js";
import { ROUTES } from "../infra/lib/routes.js";
import { REPO_ROOT, runCli } from "./helpers/cli.js";

const project = new Project(REPO_ROOT);
const image = { tag: makeTag({ version: "1.0.0", sha: "0123456789ab" }) };

async function figures(envName: string, component: ComponentName) {
  const env = project.environment(envName);
  const t = project.templates(component);
  const td = renderTaskDefinition(component, env, image, t.taskDefinition);
  const svc = renderService(component, env, image, t.service);
  return { td, svc, env, t: componentTimeouts(component, env, td, svc, { minReadySeconds: await projectMinReady(project, env, component), bakeMs: defaultBakeMs(td), flags: {}, loopback: false }) };
}

describe("waves: how many rounds of replacements ECS makes", () => {
  const cases: Array<[string, number, number, number, number]> = [
    ["Mimir: 3 tasks, 66/100 → one at a time", 3, 66, 100, 3],
    ["Loki: 2 tasks, 50/100 → one at a time", 2, 50, 100, 2],
    ["Tempo: 1 task, 0/100 → stop first, one round", 1, 0, 100, 1],
    ["Grafana: 1 task, 100/200 → start first, one round", 1, 100, 200, 1],
    ["4 tasks, 50/100 → two at a time", 4, 50, 100, 2],
    ["3 tasks, 100/100 → ECS cannot replace any; counted as one at a time", 3, 100, 100, 3],
    ["desired 0 → nothing to replace", 0, 66, 100, 0],
  ];
  for (const [name, desiredCount, minimumHealthyPercent, maximumPercent, expected] of cases) {
    test(name, () => assert.equal(waves({ desiredCount, minimumHealthyPercent, maximumPercent }), expected));
  }
});

describe("releaseTimeouts: the math", () => {
  const shape: RolloutShape = { component: "mimir", desiredCount: 3, minimumHealthyPercent: 66, maximumPercent: 100, stopTimeoutSeconds: 120, deregistrationDelaySeconds: 20, minReadySeconds: 660, detectionSeconds: 20, gracePeriodSeconds: 1200 };

  test("hand-computed: minimum, expected and default of a Mimir-like shape", () => {
    const t = releaseTimeouts(shape, 70_000);
    assert.equal(t.waves, 3);
    assert.equal(t.minimumSeconds, 3 * 660 + 70);
    assert.equal(t.nominalWaveSeconds, 20 + 120 + STARTUP_ALLOWANCE_SECONDS + 660 + 20);
    assert.equal(t.expectedSeconds, 3 * (20 + 120 + 180 + 660 + 20) + 70);
    // Tolerated: a task may stay unready for the whole grace period. 3 × (20 + 120 + 1200) + 70 = 4090; + 10 % = 4499;
    // whole minutes: 4500 s = 75m.
    assert.equal(t.toleratedWaveSeconds, 20 + 120 + 1200);
    assert.equal(t.defaultSeconds, 4500);
    assert.match(t.math, /^3 x \(drain 20s \+ stop 2m \+ grace 20m\) \+ bake 1m10s \+ margin = 1h15m$/);
  });

  test("a grace period shorter than start-up + min-ready + detection: the nominal wave bounds it", () => {
    const t = releaseTimeouts({ ...shape, gracePeriodSeconds: 60 }, 70_000);
    assert.equal(t.toleratedWaveSeconds, t.nominalWaveSeconds);
    assert.equal(t.defaultSeconds, Math.ceil((3 * 1000 + 70) * 1.1 / 60) * 60);
  });

  test("a small component: at least 5 minutes of margin, never under the 20m floor", () => {
    const t = releaseTimeouts({ ...shape, component: "tempo", desiredCount: 1, minimumHealthyPercent: 0, deregistrationDelaySeconds: 0, minReadySeconds: 0, detectionSeconds: 40, gracePeriodSeconds: 0 }, 70_000);
    assert.equal(t.waves, 1);
    assert.equal(t.expectedSeconds, 120 + 180 + 40 + 70);
    assert.equal(t.defaultSeconds, DEFAULT_TIMEOUT_FLOOR_SECONDS);
    assert.match(t.math, /= 12m, raised to the 20m floor$/);
    // Ten Tempo-like tasks one at a time: above the floor, margin 10 %.
    const big = releaseTimeouts({ ...shape, component: "tempo", desiredCount: 10, minimumHealthyPercent: 90, deregistrationDelaySeconds: 0, minReadySeconds: 0, detectionSeconds: 40, gracePeriodSeconds: 0 }, 70_000);
    assert.equal(big.defaultSeconds, Math.ceil((10 * 340 + 70) * 1.1 / 60) * 60);
  });

  test("rolloutShape: ECS defaults, the min-ready wait only behind a health gate, the grace period only with a load balancer", () => {
    const check = { intervalSeconds: 10, healthyThresholdCount: 2 };
    const routed = rolloutShape("mimir", { containerDefinitions: [{ name: "mimir", stopTimeout: 120 }] }, { desiredCount: 3, deploymentConfiguration: { minimumHealthyPercent: 66, maximumPercent: 100 }, loadBalancers: [{}], healthCheckGracePeriodSeconds: 1200 }, { minReadySeconds: 660, targetCheck: check });
    assert.deepEqual(routed, { component: "mimir", desiredCount: 3, minimumHealthyPercent: 66, maximumPercent: 100, stopTimeoutSeconds: 120, deregistrationDelaySeconds: DEREGISTRATION_DELAY_BOUND_SECONDS, minReadySeconds: 660, detectionSeconds: 20, gracePeriodSeconds: 1200 });
    // Described by ECS without a load balancer: grace 0 is ignored, no gate → the min-ready wait does not hold ECS.
    const bare = rolloutShape("pyroscope", { containerDefinitions: [{ name: "pyroscope" }] }, { healthCheckGracePeriodSeconds: 0, loadBalancers: [] }, { minReadySeconds: 15, targetCheck: check });
    assert.deepEqual([bare.desiredCount, bare.minimumHealthyPercent, bare.maximumPercent, bare.stopTimeoutSeconds, bare.minReadySeconds, bare.detectionSeconds, bare.gracePeriodSeconds, bare.deregistrationDelaySeconds], [1, 100, 200, 30, 0, 40, 0, 0]);
    // A container health check gates: its interval is the detection, the min-ready wait counts.
    const checked = rolloutShape("loki", { containerDefinitions: [{ name: "loki", healthCheck: { interval: 30 } }] }, { desiredCount: 2 }, { minReadySeconds: 120, desiredCount: 4, targetCheck: check });
    assert.deepEqual([checked.desiredCount, checked.minReadySeconds, checked.detectionSeconds], [4, 120, 30]);
  });

  test("the deregistration bound covers every target group of the stack (infra/lib/routes.ts)", () => {
    for (const [c, r] of Object.entries(ROUTES)) assert.ok(r!.deregistrationDelaySeconds <= DEREGISTRATION_DELAY_BOUND_SECONDS, `${c}: ${r!.deregistrationDelaySeconds} s`);
  });
});

describe("the real environments", () => {
  test("Mimir in prod: the default exceeds its computed rollout, grace-period worst case and cutover gap included", async () => {
    const { t, td, svc } = await figures("prod", "mimir");
    const d = t.derived;
    const stop = td.containerDefinitions![0]!.stopTimeout!;
    const grace = svc.healthCheckGracePeriodSeconds!;
    assert.deepEqual([d.waves, stop, grace], [3, 120, 1200], "the configs this test reasons about");
    assert.equal(d.minimumSeconds, 3 * 660 + 70, "3 x min_ready_duration 11m + bake");
    assert.ok(d.minimumSeconds > 20 * 60, "the old 20m default could never let a Mimir release finish");
    assert.ok(d.defaultSeconds > d.expectedSeconds, `${d.defaultSeconds} > ${d.expectedSeconds}`);
    assert.ok(d.defaultSeconds >= 3 * (stop + grace) + d.bakeSeconds, "every task may stay unready for the whole grace period");
    // docs/cutover.md's gap assumes the release itself takes 3 x (stop + start-up and detection + min-ready).
    const gapRollout = mimirHandoverGapSeconds({ desiredCount: 3, stopTimeoutSeconds: stop, minReadySeconds: 660, startAndDetectSeconds: STARTUP_ALLOWANCE_SECONDS + 20 }) - HANDOVER_LEAD_SECONDS;
    assert.ok(d.defaultSeconds > gapRollout + d.bakeSeconds, `${d.defaultSeconds} > ${gapRollout}`);
    assert.equal(d.defaultSeconds, 76 * 60, "prod Mimir: 1h16m (docs/rollout-timeouts.md)");
    assert.equal(t.timeout.ms, d.defaultSeconds * 1000);
    assert.equal(t.rollbackTimeout.ms, d.defaultSeconds * 1000, "a rollback replaces the tasks the same way");
  });

  test("every component's default in prod (the table in docs/rollout-timeouts.md)", async () => {
    const expected: Record<ComponentName, number> = { mimir: 76, loki: 33, tempo: 20, pyroscope: 20, grafana: 20, alloy: 20 };
    for (const c of COMPONENT_NAMES) {
      const { t } = await figures("prod", c);
      assert.equal(t.derived.defaultSeconds / 60, expected[c], `${c}: ${t.derived.math}`);
      assert.ok(t.derived.defaultSeconds > t.derived.expectedSeconds, c);
    }
  });
});

describe("an explicit --timeout", () => {
  test("wins over the default; below the minimum it is refused against AWS, below the expected rollout a warning; against the emulator neither", async () => {
    const { t } = await figures("prod", "mimir");
    const d = t.derived;
    assert.deepEqual(chooseTimeout("--timeout", 90 * 60_000, d, { loopback: false }), { ms: 90 * 60_000, source: "flag" });
    const short = chooseTimeout("--timeout", 20 * 60_000, d, { loopback: false });
    assert.equal(short.ms, 20 * 60_000);
    assert.match(short.error ?? "", /^--timeout 20m is certainly too short for mimir: its rollout cannot finish before 34m10s \(3 replacement round\(s\).*leave --timeout out for its default 1h16m/);
    // The emulator's tasks do not wait and its time is scaled: short explicit timeouts are neither refused nor warned.
    assert.deepEqual(chooseTimeout("--timeout", 20_000, d, { loopback: true }), { ms: 20_000, source: "flag" });
    const tight = chooseTimeout("--rollback-timeout", 40 * 60_000, d, { loopback: false });
    assert.equal(tight.error, undefined);
    assert.match(tight.warning ?? "", /^--rollback-timeout 40m is shorter than mimir's expected rollout of 51m55s .*default is 1h16m/);
    // Components without a min-ready wait: only the bake bounds it (checked elsewhere), no refusal.
    const tempo = (await figures("prod", "tempo")).t.derived;
    assert.equal(chooseTimeout("--timeout", 2 * 60_000, tempo, { loopback: false }).error, undefined);
  });

  test("bad input: deploy mimir --timeout 20m against AWS exits 2 with one line naming the flag, before any AWS call", async () => {
    // A non-loopback endpoint that nothing listens on: the refusal must come before the first call.
    const r = await runCli(["--root", REPO_ROOT, "deploy", "mimir", "--env", "local", "--sha", "0123456789", "--timeout", "20m", "--endpoint-url", "http://192.0.2.1:9"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /--timeout 20m is certainly too short for mimir: its rollout cannot finish before 34m10s/);
    assert.doesNotMatch(r.stderr, /ECONN|timed out|endpoint/i);
  });
});

describe("Jenkins never cuts a release the helper would still allow", () => {
  test("vars/lgtmInternal.groovy releaseMinutes() is at least every component's default in every environment file", async () => {
    const groovy = readFileSync(path.join(REPO_ROOT, "vars/lgtmInternal.groovy"), "utf8");
    const table = /Map releaseMinutes\(\) \{\s*return \[([^\]]+)\]/.exec(groovy);
    assert.ok(table, "releaseMinutes() not found");
    const minutes = Object.fromEntries(table[1]!.split(",").map((kv) => kv.split(":").map((x) => x.trim())).map(([k, v]) => [k, Number(v)]));
    assert.deepEqual(Object.keys(minutes).sort(), [...COMPONENT_NAMES].sort());
    for (const envName of readdirSync(path.join(REPO_ROOT, "environments")).filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, ""))) {
      for (const c of COMPONENT_NAMES) {
        const { t } = await figures(envName, c);
        assert.ok(minutes[c]! * 60 >= t.derived.defaultSeconds, `${envName} ${c}: Groovy ${minutes[c]}m < helper ${t.derived.defaultSeconds / 60}m`);
      }
    }
  });

  test("jobs/rollback.Jenkinsfile allows a Mimir rollback and the rollback of that rollback", async () => {
    const text = readFileSync(path.join(REPO_ROOT, "jobs/rollback.Jenkinsfile"), "utf8");
    const m = /timeout\(time: (\d+), unit: 'MINUTES'\)/.exec(text);
    assert.ok(m);
    const mimir = (await figures("prod", "mimir")).t.derived.defaultSeconds;
    assert.ok(Number(m[1]) * 60 > 2 * mimir, `${m[1]}m`);
  });
});
