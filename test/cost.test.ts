import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import prices from "../data/fargate-prices.json" with { type: "json" };
import { runBundle, runCli } from "./helpers/cli.js";
import { copyProject } from "./helpers/project.js";

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} != ${expected}`);

/*
 * Seoul, on-demand Linux (data/fargate-prices.json): x86_64 $0.04656/vCPU-h, $0.00511/GB-h; ARM64 $0.03725, $0.00409;
 * ephemeral storage $0.000111/GB-h above 20 GiB (us-east-1 rate, unverified for Seoul); 730 h/month.
 *
 * prod, from the catalogue:           x86_64 per task-hour                 × tasks × 730      ARM64
 *   mimir 3 × (2 vCPU, 4 GB, 50 GiB)  2×0.04656 + 4×0.00511 = 0.11356      = 248.6964         3×(0.0745+0.01636)×730 = 198.9834
 *   loki  2 × (1, 2, 30)              0.04656 + 2×0.00511   = 0.05678      =  82.8988         2×(0.03725+0.00818)×730 = 66.3278
 *   tempo 1 × (1, 2, 30)              0.05678                              =  41.4494          33.1639
 *   pyroscope 1 × (1, 2, 30)          0.05678                              =  41.4494          33.1639
 *   grafana 1 × (0.5, 1, 20)          0.02328 + 0.00511     = 0.02839      =  20.7247          (0.018625+0.00409)×730 = 16.58195
 *   alloy 1 × (0.5, 1, 20)            0.02839                              =  20.7247          16.58195
 *   compute: 11 vCPU, 22 GB           11×0.04656 + 22×0.00511 = 0.62458 × 730 = 455.9434      (0.40975+0.08998)×730 = 364.8029
 *   storage above 20 GiB: 3×30 + 2×10 + 10 + 10 = 130 GB × 0.000111 × 730 = 10.5339
 *   total (x86_64): 455.9434 + 10.5339 = 466.4773; ARM64 saves 455.9434 − 364.8029 = 91.1405 (19.99 %)
 *   the plan's ~$560 is 560 − 455.9434 = 104.0566 more (18.58 %)
 */
test("cost --env prod --json: the hand-computed figures", async () => {
  const r = await runCli(["cost", "--env", "prod", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const line = (c: string) => report.lines.find((l: { component: string }) => l.component === c);
  close(line("mimir").compute.X86_64, 3 * (2 * 0.04656 + 4 * 0.00511) * 730, "mimir x86");
  close(line("mimir").compute.X86_64, 248.6964, "mimir x86 by hand");
  close(line("loki").compute.X86_64, 82.8988, "loki x86");
  close(line("grafana").compute.ARM64, 16.58195, "grafana arm");
  close(line("mimir").compute.ARM64, 198.9834, "mimir arm");
  close(line("mimir").storage, 90 * 0.000111 * 730, "mimir storage");
  assert.deepEqual(report.lines.map((l: { component: string; tasks: number; vcpu: number; memoryGb: number; extraStorageGb: number }) => [l.component, l.tasks, l.vcpu, l.memoryGb, l.extraStorageGb]), [
    ["mimir", 3, 2, 4, 30],
    ["loki", 2, 1, 2, 10],
    ["tempo", 1, 1, 2, 10],
    ["pyroscope", 1, 1, 2, 10],
    ["grafana", 1, 0.5, 1, 0],
    ["alloy", 1, 0.5, 1, 0],
  ]);
  close(report.totals.compute.X86_64, 455.9434, "compute x86");
  close(report.totals.compute.ARM64, 364.8029, "compute arm");
  close(report.totals.storage, 10.5339, "storage");
  close(report.totals.total, 466.4773, "total");
  assert.equal(report.architecture, "X86_64");
  close(report.armSaving.monthly, 91.1405, "ARM saving");
  assert.equal(report.armSaving.percent.toFixed(1), "20.0");
  assert.equal(report.plan.monthly, 560);
  close(report.plan.difference, 104.0566, "below the plan");
});

test("cost --env prod (text): both architectures, the saving, the plan, the dated source, what is not included", async () => {
  const r = await runBundle(["cost", "--env", "prod"]);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /^Fargate compute for prod \(ap-northeast-2, Asia Pacific \(Seoul\)\), on-demand Linux, 730 h\/month, USD$/m);
  assert.match(out, /prices: effective 2026-07-01, published 2026-08-31/);
  assert.match(out, /source: AWS Price List API, https:\/\/pricing\.us-east-1\.amazonaws\.com\/offers\/v1\.0\/aws\/AmazonECS\/current\/ap-northeast-2\/index\.json/);
  assert.match(out, /Not fetched from the Price List API by this project/);
  assert.match(out, /^mimir\s+3\s+2\s+4 GB\s+50 GiB\s+\$248\.70\s+\$198\.98\s+~\$270$/m);
  assert.match(out, /^compute\s+\$455\.94\s+\$364\.80\s+~\$560$/m);
  assert.match(out, /130 GB in all, \$10\.53\/month at 0\.000111\/GB-h \(rate UNVERIFIED for this region\)/);
  assert.match(out, /total for this environment \(X86_64\): \$466\.48\/month/);
  assert.match(out, /ARM64 saves \$91\.14\/month on compute \(20\.0 %\)/);
  assert.match(out, /the original plan estimated ~\$560\/month for compute; this environment's compute is \$104\.06 less \(18\.6 %\)/);
  for (const item of [/ALB/, /NAT gateway or VPC interface endpoints/, /CloudWatch Logs/, /S3 storage and requests/, /Grafana database/]) {
    assert.match(out.slice(out.indexOf("not included:")), item);
  }
});

describe("cost follows the rendered task definitions", () => {
  const p = copyProject();
  after(() => p.cleanup());

  test("ARM64, more and bigger Loki tasks: the environment's figure moves with them", async () => {
    p.edit("environments/prod.json", (e) => {
      e.cpuArchitecture = "ARM64";
      e.components = { loki: { desiredCount: 3, memory: 4096, ephemeralStorageGiB: 50 } };
    });
    const r = await runCli(["cost", "--root", p.root, "--env", "prod", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const loki = report.lines.find((l: { component: string }) => l.component === "loki");
    // Loki: 3 × (1×0.03725 + 4×0.00409) × 730 = 3 × 0.05361 × 730 = 117.4059 (ARM64); 3 × 30 GB × 0.000111 × 730 = 7.2927
    assert.equal(loki.architecture, "ARM64");
    close(loki.compute.ARM64, 117.4059, "loki arm");
    close(loki.storage, 7.2927, "loki storage");
    // ARM64 compute: 364.8029 − 66.3278 (2 small Lokis) + 117.4059 = 415.881; storage 10.5339 − 1.6206 + 7.2927 = 16.206
    assert.equal(report.architecture, "ARM64");
    close(report.totals.compute.ARM64, 415.881, "compute arm");
    close(report.totals.total, 415.881 + 16.206, "total");
    close(report.plan.difference, 560 - 415.881, "vs plan");
  });

  test("works before the stack exists (no outputs section): the ARNs do not change the bill", async () => {
    p.edit("environments/prod.json", (e) => {
      delete e.outputs;
      e.cpuArchitecture = "X86_64";
      e.components = {};
    });
    const r = await runCli(["cost", "--root", p.root, "--env", "prod", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    close(JSON.parse(r.stdout).totals.total, 466.4773, "total");
    assert.equal((await runCli(["render", "loki", "--root", p.root, "--env", "prod", "--sha", "0123456"])).code, 2, "rendering for a release still needs the outputs");
  });

  test("a region without prices: exit 2 naming the data file; an invalid environment: exit 2", async () => {
    const r = await runCli(["cost", "--env", "local"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no Fargate prices for region us-east-1 in data\/fargate-prices\.json \(known: ap-northeast-2\); add them with their source and date/);
    p.edit("environments/prod.json", (e) => (e.components = { mimir: { cpu: 2048, memory: 1024 } }));
    const bad = await runCli(["cost", "--root", p.root, "--env", "prod"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /cpu 2048 with memory 1024 MiB is not a valid Fargate pair/);
  });
});

test("the price data file: dated, sourced, honest about what is unverified", () => {
  for (const [region, p] of Object.entries(prices.regions)) {
    for (const date of [p.effective, p.published, p.checked]) assert.match(date, /^\d{4}-\d{2}-\d{2}$/, region);
    assert.match(p.source, /^AWS Price List API, https:\/\/pricing\.us-east-1\.amazonaws\.com\/offers\/v1\.0\/aws\/AmazonECS\/current\//);
    assert.match(p.verification, /Not fetched/);
    for (const arch of [p.X86_64, p.ARM64]) assert.ok(arch.vcpuHour > 0 && arch.gbHour > 0);
    assert.ok(p.ARM64.vcpuHour < p.X86_64.vcpuHour && p.ARM64.gbHour < p.X86_64.gbHour);
  }
  assert.equal(prices.regions["ap-northeast-2"].ephemeralStorageGbHour.verified, false);
  assert.match(prices.regions["ap-northeast-2"].ephemeralStorageGbHour.note, /UNVERIFIED for Seoul/);
  assert.equal(prices.hoursPerMonth, 730);
  assert.equal(Object.values(prices.plan.components).reduce((a, b) => a + b, 0), prices.plan.monthly);
});
