/**
 * Helper start-up against bare node, and render of all six task definitions in one process.
 * Targets: start-up <= 2.5× `node -e 0`; render --all <= 0.3 s. Run: npx tsx bench/startup.ts
 */
import { execa } from "execa";
import { performance } from "node:perf_hooks";
import { BUNDLE, ROOT } from "./lib.js";
import { COMPONENT_NAMES } from "../src/core/catalogue.js";
import { Project } from "../src/adapters/files.js";
import { renderTaskDefinition } from "../src/core/render.js";
import { makeTag } from "../src/core/tag.js";

const RUNS = Number(process.env.RUNS ?? 20);

async function time(args: string[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const t = performance.now();
    await execa(process.execPath, args, { cwd: ROOT, env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } });
    if (i >= 3) out.push(performance.now() - t); // 3 warm-up runs
  }
  return out.sort((a, b) => a - b);
}
const stats = (xs: number[]) => ({ mean: xs.reduce((a, b) => a + b, 0) / xs.length, median: xs[Math.floor(xs.length / 2)]!, min: xs[0]! });

const baseline = stats(await time(["-e", "0"]));
const version = stats(await time([BUNDLE, "--version"]));
const renderAll = stats(await time([BUNDLE, "render", "--all", "--env", "prod", "--sha", "0123456"]));

// In-process: the render work itself, without process start-up.
const project = new Project(ROOT);
const env = project.environment("prod");
const t = performance.now();
const ITER = 50;
for (let i = 0; i < ITER; i++) for (const c of COMPONENT_NAMES) renderTaskDefinition(c, env, { tag: makeTag({ version: "1.0.0", sha: "0123456" }) }, project.templates(c).taskDefinition);
const inProcess = (performance.now() - t) / ITER;

const ms = (x: number) => `${x.toFixed(0)} ms`;
console.log(`\nNode ${process.version}, ${RUNS} runs each after 3 warm-ups\n`);
console.log("| measurement | mean | median | min | target |");
console.log("|---|---|---|---|---|");
console.log(`| node -e 0 (baseline) | ${ms(baseline.mean)} | ${ms(baseline.median)} | ${ms(baseline.min)} | |`);
console.log(`| node lgtm-deploy.mjs --version | ${ms(version.mean)} | ${ms(version.median)} | ${ms(version.min)} | ratio ${(version.mean / baseline.mean).toFixed(2)}× (<= 2.5×) |`);
console.log(`| node lgtm-deploy.mjs render --all --env prod (whole process) | ${ms(renderAll.mean)} | ${ms(renderAll.median)} | ${ms(renderAll.min)} | <= 300 ms |`);
console.log(`| render of all six, in-process (reads templates + validates) | ${inProcess.toFixed(1)} ms | | | |`);
