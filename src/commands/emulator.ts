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
  timeScale?: number;
  timing?: "default" | "fargate";
}

function parseTimeScale(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0) || n > 10_000) throw new InvalidInputError(`--time-scale: expected a number above 0 and at most 10000, got '${text}'`);
  return n;
}

export function registerEmulator(program: Command, io: Io, setResult: (code: CommandResult) => void): void {
  program
    .command("emulator")
    .description("run a local ECS + ECR emulator on 127.0.0.1 (AWS JSON 1.1; point the SDK/CLI at it with --endpoint-url)")
    .option("--port <port>", "TCP port on 127.0.0.1 (0 = random)", "4566")
    .option("--scenario <file>", "scenario JSON: timings, per-image behaviours, per-operation API faults (see docs/emulator.md)")
    .addOption(new Option("--max-lifetime <duration>", "stop by itself after this long (e.g. 30m, 2h)").default(2 * 3_600_000, "2h").argParser(parseDuration("--max-lifetime")))
    .addOption(new Option("--time-scale <n>", "run the simulation n times faster than the wall clock (timestamps stay consistent)").argParser(parseTimeScale))
    .addOption(new Option("--timing <profile>", "timing profile: default (a demo in seconds) or fargate (realistic, sourced)").choices(["default", "fargate"]))
    .action(async (flags: EmulatorFlags, cmd: Command) => {
      const g = globals(cmd);
      const port = parsePort(flags.port);
      const maxLifetimeMs = flags.maxLifetime;
      // Loaded on demand: no other command needs the emulator.
      const [{ loadScenarioFile }, { startEmulatorServer }] = await Promise.all([import("../emulator/index.js"), import("../emulator/server.js")]);
      let scenario: Scenario | undefined = flags.scenario !== undefined ? loadScenarioFile(flags.scenario) : undefined;
      if (flags.timing !== undefined) scenario = { ...(scenario ?? {}), timing: { ...(scenario?.timing ?? {}), profile: flags.timing } };
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
          ...(flags.timeScale !== undefined ? { timeScale: flags.timeScale } : {}),
          ...(g.region !== undefined ? { region: g.region } : {}),
          log: (line) => io.err(line),
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EADDRINUSE") throw new PreconditionError(`emulator: port ${port} on 127.0.0.1 is already in use (try --port 0)`);
        throw error;
      }
      io.out(g.json ? JSON.stringify({ event: "listening", url: emu.url, timeScale: flags.timeScale ?? scenario?.timeScale ?? 1 }) : `lgtm-deploy emulator listening on ${emu.url}`);
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
