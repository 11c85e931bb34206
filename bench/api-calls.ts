/**
 * The six-component release alone: read calls per poll for one `deploy` of all six against six sequential deploys,
 * the original plan's waiter and the breaker alone. `npx tsx bench/api-calls.ts [--reps N] [--scale N]`; same as
 * `npm run bench -- --scenario six`.
 */
import { main } from "./release.js";

await main(["--scenario", "six", ...process.argv.slice(2)]);
