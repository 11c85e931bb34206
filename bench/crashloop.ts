/**
 * Crash-looping release on Mimir (3 tasks, 66/100): how long from the first failed task until a rollback is issued,
 * and until the service is healthy again, for
 *   A. lgtm-deploy deploy (the bundle, default settings: poll 5 s, --max-failed-tasks 2),
 *   B. the original migration plan: `aws ecs update-service --force-new-deployment` + `aws ecs wait services-stable`
 *      (the real AWS CLI against the emulator; the rollback is ECS's circuit breaker),
 *   C. ECS's circuit breaker alone.
 * Emulator timings are scaled to a Fargate-like rhythm (see TIMING); run: npx tsx bench/crashloop.ts
 */
import { DescribeServicesCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { execa } from "execa";
import { existsSync } from "node:fs";
import { bundle, createServiceInput, env, observe, registerRendered, seconds, seeded, type Timeline } from "./lib.js";
import { CreateServiceCommand } from "@aws-sdk/client-ecs";

const TIMING = { provisioningMs: 1500, pendingMs: 3000, healthCheckMs: 3000, drainMs: 1000, stopMs: 1000 };
const CRASH = { behavior: "crash" as const, exitCode: 1, afterMs: 2000, reason: "panic: bad config" };
const AWS = "/usr/bin/aws";

async function scenario(label: string, act: (ctx: { s: Awaited<ReturnType<typeof seeded>>; goodTd: string; setBad: (td: string) => void; t0: () => number }) => Promise<string>) {
  const s = await seeded(["mimir"], { good: "1111111aaaaa", bad: "2222222bbbbb" }, { timing: TIMING, seed: 3 });
  try {
    s.emu.mergeScenario({ images: { [s.digests["mimir:bad"]!]: CRASH } });
    const goodTd = await registerRendered(s, "mimir", "good");
    await s.clients.ecs.send(new CreateServiceCommand({ ...createServiceInput("mimir", s, "good"), taskDefinition: goodTd }));
    // Wait for the first deployment to settle.
    for (;;) {
      const svc = (await s.clients.ecs.send(new DescribeServicesCommand({ cluster: env.cluster, services: ["lgtm-mimir"] }))).services![0]!;
      if (svc.deployments?.length === 1 && svc.deployments[0]!.rolloutState === "COMPLETED") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    let bad: string | undefined;
    const start = Date.now();
    const watcher = await observe(s, "lgtm-mimir", () => bad, goodTd, start);
    const outcome = await act({ s, goodTd, setBad: (td) => (bad = td), t0: () => start });
    // Let the observer see the end state.
    for (let i = 0; i < 600 && watcher.timeline.healthyAgainAt === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    watcher.stop();
    const calls = s.emu.calls().length;
    return { label, timeline: watcher.timeline, outcome, totalSeconds: (Date.now() - start) / 1000, calls };
  } finally {
    await s.close();
  }
}

const results: Array<{ label: string; timeline: Timeline; outcome: string; totalSeconds: number; calls: number }> = [];

results.push(
  await scenario("lgtm-deploy deploy (defaults)", async ({ s, setBad }) => {
    const pending = bundle(["--endpoint-url", s.emu.url, "deploy", "mimir", "--env", "local", "--tag", s.tags["mimir:bad"]!, "--record", "/tmp/lgtm-bench-record.json"]);
    // The bad revision is whatever lgtm-deploy registers: revision 2.
    setBad(`arn:aws:ecs:${env.region}:000000000000:task-definition/lgtm-mimir:2`);
    const r = await pending;
    return `exit ${r.exitCode} (${r.exitCode === 3 ? "failed, rolled back" : "unexpected"})`;
  }),
);

if (existsSync(AWS)) {
  results.push(
    await scenario("original plan: aws ecs update-service + wait services-stable", async ({ s, setBad }) => {
      const badTd = await registerRendered(s, "mimir", "bad");
      setBad(badTd);
      const cli = { AWS_ACCESS_KEY_ID: "bench", AWS_SECRET_ACCESS_KEY: "bench", AWS_DEFAULT_REGION: env.region, AWS_PAGER: "" };
      const common = ["--endpoint-url", s.emu.url, "--cluster", env.cluster, "--services"];
      await execa(AWS, ["ecs", "update-service", "--endpoint-url", s.emu.url, "--cluster", env.cluster, "--service", "lgtm-mimir", "--task-definition", badTd, "--force-new-deployment"], { env: cli });
      const wait = await execa(AWS, ["ecs", "wait", "services-stable", ...common, "lgtm-mimir"], { env: cli, reject: false });
      return `wait exit ${wait.exitCode} (${wait.exitCode === 0 ? "reported SUCCESS: false success after the breaker's rollback" : "failure"})`;
    }),
  );
} else {
  console.error(`${AWS} not found: skipping the AWS CLI baseline (apt-get install awscli)`);
}

results.push(
  await scenario("ECS circuit breaker alone", async ({ s, setBad }) => {
    const badTd = await registerRendered(s, "mimir", "bad");
    setBad(badTd);
    await s.clients.ecs.send(new UpdateServiceCommand({ cluster: env.cluster, service: "lgtm-mimir", taskDefinition: badTd, forceNewDeployment: true }));
    return "no tool: ECS's own breaker";
  }),
);

const ours = results[0]!;
const fromFailure = (r: (typeof results)[number], at: number | undefined) => (at === undefined || r.timeline.firstFailedTaskAt === undefined ? undefined : at - r.timeline.firstFailedTaskAt);
console.log(`\nCrash-looping Mimir release (3 tasks, 66/100; emulator timings ${JSON.stringify(TIMING)}, crash ${CRASH.afterMs} ms after start)\n`);
console.log("| approach | first failed task → rollback issued | first failed task → healthy again | ratio vs lgtm-deploy (healthy again) | tool's verdict | emulator API calls |");
console.log("|---|---|---|---|---|---|");
for (const r of results) {
  const issued = fromFailure(r, r.timeline.rollbackIssuedAt);
  const healthy = fromFailure(r, r.timeline.healthyAgainAt);
  const oursHealthy = fromFailure(ours, ours.timeline.healthyAgainAt);
  const ratio = healthy !== undefined && oursHealthy ? `${(healthy / oursHealthy).toFixed(2)}×` : "n/a";
  console.log(`| ${r.label} | ${seconds(issued)} | ${seconds(healthy)} | ${ratio} | ${r.outcome} | ${r.calls} |`);
}
