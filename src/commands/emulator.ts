import { Option, type Command } from "commander";
import { ExitCode, InvalidInputError, PreconditionError } from "../core/errors.js";
import type { Scenario } from "../emulator/index.js";
import { globals, type CommandResult, type Io } from "./context.js";
import { parseDuration } from "./options.js";

function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new InvalidInputError(`--port: expected 0..65535, got '${text}'`);
  return Number(text);
}

interface EmulatorFlags {
  port: string;
  scenario?: string;
  maxLifetime: number;
}

export function registerEmulator(program: Command, io: Io, setResult: (code: CommandResult) => void): void {
  program
    .command("emulator")
    .description("run a local ECS + ECR emulator on 127.0.0.1 (AWS JSON 1.1; point the SDK/CLI at it with --endpoint-url)")
    .option("--port <port>", "TCP port on 127.0.0.1 (0 = random)", "4566")
    .option("--scenario <file>", "scenario JSON: timings, per-image behaviours, per-operation API faults (see docs/emulator.md)")
    .addOption(new Option("--max-lifetime <duration>", "stop by itself after this long (e.g. 30m, 2h)").default(2 * 3_600_000, "2h").argParser(parseDuration("--max-lifetime")))
    .action(async (flags: EmulatorFlags, cmd: Command) => {
      const g = globals(cmd);
      const port = parsePort(flags.port);
      const maxLifetimeMs = flags.maxLifetime;
      // Loaded on demand: no other command needs the emulator.
      const [{ loadScenarioFile }, { startEmulatorServer }] = await Promise.all([import("../emulator/index.js"), import("../emulator/server.js")]);
      const scenario: Scenario | undefined = flags.scenario !== undefined ? loadScenarioFile(flags.scenario) : undefined;
      if (io.signal.aborted) {
        setResult(ExitCode.Success);
        return;
      }
      let emu: Awaited<ReturnType<typeof import("../emulator/server.js").startEmulatorServer>>;
      try {
        emu = await startEmulatorServer({
          port,
          maxLifetimeMs,
          ...(scenario !== undefined ? { scenario } : {}),
          ...(g.region !== undefined ? { region: g.region } : {}),
          log: (line) => io.err(line),
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EADDRINUSE") throw new PreconditionError(`emulator: port ${port} on 127.0.0.1 is already in use (try --port 0)`);
        throw error;
      }
      io.out(g.json ? JSON.stringify({ event: "listening", url: emu.url }) : `lgtm-deploy emulator listening on ${emu.url}`);
      const onAbort = (): void => void emu.close();
      io.signal.addEventListener("abort", onAbort, { once: true });
      try {
        await emu.closed;
      } finally {
        io.signal.removeEventListener("abort", onAbort);
      }
      const reason = io.signal.aborted ? "signal" : (emu.closeReason() ?? "close");
      if (g.json) io.out(JSON.stringify({ event: "stopped", reason }));
      else io.err(`lgtm-deploy emulator stopped (${reason})`);
      setResult(ExitCode.Success);
    });
}
