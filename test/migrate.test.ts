/**
 * `lgtm-deploy migrate check` on realistic old stacks (test/fixtures/old-stack/, see its README): every unsafe
 * difference is detected (and nothing else), and each one is accepted once the environment carries the old value.
 */
import assert from "node:assert/strict";
import { mkdtempSync, cpSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { runCli, REPO_ROOT } from "./helpers/cli.js";
import { copyProject, type TempProject } from "./helpers/project.js";
import type { Finding } from "../src/core/migrate-check.js";
import { classifyFlag } from "../src/core/migrate-check.js";
import { composeServices, hostPath, parseFlags, splitCommand } from "../src/core/old-stack.js";
import { expandEnv } from "../src/core/expand.js";

const FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "old-stack");
const TODAY = "2026-11-30";

interface Report {
  findings: Finding[];
  unsafe: number;
}

async function check(from: string, opts: { env?: string; root?: string } = {}): Promise<{ code: number; report: Report; stderr: string }> {
  const r = await runCli(["--root", opts.root ?? REPO_ROOT, "--json", "migrate", "check", "--from", from, "--env", opts.env ?? "prod", "--today", TODAY]);
  return { code: r.code, report: r.stdout === "" ? { findings: [], unsafe: 0 } : (JSON.parse(r.stdout) as Report), stderr: r.stderr };
}

/** The unsafe findings as "component setting kind" lines, sorted. */
const unsafe = (r: Report) => r.findings.filter((f) => f.severity === "unsafe").map((f) => `${f.component} ${f.setting} ${f.kind}`).sort();

const projects: TempProject[] = [];
after(() => {
  for (const p of projects) p.cleanup();
});
function project(edit: (prod: any) => void): string {
  const p = copyProject();
  projects.push(p);
  p.edit("environments/prod.json", edit);
  return p.root;
}

describe("migrate check: each unsafe difference is detected, nothing else", () => {
  test("same layout, schema, retention and tenants as prod.json: safe (exit 0)", async () => {
    const { code, report } = await check(path.join(FIXTURES, "same"));
    assert.deepEqual(unsafe(report), []);
    assert.equal(code, 0);
    // It did compare: every backend's location, tenancy and retention was looked at.
    for (const c of ["mimir", "loki", "tempo", "pyroscope"]) {
      assert.ok(report.findings.some((f) => f.component === c && f.setting.endsWith("bucket/prefix") && f.kind === "same"), c);
      assert.ok(report.findings.some((f) => f.component === c && f.setting === "retention" && f.kind === "same"), c);
    }
  });

  test("a different prefix (Mimir blocks under tsdb/, Tempo under traces/) makes old data unreadable (exit 5)", async () => {
    const { code, report } = await check(path.join(FIXTURES, "different-prefix"));
    assert.equal(code, 5);
    assert.deepEqual(unsafe(report), ["mimir blocks bucket/prefix unreadable", "tempo storage bucket/prefix unreadable"]);
    const f = report.findings.find((x) => x.component === "mimir" && x.severity === "unsafe")!;
    assert.equal(f.old, "s3://sys-lgtm-s3/tsdb/");
    assert.equal(f.new, "s3://sys-lgtm-s3/blocks/");
  });

  test("a missing Loki schema period (boltdb-shipper v12 before tsdb v13) makes those logs unreadable", async () => {
    const { code, report } = await check(path.join(FIXTURES, "missing-schema-period"));
    assert.equal(code, 5);
    assert.deepEqual(unsafe(report), ["loki schema_config period from 2023-01-01 unreadable"]);
  });

  test("a shorter retention on the new side deletes old data sooner; a longer one is accepted", async () => {
    const { code, report } = await check(path.join(FIXTURES, "longer-retention"));
    assert.equal(code, 5);
    assert.deepEqual(unsafe(report), ["tempo retention deleted-sooner"]);
    const kept = report.findings.filter((f) => f.kind === "kept-longer").map((f) => `${f.component} ${f.setting}`).sort();
    assert.deepEqual(kept, ["loki retention", "mimir retention (tenant anonymous, overrides file)"]);
  });

  test("multi-tenant old stack (Mimir's default, Loki auth_enabled, Tempo multitenancy) against single-tenant prod", async () => {
    const { code, report } = await check(path.join(FIXTURES, "multi-tenant"));
    assert.equal(code, 5);
    assert.deepEqual(unsafe(report), ["loki tenancy unreadable", "mimir tenancy unreadable", "tempo tenancy unreadable"]);
  });

  test("docker-compose flags override the files; flags the check cannot model are unverified, not ignored", async () => {
    const { code, report } = await check(path.join(FIXTURES, "compose-flags"));
    assert.equal(code, 5);
    // -blocks-storage.storage-prefix=mimir beats the file's "blocks"; -auth.enabled (a bare boolean) beats auth_enabled: false;
    // -compactor.deletion-delay is data-related and not modelled. ${LOKI_PREFIX:-ftt-loki} (expand-env, envsubst default)
    // and ${MIMIR_TENANT:-anonymous} (compose interpolation) resolve to the same values as prod's.
    assert.deepEqual(unsafe(report), ["loki tenancy unreadable", "mimir -compactor.deletion-delay unverified", "mimir blocks bucket/prefix unreadable"]);
    assert.ok(report.findings.some((f) => f.component === "loki" && f.setting === "storage bucket/prefix" && f.kind === "same"), "expanded ${LOKI_BUCKET} and ${LOKI_PREFIX:-ftt-loki}");
    assert.ok(report.findings.some((f) => f.component === "pyroscope" && f.setting === "retention" && f.kind === "kept-longer" && f.old === "30d"));
  });

  test("no compose file: configs are found by name and missing backends are noted", async () => {
    const { code, report } = await check(path.join(FIXTURES, "no-compose"));
    assert.equal(code, 0);
    assert.deepEqual(report.findings.filter((f) => f.setting === "stack").map((f) => f.component).sort(), ["pyroscope", "tempo"]);
  });
});

describe("migrate check: each difference is accepted once the environment carries the old value", () => {
  test("migration.prefixes", async () => {
    const root = project((e) => Object.assign(e.migration.prefixes, { mimirBlocks: "tsdb", tempo: "traces/" }));
    const { code, report } = await check(path.join(FIXTURES, "different-prefix"), { root });
    assert.deepEqual(unsafe(report), []);
    assert.equal(code, 0);
  });

  test("migration.lokiSchema with every old period; a later period only if it starts in the future", async () => {
    const old = { from: "2023-01-01", store: "boltdb-shipper", object_store: "s3", schema: "v12", index: { prefix: "index_", period: "24h" } };
    let root = project((e) => e.migration.lokiSchema.unshift(old));
    assert.deepEqual(unsafe((await check(path.join(FIXTURES, "missing-schema-period"), { root })).report), []);
    root = project((e) => {
      e.migration.lokiSchema.unshift(old);
      e.migration.lokiSchema.push({ ...e.migration.lokiSchema[1], from: "2027-01-01" });
    });
    const future = await check(path.join(FIXTURES, "missing-schema-period"), { root });
    assert.deepEqual(unsafe(future.report), []);
    assert.ok(future.report.findings.some((f) => f.kind === "note" && /future/.test(f.message)));
    root = project((e) => {
      e.migration.lokiSchema.unshift(old);
      e.migration.lokiSchema.push({ ...e.migration.lokiSchema[1], from: "2026-06-01" });
    });
    assert.deepEqual(unsafe((await check(path.join(FIXTURES, "missing-schema-period"), { root })).report), ["loki schema_config period from 2026-06-01 unreadable"]);
  });

  test("migration.retention; and a retention shorter than a tenant's override is caught", async () => {
    let root = project((e) => (e.migration.retention.tempo = "720h"));
    assert.deepEqual(unsafe((await check(path.join(FIXTURES, "longer-retention"), { root })).report), []);
    root = project((e) => Object.assign(e.migration.retention, { tempo: "720h", mimir: "30d" }));
    assert.deepEqual(unsafe((await check(path.join(FIXTURES, "longer-retention"), { root })).report), ["mimir retention (tenant anonymous, overrides file) deleted-sooner", "mimir retention deleted-sooner"]);
  });

  test("migration.tenancy (with the tenants the cutover disables compaction for)", async () => {
    const root = project((e) => {
      for (const c of ["mimir", "loki", "tempo"]) e.migration.tenancy[c] = { multitenancy: true, tenants: ["team-a", "team-b"] };
    });
    const { code, report } = await check(path.join(FIXTURES, "multi-tenant"), { root });
    assert.deepEqual(unsafe(report), []);
    assert.equal(code, 0);
  });
});

describe("migrate check: single-writer roles follow the environment's cutover block", () => {
  test("an environment without a cutover block (the new stack owns everything) against a running old stack: two writers", async () => {
    const { code, report } = await check(path.join(FIXTURES, "same"), { env: "local" });
    assert.equal(code, 5);
    assert.deepEqual(unsafe(report), ["loki compactor two-writers", "mimir compactor two-writers", "mimir ruler two-writers", "pyroscope compactor two-writers", "tempo compactor two-writers"]);
  });

  test("handing over the Mimir compactor: old disabled + new owner is accepted; old disabled + old owner leaves no writer", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lgtm-old-"));
    try {
      cpSync(path.join(FIXTURES, "same"), dir, { recursive: true });
      const compose = path.join(dir, "docker-compose.yml");
      const text = (await import("node:fs")).readFileSync(compose, "utf8").replace('command: ["-config.file=/etc/mimir/mimir.yaml"]', 'command: ["-config.file=/etc/mimir/mimir.yaml", "-compactor.disabled-tenants=anonymous"]');
      writeFileSync(compose, text);
      const handedOver = project((e) => (e.cutover.compactor.mimir = "new"));
      assert.deepEqual(unsafe((await check(dir, { root: handedOver })).report), []);
      const none = await check(dir);
      assert.deepEqual(unsafe(none.report), ["mimir compactor no-writer"]);
      assert.match(none.report.findings.find((f) => f.kind === "no-writer")!.message, /bucket index/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("migrate check: what it cannot read is unsafe, never assumed", () => {
  test("a runtime overrides file that is not in --from, a config not bind-mounted, an object store that is not S3", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lgtm-old-"));
    try {
      cpSync(path.join(FIXTURES, "longer-retention"), dir, { recursive: true });
      rmSync(path.join(dir, "mimir", "runtime.yaml"));
      rmSync(path.join(dir, "pyroscope", "config.yaml"));
      const tempo = path.join(dir, "tempo", "tempo.yaml");
      const fs = await import("node:fs");
      fs.writeFileSync(tempo, fs.readFileSync(tempo, "utf8").replace("endpoint: s3.ap-northeast-2.amazonaws.com", "endpoint: minio:9000"));
      const { code, report } = await check(dir);
      assert.equal(code, 5);
      assert.deepEqual(unsafe(report), ["mimir overrides file unverified", "pyroscope config file unverified", "tempo retention deleted-sooner", "tempo storage endpoint unreadable"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("bad input: a --from that is not a directory, an unknown environment, a bad --today (exit 2)", async () => {
    let r = await runCli(["--root", REPO_ROOT, "migrate", "check", "--from", path.join(FIXTURES, "nope"), "--env", "prod"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--from .*nope: not a directory/);
    r = await runCli(["--root", REPO_ROOT, "migrate", "check", "--from", path.join(FIXTURES, "same"), "--env", "staging"]);
    assert.equal(r.code, 2);
    r = await runCli(["--root", REPO_ROOT, "migrate", "check", "--from", path.join(FIXTURES, "same"), "--env", "prod", "--today", "30/11/2026"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--today must be a date/);
  });

  test("human output names the setting, old and new values, and the exit code", async () => {
    const r = await runCli(["--root", REPO_ROOT, "migrate", "check", "--from", path.join(FIXTURES, "different-prefix"), "--env", "prod", "--today", TODAY]);
    assert.equal(r.code, 5);
    assert.match(r.stdout, /UNSAFE {2}blocks bucket\/prefix: .*old: s3:\/\/sys-lgtm-s3\/tsdb\/; new: s3:\/\/sys-lgtm-s3\/blocks\//);
    assert.match(r.stdout, /2 unsafe difference\(s\).*exit 5/);
  });
});

describe("old-stack parsing", () => {
  test("Go flag syntax, compose string commands, bind mounts, interpolation", () => {
    assert.deepEqual(splitCommand(`-config.file=/etc/a.yaml  -target='all' -x "a b"`), ["-config.file=/etc/a.yaml", "-target=all", "-x", "a b"]);
    assert.deepEqual(parseFlags(["-auth.enabled", "-target=all", "--store.retention", "30d", "-x=1"], new Set(["auth.enabled"])), { "auth.enabled": "true", target: "all", "store.retention": "30d", x: "1" });
    const [svc] = composeServices({ services: { m: { image: "docker.io/grafana/mimir:${V}", command: "-config.file=/etc/mimir/m.yaml", volumes: ["./cfg:/etc/mimir:ro", "data:/data"] } } }, { V: "2.14.0" }, () => new Set());
    assert.equal(svc!.image, "docker.io/grafana/mimir:2.14.0");
    assert.equal(hostPath(svc!, "/etc/mimir/m.yaml"), "./cfg/m.yaml");
    assert.equal(hostPath(svc!, "/data/x"), undefined, "named volumes are not host files");
    assert.equal(composeServices({ services: { g: { image: "grafana/grafana:11" } } }, {}, () => new Set()).length, 0);
  });

  test("expand-env dialects: Mimir's ${VAR:default} and no escape; envsubst's ${VAR:-default} and $$", () => {
    assert.equal(expandEnv("a ${X:def} ${Y} $$ $Z", "mimir", { Y: "y", Z: "z" }), "a def y  z");
    assert.equal(expandEnv("a ${X:-def} ${X-d2} ${Y:-no} $$ ${X}", "envsubst", { Y: "" }), "a def d2 no $ ");
    assert.equal(expandEnv("${X:-def}", "mimir", {}), "-def", "the :- form means the default '-def' in Mimir");
  });

  test("flags are classified: mapped, harmless, or unverifiable", () => {
    assert.equal(classifyFlag("mimir", "blocks-storage.storage-prefix"), "mapped");
    assert.equal(classifyFlag("mimir", "server.http-listen-port"), "harmless");
    assert.equal(classifyFlag("loki", "compactor.delete-request-store"), "unverifiable");
    assert.equal(classifyFlag("tempo", "storage.trace.s3.prefix"), "unverifiable");
  });
});
