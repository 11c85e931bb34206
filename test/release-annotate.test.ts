/**
 * deploy/rollback --annotate and --log-lines end to end: checked in the plan (exit 2, nothing changed), Grafana
 * annotations posted and closed with the outcome against the local Grafana that checks every request against Grafana's
 * documented API (test/helpers/fake-grafana.ts), deferred while Grafana itself is released, and a Grafana that is down
 * never changing a verdict nor holding a release beyond its bound.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli, type CliResult } from "./helpers/cli.js";
import { startRig, type Rig } from "./helpers/emulator.js";
import { startFakeGrafana, type FakeGrafana } from "./helpers/fake-grafana.js";
import { copyProject, type TempProject } from "./helpers/project.js";

const A = "aaaaaaa1111";
const B = "bbbbbbb2222";
const C = "ccccccc3333";
const TOKEN = "glsa_release_annotations_0123456789abcdef";

let rig: Rig;
let grafana: FakeGrafana;
let project: TempProject;

before(async () => {
  rig = await startRig(["tempo", "grafana"], [A, B, C]);
  grafana = await startFakeGrafana(TOKEN, 10 * 60_000);
  project = copyProject();
  project.edit("environments/local.json", (e) => (e.grafana.annotations = { url: grafana.url }));
  // First release: creates the services (no annotation asked for).
  const first = await cli(["deploy", "tempo", "grafana", "--env", "local", "--sha", A, "--create-missing"]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
});

after(async () => {
  await rig?.close();
  await grafana?.close();
  project?.cleanup();
});

/** The CLI on the copied project (its environment names the fake Grafana), fast polling, records in the rig's dir. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const release = args[0] === "deploy" || args[0] === "rollback";
  const defaults = release ? ["--poll-interval", "20ms", ...(args.includes("--bake") ? [] : ["--bake", "150ms"]), "--record", path.join(rig.dir, "{component}.json")] : [];
  return runCli(["--root", project.root, "--endpoint-url", rig.emu.url, ...args, ...defaults], { env: { LGTM_GRAFANA_TOKEN: undefined, ...env } });
}
const record = (c: string) => JSON.parse(readFileSync(path.join(rig.dir, `${c}.json`), "utf8"));

describe("--log-lines and --annotate are checked in the plan: one line naming it, exit 2, no AWS call", () => {
  const cases: Array<{ name: string; args: string[]; env?: Record<string, string>; says: RegExp; root?: "repo" }> = [
    { name: "--log-lines above 200", args: ["--log-lines", "500"], says: /--log-lines "500": expected a whole number from 0 \(off\) to 200/ },
    { name: "--log-lines negative", args: ["--log-lines", "-1"], says: /--log-lines "-1"/ },
    { name: "--log-lines not a number", args: ["--log-lines", "many"], says: /--log-lines "many"/ },
    { name: "--annotate without LGTM_GRAFANA_TOKEN", args: ["--annotate"], says: /--annotate: set LGTM_GRAFANA_TOKEN to a Grafana service account token/ },
    { name: "--annotate with a blank token", args: ["--annotate"], env: { LGTM_GRAFANA_TOKEN: "  " }, says: /--annotate: set LGTM_GRAFANA_TOKEN/ },
    { name: "--annotate with a token of two words", args: ["--annotate"], env: { LGTM_GRAFANA_TOKEN: "two words" }, says: /LGTM_GRAFANA_TOKEN must be a single token of printable ASCII/ },
  ];
  for (const c of cases) {
    for (const command of ["deploy", "rollback"] as const) {
      test(`${command}: ${c.name}`, async () => {
        rig.emu.clearCalls();
        const base = command === "deploy" ? ["deploy", "tempo", "--env", "local", "--sha", B] : ["rollback", "tempo", "--env", "local", "--to", "previous"];
        const r = await cli([...base, ...c.args], c.env);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, c.says);
        // One line (commander adds its usage hint to a bad flag value, as for every flag).
        assert.deepEqual(r.stderr.trim().split("\n").slice(1), c.args[0] === "--log-lines" ? ["(run with --help for usage)"] : [], r.stderr);
        assert.doesNotMatch(r.stderr + r.stdout, /two words|glsa_/, "no token in the output");
        assert.deepEqual(rig.emu.calls().map((x) => x.operation), [], "no AWS call at all");
      });
    }
  }
  test("--annotate with an environment that has no grafana.annotations.url names the file and field", async () => {
    rig.emu.clearCalls();
    const r = await runCli(["--endpoint-url", rig.emu.url, "deploy", "tempo", "--env", "local", "--sha", B, "--annotate", "--record", path.join(rig.dir, "x.json")], { env: { LGTM_GRAFANA_TOKEN: TOKEN } });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /--annotate: .*environments\/local\.json has no field "grafana\.annotations\.url"/);
    assert.deepEqual(rig.emu.calls().map((x) => x.operation), []);
  });
});

describe("Grafana release annotations (emulator + local Grafana)", () => {
  test("a successful release: one organisation annotation per component, closed with timeEnd and 'released'; its id in the record", async () => {
    grafana.api.annotations.clear();
    grafana.api.requests.length = 0;
    const r = await cli(["deploy", "tempo", "--env", "local", "--sha", B, "--annotate"], { LGTM_GRAFANA_TOKEN: TOKEN });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(grafana.api.violations, []);
    assert.deepEqual(grafana.api.requests.map((q) => `${q.method} ${q.path.replace(/\d+$/, ":id")}`), ["POST /api/annotations", "PATCH /api/annotations/:id"]);
    const [a] = [...grafana.api.annotations.values()];
    assert.ok(a);
    const version = record("tempo").version as string;
    assert.deepEqual(a.tags, ["lgtm-deploy", "tempo", "local", version, "released"]);
    assert.ok(a.timeEnd !== undefined && a.timeEnd >= a.time, "closed with a timeEnd");
    assert.match(a.text, /^lgtm-deploy deploy tempo .* to local\n[^]*Outcome: released$/);
    assert.deepEqual(record("tempo").annotation, { id: a.id, state: "closed", outcome: "released" });
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(TOKEN), "the token is never printed");
  });

  test("a failing release: the annotation is closed with 'rolled-back'", async () => {
    grafana.api.annotations.clear();
    rig.emu.mergeScenario({ images: { [rig.digest("tempo", C)]: { behavior: "crash", afterMs: 10 } } });
    const r = await cli(["deploy", "tempo", "--env", "local", "--sha", C, "--annotate"], { LGTM_GRAFANA_TOKEN: TOKEN });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.deepEqual(grafana.api.violations, []);
    const [a] = [...grafana.api.annotations.values()];
    assert.ok(a && a.tags.includes("rolled-back") && a.timeEnd !== undefined, JSON.stringify(a));
    assert.deepEqual(record("tempo").annotation, { id: a.id, state: "closed", outcome: "rolled-back" });
  });

  test("a manual rollback is annotated too: what, to where and why, closed with its outcome", async () => {
    grafana.api.annotations.clear();
    const r = await cli(["rollback", "tempo", "--env", "local", "--to", "previous", "--reason", "ingester OOM", "--annotate"], { LGTM_GRAFANA_TOKEN: TOKEN });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const [a] = [...grafana.api.annotations.values()];
    assert.ok(a, "posted");
    assert.match(a.text, /^lgtm-deploy rollback tempo .* to local\n(by .*\n)?reason: ingester OOM\nOutcome: released$/);
    assert.ok(a.tags.includes("released") && a.timeEnd !== undefined);
    assert.deepEqual(record("tempo").annotation, { id: a.id, state: "closed", outcome: "released" });
    assert.deepEqual(grafana.api.violations, []);
  });

  test("grafana in the release: nothing is sent to Grafana before it is released again; starts keep their own time", async () => {
    grafana.api.annotations.clear();
    const seen: number[] = [];
    const handle = grafana.api.handle.bind(grafana.api);
    grafana.api.handle = (req) => {
      seen.push(Date.now());
      return handle(req);
    };
    try {
      rig.emu.clearCalls();
      const r = await cli(["deploy", "tempo", "grafana", "--env", "local", "--sha", A, "--annotate", "--bake", "400ms"], { LGTM_GRAFANA_TOKEN: TOKEN });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const update = rig.emu.calls().find((c) => c.operation === "UpdateService" && (c.input as { service?: string }).service === "lgtm-grafana");
      assert.ok(update);
      const updatedAt = Date.parse(update.wallTime);
      assert.ok(seen.length >= 2, `requests: ${seen.length}`);
      // Without deferral the first POST would go out with grafana's UpdateService; deferred, it waits for the bake.
      assert.ok(Math.min(...seen) >= updatedAt + 400, `first request ${Math.min(...seen) - updatedAt} ms after grafana's UpdateService`);
      const annotations = [...grafana.api.annotations.values()];
      assert.deepEqual(annotations.map((a) => a.tags[1]).sort(), ["grafana", "tempo"]);
      for (const a of annotations) {
        assert.ok(a.tags.includes("released") && a.timeEnd !== undefined, JSON.stringify(a));
        assert.ok(a.time <= updatedAt + 200, `the start keeps the release's time (${a.time - updatedAt} ms after the update)`);
      }
      assert.deepEqual(grafana.api.violations, []);
      for (const c of ["tempo", "grafana"]) assert.equal(record(c).annotation.state, "closed", c);
    } finally {
      grafana.api.handle = handle;
    }
  });

  test("Grafana unreachable or hanging: verdict unchanged, one warning line, the release not held up (within 1 s of the same release without --annotate)", async () => {
    const dead = copyProject();
    try {
      // A port nobody listens on: refused at once.
      dead.edit("environments/local.json", (e) => (e.grafana.annotations = { url: "http://127.0.0.1:9" }));
      const refused = await runCli(["--root", dead.root, "--endpoint-url", rig.emu.url, "deploy", "tempo", "--env", "local", "--sha", B, "--annotate", "--poll-interval", "20ms", "--bake", "150ms", "--record", path.join(rig.dir, "{component}.json")], { env: { LGTM_GRAFANA_TOKEN: TOKEN } });
      assert.equal(refused.code, 0, refused.stdout + refused.stderr);
      assert.equal(refused.stderr.split("\n").filter((l) => /grafana annotation/.test(l)).length, 1, refused.stderr);
      assert.match(refused.stderr, /warning: grafana annotation \(tempo local\) not sent: Grafana at http:\/\/127\.0\.0\.1:9 is unreachable/);
      assert.equal(record("tempo").verdict, "succeeded");
      assert.equal(record("tempo").annotation.state, "failed");

      // A bake longer than Grafana's 3 s timeout: the POST times out during the release, the PATCH is never tried.
      const t0 = Date.now();
      const plain = await cli(["deploy", "tempo", "--env", "local", "--sha", A, "--bake", "3500ms"]);
      const baseline = Date.now() - t0;
      assert.equal(plain.code, 0);
      grafana.mode = "hang";
      grafana.api.requests.length = 0;
      const t1 = Date.now();
      const hung = await cli(["deploy", "tempo", "--env", "local", "--sha", B, "--annotate", "--bake", "3500ms"], { LGTM_GRAFANA_TOKEN: TOKEN });
      const took = Date.now() - t1;
      assert.equal(hung.code, 0, hung.stdout + hung.stderr);
      assert.match(hung.stderr, /Grafana at http:\/\/127\.0\.0\.1:\d+ did not answer within 3s/);
      assert.ok(took <= baseline + 1_000, `took ${took} ms, ${baseline} ms without --annotate`);
      assert.equal(grafana.api.requests.filter((q) => q.method === "PATCH").length, 0, "nothing more after a timeout");
      assert.equal(record("tempo").verdict, "succeeded");
    } finally {
      grafana.mode = "ok";
      dead.cleanup();
    }
  });
});
