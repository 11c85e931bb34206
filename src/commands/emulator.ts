import type { Command } from "commander";
import { ExitCode, InvalidInputError, PreconditionError } from "../core/errors.js";
import { loadScenarioFile, type Scenario } from "../emulator/index.js";
import { startEmulatorServer } from "../emulator/server.js";
import { globals, type CommandResult, type Io } from "./context.js";

/** "90s", "2h", "1500ms", "30m", "45" (seconds) → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new InvalidInputError(`${flag}: expected a duration like 90s, 30m or 2h, got '${text}'`);
  const unit = m[2] ?? "s";
  const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000;
  const ms = Math.round(Number(m[1]) * factor);
  if (ms <= 0) throw new InvalidInputError(`${flag}: must be greater than zero`);
  return ms;
}

function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new InvalidInputError(`--port: expected 0..65535, got '${text}'`);
  return Number(text);
}

interface EmulatorFlags {
  port: string;
  scenario?: string;
  maxLifetime: string;
}

export function registerEmulator(program: Command, io: Io, setResult: (code: CommandResult) => void): void {
  program
    .command("emulator")
    .description("run a local ECS + ECR emulator on 127.0.0.1 (AWS JSON 1.1; point the SDK/CLI at it with --endpoint-url)")
    .option("--port <port>", "TCP port on 127.0.0.1 (0 = random)", "4566")
    .option("--scenario <file>", "scenario JSON: timings, per-image behaviours, per-operation API faults (see docs/emulator.md)")
    .option("--max-lifetime <duration>", "stop by itself after this long (e.g. 30m, 2h)", "2h")
    .action(async (flags: EmulatorFlags, cmd: Command) => {
      const g = globals(cmd);
      const port = parsePort(flags.port);
      const maxLifetimeMs = parseDuration(flags.maxLifetime, "--max-lifetime");
      const scenario: Scenario | undefined = flags.scenario !== undefined ? loadScenarioFile(flags.scenario) : undefined;
      if (io.signal.aborted) {
        setResult(ExitCode.Success);
        return;
      }
      let emu: Awaited<ReturnType<typeof startEmulatorServer>>;
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
