/**
 * The crash-loop scenario alone (issue #14's first rows): `npx tsx bench/crashloop.ts [--reps N] [--scale N]`.
 * The new image exits 1 two seconds after it starts, with a Mimir-like panic in its log (the emulator's `exitLog`:
 * ECS itself reports only the exit code, as for a plain exit). Same as `npm run bench -- --scenario crashloop`.
 */
import { main } from "./release.js";

await main(["--scenario", "crashloop", ...process.argv.slice(2)]);
