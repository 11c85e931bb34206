/**
 * The "LGTM releases" dashboard baked into the Grafana image: valid JSON provisioned where the Dockerfile copies it,
 * datasources that exist (provisioned uids), annotation queries that match the annotations lgtm-deploy actually sends,
 * and metric names that exist: CloudWatch metrics as Alloy's exporter (YACE) names what config.alloy collects, and the
 * stack's own metrics under the job labels config.alloy's self-scrape gives them. Negative tests prove each check bites.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import YAML from "yaml";
import { ANNOTATION_TAG, releaseTags, type ReleaseOutcome } from "../src/core/annotation.js";
import { CATALOGUE, COMPONENT_NAMES, type ComponentName } from "../src/core/catalogue.js";
import { REPO_ROOT } from "./helpers/cli.js";

const GRAFANA_DIR = path.join(REPO_ROOT, "dockerfiles", "grafana");
const read = (p: string) => readFileSync(path.join(GRAFANA_DIR, p), "utf8");
const DASHBOARD_FILE = "dashboards/releases.json";
const dashboardText = read(DASHBOARD_FILE);
const dashboard = JSON.parse(dashboardText) as Dash;
const alloy = readFileSync(path.join(REPO_ROOT, "dockerfiles", "alloy", "config.alloy"), "utf8");

type Obj = Record<string, any>;
interface Dash {
  uid: string;
  title: string;
  annotations: { list: Obj[] };
  templating: { list: Obj[] };
  panels: Obj[];
  [k: string]: unknown;
}

/** The built-in "-- Grafana --" datasource (annotations by tag); not provisioned, always there. */
const BUILTIN_GRAFANA = "-- Grafana --";

function provisionedDatasources(): Map<string, string> {
  const doc = YAML.parse(read("provisioning/datasources/lgtm.yaml")) as { datasources: Array<{ uid: string; type: string }> };
  return new Map(doc.datasources.map((d) => [d.uid, d.type]));
}

/** Grafana's own variables ($__rate_interval, $__all...) need no definition. */
const GLOBAL_VARS = /^__/;

/**
 * YACE (prometheus.exporter.cloudwatch) metric naming: aws_<namespace, lower-cased>_<MetricName in snake case>_<stat>.
 * The namespace is lower-cased before splitting (ContainerInsights -> containerinsights), the metric name is not.
 */
export function yaceName(namespace: string, metric: string, statistic: string): string {
  const snake = (s: string) => s.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase().replace(/[^a-z0-9_]/g, "_");
  const ns = namespace.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  return `${ns.startsWith("aws") ? "" : "aws_"}${ns}_${snake(metric)}_${statistic.toLowerCase()}`;
}

/** The CloudWatch metrics config.alloy collects, as the exporter names them, with their namespace. */
function collectedCloudWatchMetrics(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const block of text.split(/\n\s*discovery\s*\{/).slice(1)) {
    const ns = /type\s*=\s*"([^"]+)"/.exec(block)?.[1];
    if (!ns) continue;
    for (const m of block.matchAll(/metric\s*\{\s*name\s*=\s*"([^"]+)"\s*statistics\s*=\s*\[([^\]]*)\]/g)) {
      for (const stat of m[2]!.matchAll(/"([^"]+)"/g)) out.set(yaceName(ns, m[1]!, stat[1]!), ns);
    }
  }
  return out;
}

/** CloudWatch dimensions per namespace (AWS docs: Container Insights ECS metrics; ALB CloudWatch metrics). */
const DIMENSIONS: Record<string, string[]> = {
  "ECS/ContainerInsights": ["ClusterName", "ServiceName", "TaskDefinitionFamily"],
  "AWS/ECS": ["ClusterName", "ServiceName"],
  "AWS/ApplicationELB": ["LoadBalancer", "TargetGroup", "AvailabilityZone"],
};

/** The stack's own metrics the dashboard may use, and the component that exposes each (upstream metric names). */
const OWN_METRICS: Record<string, ComponentName | "any"> = {
  cortex_discarded_samples_total: "mimir",
  cortex_request_duration_seconds_count: "mimir",
  loki_discarded_samples_total: "loki",
  loki_request_duration_seconds_count: "loki",
  process_start_time_seconds: "any",
  up: "any",
};

/** Components config.alloy scrapes itself: discovery.dns "<component>" on the component's HTTP port, job lgtm/<c>. */
function scrapedComponents(text: string): { components: Map<string, number>; problems: string[] } {
  const components = new Map<string, number>();
  const problems: string[] = [];
  for (const m of text.matchAll(/discovery\.dns\s+"([a-z]+)"\s*\{([^}]*)\}/g)) {
    const name = m[1]!;
    const port = Number(/port\s*=\s*(\d+)/.exec(m[2]!)?.[1]);
    if (!/names\s*=\s*\[string\.format\("([a-z]+)\.%s", sys\.env\("LGTM_NAMESPACE"\)\)\]/.test(m[2]!) || !m[2]!.includes(`"${name}.%s"`)) problems.push(`discovery.dns "${name}" must look up ${name}.<namespace>`);
    if (!/type\s*=\s*"A"/.test(m[2]!)) problems.push(`discovery.dns "${name}" must ask for A records (one per task)`);
    const http = (COMPONENT_NAMES as readonly string[]).includes(name) ? CATALOGUE[name as ComponentName].ports.find((p) => p.name === "http")!.containerPort : undefined;
    if (http !== port) problems.push(`discovery.dns "${name}" port ${port} is not the catalogue's HTTP port ${http}`);
    components.set(name, port);
  }
  if (!/replacement\s*=\s*"lgtm\/\$1"/.test(text) || !/source_labels\s*=\s*\["__meta_dns_name"\]/.test(text)) problems.push('the self-scrape must set job = "lgtm/<component>" from __meta_dns_name');
  if (!/prometheus\.scrape\s+"lgtm"\s*\{[^}]*targets\s*=\s*discovery\.relabel\.lgtm\.output[^}]*prometheus\.remote_write\.mimir\.receiver/s.test(text)) problems.push("prometheus.scrape \"lgtm\" must scrape discovery.relabel.lgtm.output into Mimir");
  return { components, problems };
}

function walk(node: unknown, visit: (o: Obj, where: string) => void, where = "$"): void {
  if (Array.isArray(node)) node.forEach((n, i) => walk(n, visit, `${where}[${i}]`));
  else if (node !== null && typeof node === "object") {
    visit(node as Obj, where);
    for (const [k, v] of Object.entries(node)) walk(v, visit, `${where}.${k}`);
  }
}

const OUTCOMES: ReleaseOutcome[] = ["released", "rolled-back", "failed"];

/** Every problem with the dashboard (empty: fine). */
export function checkDashboard(d: Dash, alloyText = alloy): string[] {
  const p: string[] = [];
  const ds = provisionedDatasources();
  // ---- datasources
  walk(d, (o, where) => {
    const ref = o.datasource;
    if (ref === undefined) return;
    if (typeof ref !== "object" || ref === null) return void p.push(`${where}.datasource: use {type, uid}, not a name`);
    if (ref.uid === BUILTIN_GRAFANA) {
      if (ref.type !== "grafana") p.push(`${where}.datasource: the built-in Grafana datasource has type "grafana"`);
    } else if (!ds.has(ref.uid)) p.push(`${where}.datasource: uid "${ref.uid}" is not a provisioned datasource (${[...ds.keys()].join(", ")})`);
    else if (ds.get(ref.uid) !== ref.type) p.push(`${where}.datasource: uid "${ref.uid}" is a ${ds.get(ref.uid)} datasource, not ${ref.type}`);
  });
  // ---- variables
  const vars = new Map(d.templating.list.map((v) => [v.name as string, v]));
  const used = new Set<string>();
  walk(d, (o) => {
    for (const v of Object.values(o)) {
      const texts = typeof v === "string" ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
      for (const t of texts) for (const m of t.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) if (!GLOBAL_VARS.test(m[1]!) && !/^\d/.test(m[1]!)) used.add(m[1]!);
    }
  });
  for (const u of used) if (!vars.has(u)) p.push(`variable $${u} is used but not defined`);
  const component = vars.get("component");
  if (component?.query?.split(",").join(",") !== COMPONENT_NAMES.join(",")) p.push(`variable component must offer exactly ${COMPONENT_NAMES.join(",")}`);
  // ---- annotations: each query must match what the annotator sends, for some outcome (or the start)
  const sent = [undefined, ...OUTCOMES].map((o) => ({ outcome: o, tags: releaseTags({ component: "loki", environment: "prod", version: "1.2.3", tag: null, text: "" }, o) }));
  const tagQueries = d.annotations.list.filter((a) => !a.builtIn);
  if (tagQueries.length === 0) p.push("no release annotation query");
  for (const a of tagQueries) {
    const t = a.target ?? {};
    if (a.datasource?.uid !== BUILTIN_GRAFANA) p.push(`annotation "${a.name}": release annotations are read with the built-in Grafana datasource`);
    if (t.type !== "tags") p.push(`annotation "${a.name}": must be a tags query (organisation annotations)`);
    if (t.matchAny !== false) p.push(`annotation "${a.name}": matchAny must be false (all tags), or it matches every annotation of any tag`);
    const tags = (t.tags ?? []) as string[];
    if (!tags.includes(ANNOTATION_TAG)) p.push(`annotation "${a.name}": must ask for the ${ANNOTATION_TAG} tag`);
    if (!tags.includes("$environment")) p.push(`annotation "${a.name}": must be filtered by $environment`);
    const resolved = tags.map((x) => x.replace("$environment", "prod"));
    if (!sent.some((s) => resolved.every((x) => s.tags.includes(x)))) p.push(`annotation "${a.name}": tags ${JSON.stringify(tags)} match no annotation lgtm-deploy sends`);
  }
  for (const o of ["rolled-back", "failed"] as const) {
    if (!tagQueries.some((a) => (a.target?.tags ?? []).includes(o))) p.push(`no annotation query shows ${o} releases on their own`);
  }
  // ---- metrics
  const cloudwatch = collectedCloudWatchMetrics(alloyText);
  const scraped = scrapedComponents(alloyText);
  p.push(...scraped.problems);
  const panels = d.panels.flatMap((x) => [x, ...(x.panels ?? [])]);
  const ids = panels.map((x) => x.id);
  if (new Set(ids).size !== ids.length) p.push("panel ids must be unique");
  for (const panel of panels) {
    const g = panel.gridPos;
    if (!g || g.x < 0 || g.w < 1 || g.x + g.w > 24 || g.h < 1) p.push(`panel "${panel.title}": gridPos must fit 24 columns`);
    for (const target of panel.targets ?? []) {
      const expr = String(target.expr ?? "");
      if (target.datasource?.uid !== "mimir") p.push(`panel "${panel.title}": queries go to Mimir (uid mimir)`);
      if ([..."({["].some((c, i) => expr.split(c).length !== expr.split(")}]"[i]!).length)) p.push(`panel "${panel.title}": unbalanced brackets in ${expr}`);
      for (const m of expr.matchAll(/\b([a-z_][a-z0-9_]*)\s*\{([^}]*)\}/g)) {
        const [, metric, selector] = m as unknown as [string, string, string];
        if (metric.startsWith("aws_")) {
          const ns = cloudwatch.get(metric);
          if (ns === undefined) p.push(`panel "${panel.title}": ${metric} is not a CloudWatch metric config.alloy collects`);
          for (const l of selector.matchAll(/\b(dimension_[A-Za-z]+)\s*[=!~]/g)) {
            if (ns !== undefined && !(DIMENSIONS[ns] ?? []).includes(l[1]!.slice("dimension_".length))) p.push(`panel "${panel.title}": ${ns} has no dimension ${l[1]!.slice(10)}`);
          }
        } else if (metric in OWN_METRICS) {
          const job = /\bjob\s*=~?\s*"([^"]+)"/.exec(selector)?.[1];
          const owner = OWN_METRICS[metric]!;
          if (job === undefined) p.push(`panel "${panel.title}": ${metric} needs a job selector`);
          else if (owner !== "any" && job !== `lgtm/${owner}`) p.push(`panel "${panel.title}": ${metric} comes from ${owner}, select job="lgtm/${owner}" (got ${job})`);
          else if (owner !== "any" && !scraped.components.has(owner)) p.push(`panel "${panel.title}": config.alloy does not scrape ${owner}`);
          else if (job !== undefined && !/^lgtm\/(\$component|[a-z]+)$/.test(job)) p.push(`panel "${panel.title}": job selector ${job} is not lgtm/<component>`);
        } else p.push(`panel "${panel.title}": unknown metric ${metric}`);
      }
    }
  }
  return p;
}

describe("Releases dashboard", () => {
  it("is valid, uses only provisioned datasources, and every annotation query matches what lgtm-deploy sends", () => {
    assert.equal(dashboard.uid, "lgtm-releases");
    assert.deepEqual(checkDashboard(dashboard), []);
    assert.equal(dashboardText.endsWith("\n"), true);
  });

  it("is provisioned from where the Dockerfile copies it", () => {
    const provider = (YAML.parse(read("provisioning/dashboards/lgtm.yaml")) as { apiVersion: number; providers: Obj[] }).providers;
    assert.equal(provider.length, 1);
    assert.equal(provider[0]!.type, "file");
    assert.equal(provider[0]!.allowUiUpdates, false);
    const copies = read("Dockerfile").split("\n").filter((l) => /^COPY\s/.test(l)).map((l) => l.trim().split(/\s+/).slice(1));
    const dest = copies.find(([src]) => src === DASHBOARD_FILE)?.[1];
    assert.equal(dest, `${provider[0]!.options.path}/releases.json`);
    assert.ok(copies.some(([src, to]) => src === "provisioning/dashboards/lgtm.yaml" && to === "/etc/grafana/provisioning/dashboards/lgtm.yaml"));
  });

  it("the exporter's metric naming matches upstream examples", () => {
    assert.equal(yaceName("ECS/ContainerInsights", "RunningTaskCount", "Average"), "aws_ecs_containerinsights_running_task_count_average");
    assert.equal(yaceName("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum"), "aws_applicationelb_httpcode_target_5xx_count_sum");
    assert.equal(yaceName("AWS/ECS", "CPUUtilization", "Average"), "aws_ecs_cpuutilization_average");
    assert.ok(collectedCloudWatchMetrics(alloy).has("aws_ecs_containerinsights_running_task_count_average"));
  });

  it("shows running tasks, restarts and Mimir/Loki ingestion errors", () => {
    const exprs = dashboard.panels.flatMap((x) => (x.targets ?? []).map((t: Obj) => String(t.expr))).join("\n");
    for (const m of ["aws_ecs_containerinsights_running_task_count_average", "process_start_time_seconds", "cortex_discarded_samples_total", "loki_discarded_samples_total", "cortex_request_duration_seconds_count", "loki_request_duration_seconds_count"]) {
      assert.ok(exprs.includes(m), m);
    }
  });

  describe("each check can fail", () => {
    const mutate = (f: (d: Dash) => void): Dash => {
      const d = JSON.parse(dashboardText) as Dash;
      f(d);
      return d;
    };
    const expect = (d: Dash, re: RegExp, alloyText?: string) => {
      const problems = checkDashboard(d, alloyText);
      assert.ok(problems.some((x) => re.test(x)), `expected ${re} in:\n${problems.join("\n")}`);
    };
    const firstTs = (d: Dash) => d.panels.find((x) => x.type === "timeseries")!;

    it("an unprovisioned or mistyped datasource uid", () => {
      expect(mutate((d) => (firstTs(d).datasource = { type: "prometheus", uid: "prometheus" })), /uid "prometheus" is not a provisioned datasource/);
      expect(mutate((d) => (firstTs(d).targets[0].datasource = { type: "loki", uid: "mimir" })), /is a prometheus datasource, not loki/);
    });

    it("annotation queries that could never match", () => {
      expect(mutate((d) => (d.annotations.list[1]!.target.tags = ["deploy", "$environment"])), /must ask for the lgtm-deploy tag/);
      expect(mutate((d) => (d.annotations.list[2]!.target.tags = ["lgtm-deploy", "$environment", "rolledback"])), /match no annotation lgtm-deploy sends/);
      expect(mutate((d) => (d.annotations.list[1]!.target.matchAny = true)), /matchAny must be false/);
      expect(mutate((d) => d.annotations.list.splice(3, 1)), /no annotation query shows failed releases/);
    });

    it("metrics nobody collects, wrong dimensions, wrong job labels, undefined variables", () => {
      expect(mutate((d) => (firstTs(d).targets[0].expr = 'max(aws_ecs_containerinsights_desired_task_count_average{dimension_ClusterName="x"})')), /desired_task_count_average is not a CloudWatch metric config\.alloy collects/);
      expect(mutate((d) => (firstTs(d).targets[0].expr = 'max(aws_ecs_containerinsights_running_task_count_average{dimension_Service="x"})')), /has no dimension Service/);
      const mimirPanel = (d: Dash) => d.panels.find((x) => /Mimir: discarded/.test(x.title))!;
      expect(mutate((d) => (mimirPanel(d).targets[0].expr = 'sum(rate(cortex_discarded_samples_total{job="lgtm/loki"}[5m]))')), /comes from mimir/);
      expect(mutate((d) => (mimirPanel(d).targets[0].expr = "sum(rate(cortex_discarded_samples_total{}[$window]))")), /variable \$window is used but not defined|needs a job selector/);
      expect(mutate((d) => (mimirPanel(d).targets[0].expr = 'sum(rate(cortex_discarded_samples_total{job="lgtm/mimir"}[5m])')), /unbalanced brackets/);
    });

    it("an Alloy config that stopped scraping Mimir or scrapes the wrong port", () => {
      expect(dashboard, /config\.alloy does not scrape mimir/, alloy.replace(/discovery\.dns "mimir" \{[^}]*\}/, ""));
      expect(dashboard, /port 9090 is not the catalogue's HTTP port 9009/, alloy.replace("port  = 9009", "port  = 9090"));
      expect(dashboard, /is not a CloudWatch metric config\.alloy collects/, alloy.replace('name       = "RunningTaskCount"', 'name       = "PendingTaskCount"'));
    });
  });
});
