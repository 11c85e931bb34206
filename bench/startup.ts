/**
 * Helper start-up against bare node, and render of all six task definitions in one process.
 * Targets: start-up (--version, --help) <= 3x `node -e 0`; render --all <= 0.3 s.
 * Run: npm run bench:startup, or npx tsx bench/startup.ts [--compare <another lgtm-deploy.mjs>]   (e.g. the bundle of an earlier commit:
 *   mkdir -p /tmp/old && git show <commit>:resources/lgtm/lgtm-deploy.mjs > /tmp/old/lgtm-deploy.mjs)
 * Other Nodes: npx -y -p node@22 node --import tsx bench/startup.ts (the variants run on the same node).
 * Runs are interleaved (baseline, bundle, other bundle, ...) so a busy machine slows them all alike.
 */
import { execa } from "execa";
import { performance } from "node:perf_hooks";
import { statSync } from "node:fs";
import { BUNDLE, ROOT } from "./lib.js";
import { COMPONENT_NAMES } from "../src/core/catalogue.js";
import { Project } from "../src/adapters/files.js";
import { renderTaskDefinition } from "../src/core/render.js";
import { makeTag } from "../src/core/tag.js";

const RUNS = Number(process.env.RUNS ?? 20);
const compareAt = process.argv.indexOf("--compare");
const other = compareAt > 0 ? process.argv[compareAt + 1] : undefined;

const variants: Array<[string, string[]]> = [
  ["node -e 0 (baseline)", ["-e", "0"]],
  ["lgtm-deploy.mjs --version", [BUNDLE, "--version"]],
  ["lgtm-deploy.mjs --help", [BUNDLE, "--help"]],
  ["lgtm-deploy.mjs render --all --env prod (whole process)", [BUNDLE, "render", "--all", "--env", "prod", "--sha", "0123456"]],
  ...(other === undefined
    ? []
    : ([
        [`compare: ${other} --version`, [other, "--version"]],
        [`compare: ${other} render --all --env prod`, [other, "render", "--all", "--env", "prod", "--sha", "0123456"]],
      ] as Array<[string, string[]]>)),
];

const samples = variants.map(() => [] as number[]);
for (let i = 0; i < RUNS + 3; i++) {
  for (const [v, [, args]] of variants.entries()) {
    const t = performance.now();
    await execa(process.execPath, args, { cwd: ROOT, env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } });
    if (i >= 3) samples[v]!.push(performance.now() - t); // 3 warm-up rounds
  }
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { mean: s.reduce((a, b) => a + b, 0) / s.length, median: s[Math.floor(s.length / 2)]!, min: s[0]! };
};
const all = samples.map(stats);
const base = all[0]!;

// In-process: the render work itself, without process start-up.
const project = new Project(ROOT);
const env = project.environment("prod");
const t = performance.now();
const ITER = 50;
for (let i = 0; i < ITER; i++) for (const c of COMPONENT_NAMES) renderTaskDefinition(c, env, { tag: makeTag({ version: "1.0.0", sha: "0123456" }) }, project.templates(c).taskDefinition);
const inProcess = (performance.now() - t) / ITER;

const ms = (x: number) => `${x.toFixed(0)} ms`;
const kb = (f: string) => `${Math.round(statSync(f).size / 1024)} KB`;
console.log(`\nNode ${process.version}, ${RUNS} interleaved runs each after 3 warm-up rounds; bundle ${kb(BUNDLE)}${other ? `, compare ${kb(other)}` : ""}\n`);
console.log("| measurement | mean | median | min | vs baseline (mean) | target |");
console.log("|---|---|---|---|---|---|");
for (const [v, [name]] of variants.entries()) {
  const s = all[v]!;
  const target = v === 1 || v === 2 ? "<= 3×" : v === 3 ? "<= 300 ms" : "";
  console.log(`| ${name} | ${ms(s.mean)} | ${ms(s.median)} | ${ms(s.min)} | ${v === 0 ? "" : `${(s.mean / base.mean).toFixed(2)}×`} | ${target} |`);
}
console.log(`| render of all six, in-process (reads templates + validates) | ${inProcess.toFixed(1)} ms | | | | |`);
