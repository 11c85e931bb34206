/**
 * Local ECS + ECR emulator (loopback only) speaking AWS JSON 1.1, so the real SDK v3 clients and the AWS CLI
 * (with --endpoint-url) talk to it unchanged. See docs/emulator.md.
 */
import { startEmulatorServer } from "./server.js";
import type { CallRecord, Emulator, EmulatorOptions } from "./types.js";

export type { CallRecord, Emulator, EmulatorOptions, ResponseRecord } from "./types.js";
export type { ApiFault, ImageBehavior, Scenario, Timing } from "./scenario.js";
export { DEFAULT_TIMING, loadScenarioFile } from "./scenario.js";

/** Starts the emulator on 127.0.0.1 (port 0 = random). Resolves once it is listening. */
export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const e = await startEmulatorServer(opts);
  const api: Emulator = {
    url: e.url,
    port: e.port,
    close: e.close,
    setScenario: e.setScenario,
    mergeScenario: e.mergeScenario,
    calls: (): CallRecord[] => e.calls(),
    clearCalls: e.clearCalls,
  };
  return api;
}
