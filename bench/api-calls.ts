/**
 * API calls for a six-component release: one `deploy --all` (one DescribeServices per poll for all six) against six
 * sequential single-component deploys. Same emulator timings, same default poll interval (5 s).
 * Run: npx tsx bench/api-calls.ts
 */
import { bundle, seeded } from "./lib.js";
import { COMPONENT_NAMES } from "../src/core/catalogue.js";

const TIMING = { provisioningMs: 1000, pendingMs: 2000, healthCheckMs: 2000, drainMs: 500, stopMs: 500 };
const shas = { first: "1111111aaaaa", second: "2222222bbbbb" };

async function run(label: string, releases: (url: string) => Promise<void>) {
  const s = await seeded(COMPONENT_NAMES, shas, { timing: TIMING, seed: 5 });
  try {
    const first = await bundle(["--endpoint-url", s.emu.url, "deploy", "--all", "--env", "local", "--sha", shas.first, "--create-missing", "--poll-interval", "1s", "--record", "/tmp/lgtm-bench-{component}.json"]);
    if (first.exitCode !== 0) throw new Error(first.stdout + first.stderr);
    s.emu.clearCalls();
    const t0 = Date.now();
    await releases(s.emu.url);
    const calls = s.emu.calls();
    const by = (op: string) => calls.filter((c) => c.operation === op).length;
    return { label, total: calls.length, describe: by("DescribeServices"), listTasks: by("ListTasks"), mutating: calls.filter((c) => c.mutating).length, seconds: (Date.now() - t0) / 1000 };
  } finally {
    await s.close();
  }
}

const together = await run("deploy --all (one command)", async (url) => {
  const r = await bundle(["--endpoint-url", url, "deploy", "--all", "--env", "local", "--sha", shas.second, "--record", "/tmp/lgtm-bench-{component}.json"]);
  if (r.exitCode !== 0) throw new Error(r.stdout + r.stderr);
});
const sequential = await run("six sequential deploys", async (url) => {
  for (const c of COMPONENT_NAMES) {
    const r = await bundle(["--endpoint-url", url, "deploy", c, "--env", "local", "--sha", shas.second, "--record", `/tmp/lgtm-bench-${c}.json`]);
    if (r.exitCode !== 0) throw new Error(r.stdout + r.stderr);
  }
});

console.log(`\nSix-component release, default poll interval 5 s, emulator timings ${JSON.stringify(TIMING)}\n`);
console.log("| approach | API calls | DescribeServices | ListTasks | mutating | wall time |");
console.log("|---|---|---|---|---|---|");
for (const r of [together, sequential]) console.log(`| ${r.label} | ${r.total} | ${r.describe} | ${r.listTasks} | ${r.mutating} | ${r.seconds.toFixed(1)} s |`);
console.log(`\nratio (sequential / together): API calls ${(sequential.total / together.total).toFixed(2)}×, wall time ${(sequential.seconds / together.seconds).toFixed(2)}×`);
