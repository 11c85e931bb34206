import { Command, Option } from "commander";
import { COMPONENT_NAMES, type ComponentName } from "../core/catalogue.js";
import { globals, type Io } from "./context.js";

export function registerRehearse(program: Command, io: Io, setResult: (code: number) => void): void {
  program
    .command("rehearse")
    .description("rehearse a full release locally on the emulator: release all six, upgrade, then a broken release and its automatic rollback")
    .option("--fast", "millisecond timings (CI)", false)
    .addOption(new Option("--broken <component>", "which component gets the crash-looping build").choices([...COMPONENT_NAMES]).default("loki"))
    .option("--records <dir>", "where the release records go (default: a temp directory)")
    .action(async (opts: { fast: boolean; broken: ComponentName; records?: string }, c: Command) => {
      const g = globals(c);
      // Loaded lazily: the emulator is not needed by any other command.
      const [{ rehearse }, { run }] = await Promise.all([import("../rehearsal/rehearse.js"), import("../cli.js")]);
      setResult(await rehearse({ root: g.root, fast: opts.fast, broken: opts.broken, recordsDir: opts.records, json: g.json }, io, run));
    });
}
