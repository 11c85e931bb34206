/**
 * Cutover mode: the environment's "cutover" block decides which single-writer roles the new stack runs, and the
 * rendered configs follow it (docs/cutover.md). Migration inputs reach the configs. `cutover plan` prints the steps
 * and where the environment stands.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { effectiveConfig } from "../src/adapters/configs.js";
import { Project } from "../src/adapters/files.js";
import { compactsTenant, dataSettings } from "../src/core/data-settings.js";
import { cutoverPlan, mimirHandoverGapSeconds } from "../src/core/cutover.js";
import { parseEnvironment, type Environment } from "../src/core/environment.js";
import type { DataComponent } from "../src/core/migration.js";
import { getPath } from "../src/core/rolling.js";
import { REPO_ROOT, runCli } from "./helpers/cli.js";
import { copyProject, type TempProject } from "./helpers/project.js";

const project = new Project(REPO_ROOT);
const rawProd = () => JSON.parse(readFileSync(path.join(REPO_ROOT, "environments/prod.json"), "utf8"));
const env = (edit: (raw: any) => void = () => {}): Environment => {
  const raw = rawProd();
  edit(raw);
  return parseEnvironment("prod", "environments/prod.json", JSON.stringify(raw));
};
const allOwners = (owner: "old" | "new") => (raw: any) => {
  raw.cutover.compactor = { mimir: owner, loki: owner, tempo: owner, pyroscope: owner };
  raw.cutover.ruler = owner;
  raw.cutover.alertmanager = owner;
};
const settings = async (e: Environment, c: DataComponent) => {
  const eff = await effectiveConfig(project, e, c);
  return { config: eff.config, s: dataSettings(c, eff.config) };
};

describe("cutover mode renders the documented differences", () => {
  test("old owns every role (prod today): no compaction, no ruler, no alertmanager on the new stack", async () => {
    const e = env(allOwners("old"));
    const mimir = await settings(e, "mimir");
    assert.equal(getPath(mimir.config, "target"), "compactor,distributor,ingester,querier,query-frontend,store-gateway");
    assert.equal(getPath(mimir.config, "compactor.disabled_tenants"), "anonymous");
    assert.equal(compactsTenant(mimir.s, "anonymous"), false);
    assert.equal(mimir.s.runsRuler, false);
    assert.equal(mimir.s.runsAlertmanager, false);
    const loki = await settings(e, "loki");
    assert.equal(getPath(loki.config, "target"), "distributor,ingester,query-frontend,query-scheduler,querier");
    assert.equal(loki.s.runsCompactor, false);
    const tempo = await settings(e, "tempo");
    assert.equal(getPath(tempo.config, "overrides.defaults.compaction.compaction_disabled"), true);
    assert.equal(tempo.s.runsCompactor, false);
    const pyroscope = await settings(e, "pyroscope");
    assert.equal(getPath(pyroscope.config, "compactor.disabled_tenants"), "anonymous");
    assert.equal(compactsTenant(pyroscope.s, "anonymous"), false);
  });

  test("new owns every role: the stock targets, the alertmanager added, nothing disabled", async () => {
    const e = env(allOwners("new"));
    const mimir = await settings(e, "mimir");
    assert.equal(getPath(mimir.config, "target"), "all,alertmanager");
    assert.equal(getPath(mimir.config, "compactor.disabled_tenants"), "");
    assert.equal(compactsTenant(mimir.s, "anonymous"), true);
    assert.equal(mimir.s.runsRuler, true);
    assert.equal(mimir.s.runsAlertmanager, true);
    assert.equal(getPath((await settings(e, "loki")).config, "target"), "all");
    assert.equal(getPath((await settings(e, "tempo")).config, "overrides.defaults.compaction.compaction_disabled"), false);
    assert.equal(compactsTenant((await settings(e, "pyroscope")).s, "anonymous"), true);
  });

  test("roles move independently; multi-tenant compaction is disabled for every listed tenant", async () => {
    let e = env((r) => {
      allOwners("old")(r);
      r.cutover.compactor.loki = "new";
      r.cutover.alertmanager = "new";
      r.migration.tenancy.mimir = { multitenancy: true, tenants: ["team-a", "team-b"] };
    });
    const mimir = await settings(e, "mimir");
    assert.equal(getPath(mimir.config, "target"), "compactor,distributor,ingester,querier,query-frontend,store-gateway,alertmanager");
    assert.equal(getPath(mimir.config, "compactor.disabled_tenants"), "team-a,team-b");
    assert.equal(getPath(mimir.config, "multitenancy_enabled"), true);
    assert.equal(getPath((await settings(e, "loki")).config, "target"), "distributor,ingester,query-frontend,query-scheduler,querier,compactor");
    e = env((r) => {
      allOwners("new")(r);
      r.cutover.alertmanager = "old";
      r.cutover.bucketIndexMaxStalePeriod = "2h";
    });
    const m2 = await settings(e, "mimir");
    assert.equal(getPath(m2.config, "target"), "all");
    assert.equal(getPath(m2.config, "blocks_storage.bucket_store.bucket_index.max_stale_period"), "2h");
  });

  test("an environment without a cutover block has no old stack: the new stack owns everything", async () => {
    const local = project.environment("local");
    assert.equal(local.cutover, undefined);
    assert.equal(getPath((await settings(local, "mimir")).config, "target"), "all,alertmanager");
    assert.equal(getPath((await settings(local, "loki")).config, "target"), "all");
  });
});

describe("migration inputs reach the configs", () => {
  test("prefixes, Loki schema periods, retention, tenancy and Mimir's no-auth tenant", async () => {
    const periods = [
      { from: "2023-01-01", store: "boltdb-shipper", object_store: "s3", schema: "v12", index: { prefix: "loki_index_", period: "24h" } },
      { from: "2024-04-01", store: "tsdb", object_store: "s3", schema: "v13", index: { prefix: "index_", period: "24h" } },
    ];
    const e = env((r) => {
      r.migration.prefixes = { mimirBlocks: "tsdb", mimirRuler: "ruler", mimirAlertmanager: "am", loki: "logs/", tempo: "traces/", pyroscope: "profiles/" };
      r.migration.lokiSchema = periods;
      r.migration.retention = { mimir: "400d", loki: "90d", tempo: "720h", pyroscope: "30d" };
      r.migration.tenancy.loki = { multitenancy: true, tenants: ["a"] };
      r.migration.mimirNoAuthTenant = "metrics";
    });
    const mimir = (await settings(e, "mimir")).config;
    assert.equal(getPath(mimir, "blocks_storage.storage_prefix"), "tsdb");
    assert.equal(getPath(mimir, "ruler_storage.storage_prefix"), "ruler");
    assert.equal(getPath(mimir, "alertmanager_storage.storage_prefix"), "am");
    assert.equal(getPath(mimir, "limits.compactor_blocks_retention_period"), "400d");
    assert.equal(getPath(mimir, "no_auth_tenant"), "metrics");
    const loki = (await settings(e, "loki")).config;
    assert.equal(getPath(loki, "common.storage.object_store.storage_prefix"), "logs");
    assert.deepEqual(getPath(loki, "schema_config.configs"), periods, "the JSON in LOKI_SCHEMA_CONFIG is read as a YAML flow sequence");
    assert.equal(getPath(loki, "limits_config.retention_period"), "90d");
    assert.equal(getPath(loki, "compactor.retention_enabled"), true);
    assert.equal(getPath(loki, "auth_enabled"), true);
    const tempo = (await settings(e, "tempo")).config;
    assert.equal(getPath(tempo, "storage.trace.s3.prefix"), "traces/");
    assert.equal(getPath(tempo, "compactor.compaction.block_retention"), "720h");
    const pyro = (await settings(e, "pyroscope")).config;
    assert.equal(getPath(pyro, "storage.prefix"), "profiles/");
    assert.equal(getPath(pyro, "limits.compactor_blocks_retention_period"), "30d");
    // Tenant ids may start with characters YAML treats specially: the configs quote them.
    const star = await settings(env((r) => (r.migration.mimirNoAuthTenant = "*ops")), "mimir");
    assert.equal(getPath(star.config, "no_auth_tenant"), "*ops");
    const bang = await settings(env((r) => { r.migration.tenancy.pyroscope = { multitenancy: true, tenants: ["!a", "b"] }; }), "pyroscope");
    assert.equal(getPath(bang.config, "compactor.disabled_tenants"), "!a,b");
    // Defaults are today's values.
    const today = await settings(env(), "loki");
    assert.equal(getPath(today.config, "compactor.retention_enabled"), false);
    assert.equal(getPath((await settings(env(), "tempo")).config, "compactor.compaction.block_retention"), "336h");
  });

  test("invalid migration inputs name the field", () => {
    const bad = (edit: (r: any) => void, field: RegExp) => assert.throws(() => env(edit), field);
    bad((r) => (r.migration.retention.tempo = "two weeks"), /field "migration\.retention\.tempo": must be a duration/);
    bad((r) => (r.migration.prefixes.mimirBlocks = "mimir-blocks"), /field "migration\.prefixes\.mimirBlocks": Mimir prefixes are letters and digits only/);
    bad((r) => (r.migration.prefixes.loki = "ftt-loki"), /field "migration\.prefixes\.loki"/);
    bad((r) => (r.migration.lokiSchema[0].from = "April 2024"), /field "migration\.lokiSchema\[0\]\.from"/);
    bad((r) => (r.cutover.compactor.mimir = "both"), /field "cutover\.compactor\.mimir"/);
    bad((r) => delete r.cutover.compactor.tempo, /field "cutover\.compactor\.tempo": Invalid option: expected one of "old"\|"new"/);
  });
});

describe("cutover plan", () => {
  const timings = { desiredCount: 3, stopTimeoutSeconds: 120, minReadySeconds: 660, startAndDetectSeconds: 330 };

  test("prod today: step 1 (read-only rehearsal) is current; the Mimir handover needs a longer bucket-index stale period first", () => {
    const plan = cutoverPlan(env(), timings, undefined);
    assert.deepEqual(plan.steps.map((s) => s.status), ["current", "pending", "pending", "pending", "pending", "pending"]);
    assert.deepEqual(plan.steps.map((s) => s.title.split(" ")[0]), ["Read-only", "Hand", "Repoint", "Drain", "Move", "Decommission"]);
    for (const s of plan.steps) assert.ok(s.do.length > 0 && s.check.length > 0 && s.why.length > 0, `step ${s.n}`);
    assert.equal(mimirHandoverGapSeconds(timings), 600 + 3 * (120 + 330 + 660));
    assert.match(plan.steps[1]!.do[0]!, /"cutover\.bucketIndexMaxStalePeriod": "2h".*1h5m30s \+ 30m margin, more than 1h/);
    assert.match(plan.steps[1]!.do[1]!, /-compactor\.disabled-tenants=anonymous/);
    assert.match(plan.steps[0]!.check.join("\n"), /sys-lgtm-s3 --key blocks\/anonymous\/bucket-index\.json\.gz/);
    assert.deepEqual(plan.problems, []);
  });

  test("progress follows the environment file; contradictions are reported", () => {
    let plan = cutoverPlan(env((r) => Object.assign(r.cutover.compactor, { mimir: "new", loki: "new", tempo: "new", pyroscope: "new" })), timings, undefined);
    assert.deepEqual(plan.steps.map((s) => s.status), ["done", "done", "current", "pending", "pending", "pending"]);
    plan = cutoverPlan(env((r) => {
      allOwners("new")(r);
      Object.assign(r.cutover, { writers: "new", oldStack: "decommissioned", bucketIndexMaxStalePeriod: "2h" });
    }), timings, undefined);
    assert.deepEqual(plan.steps.map((s) => s.status), ["done", "done", "done", "done", "done", "done"]);
    assert.match(plan.steps[1]!.do[0]!, /fits in cutover\.bucketIndexMaxStalePeriod \(2h\)/);
    plan = cutoverPlan(env((r) => Object.assign(r.cutover, { writers: "new", oldStack: "decommissioned" })), timings, undefined);
    assert.ok(plan.problems.some((p) => /cutover\.compactor\.mimir is "old" but the old stack is decommissioned/.test(p)));
    assert.ok(plan.problems.some((p) => /cutover\.writers is "new" before every compactor moved/.test(p)));
  });

  test("an unsafe migrate check keeps step 1 current", () => {
    const moved = env((r) => (r.cutover.compactor.loki = "new"));
    assert.equal(cutoverPlan(moved, timings, { unsafe: 0, from: "old/" }).steps[0]!.status, "done");
    const plan = cutoverPlan(moved, timings, { unsafe: 2, from: "old/" });
    assert.equal(plan.steps[0]!.status, "current");
    assert.match(plan.steps[0]!.check[0]!, /2 unsafe difference/);
  });

  const temps: TempProject[] = [];
  after(() => temps.forEach((t) => t.cleanup()));

  test("CLI: read-only, prints every step with do/check lines; --from includes a migrate check; a contradiction exits 2", async () => {
    let r = await runCli(["--root", REPO_ROOT, "cutover", "plan", "--env", "prod", "--from", path.join(REPO_ROOT, "test/fixtures/old-stack/same")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\[NOW\] {4}1\. Read-only rehearsal/m);
    assert.match(r.stdout, /^\[later\] {2}6\. Decommission/m);
    assert.match(r.stdout, /check: migrate check of .*same: no unsafe difference/);
    assert.match(r.stdout, /environment file says: compactor mimir: old;/);
    r = await runCli(["--root", REPO_ROOT, "--json", "cutover", "plan", "--env", "prod"]);
    const plan = JSON.parse(r.stdout);
    assert.equal(plan.steps.length, 6);
    const t = copyProject();
    temps.push(t);
    t.edit("environments/prod.json", (raw) => (raw.cutover.oldStack = "decommissioned"));
    r = await runCli(["--root", t.root, "cutover", "plan", "--env", "prod"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the "cutover" block contradicts itself/);
  });
});
