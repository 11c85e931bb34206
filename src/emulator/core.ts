/**
 * The emulator's state and machinery, shared by the API and control handlers: the simulated clock, every
 * account/region partition, the scenario (faults, consistency, timed actions) and the call log.
 */
import { runAction, type Action, type ActionResult } from "./actions.js";
import { SimClock } from "./clock.js";
import { Consistency } from "./consistency.js";
import { ActionError } from "./errors.js";
import { FaultInjector } from "./faults.js";
import { behaviorFor } from "./images.js";
import { Rng } from "./rng.js";
import { parseScenario, type Scenario } from "./scenario.js";
import { resolveTiming, type ResolvedTiming } from "./timing.js";
import type { CallRecord, EmulatorOptions } from "./types.js";
import { World } from "./world.js";

export class Core {
  readonly clock: SimClock;
  readonly world: World;
  readonly faults: FaultInjector;
  readonly consistency: Consistency;
  readonly account: string;
  readonly defaultRegion: string;
  readonly callLog: CallRecord[] = [];
  /** Sequence number of the last call (never reset, even when the log is cleared). */
  seq = 0;
  scenario: Scenario;
  timing: ResolvedTiming;
  url = "";
  /** Timed scenario actions not run yet (simulated time `at`), and what every action did. */
  pendingActions: { at: number; action: Action }[] = [];
  readonly actionLog: { at: number; action: Action; result?: ActionResult; error?: string }[] = [];
  readonly log: (line: string) => void;
  private faultRng: Rng;
  /** The time scale was fixed by the caller (option or CLI flag): the scenario's timeScale does not change it. */
  private readonly fixedScale: boolean;

  constructor(opts: EmulatorOptions) {
    this.log = opts.log ?? ((): void => undefined);
    this.scenario = parseScenario(opts.scenario ?? {}, "scenario");
    this.faultRng = new Rng(this.scenario.seed ?? 1);
    const idRng = new Rng(((this.scenario.seed ?? 1) ^ 0x5bd1e995) >>> 0);
    this.fixedScale = opts.timeScale !== undefined;
    this.clock = new SimClock(opts.timeScale ?? this.scenario.timeScale ?? 1);
    this.timing = resolveTiming(this.scenario.timing, this.clock.scale);
    this.account = opts.account ?? "000000000000";
    this.defaultRegion = opts.region ?? "us-east-1";
    this.world = new World({
      now: () => this.clock.now(),
      timing: () => this.timing,
      behaviorFor: (image, digest) => behaviorFor(this.scenario.images ?? {}, image, digest),
      rng: () => idRng,
      log: this.log,
      autoCreateLogGroups: () => true,
    });
    this.faults = new FaultInjector(() => this.scenario, () => this.faultRng);
    const self = this;
    this.consistency = new Consistency({
      get scenario() {
        return self.scenario;
      },
      rng: () => this.faultRng,
    });
    this.scheduleActions();
  }

  private scheduleActions(): void {
    const now = this.clock.now();
    this.pendingActions = (this.scenario.actions ?? []).map((e) => ({ at: now + e.afterMs, action: e.action }));
  }

  /** Replaces the scenario; `patch` (for PATCH/mergeScenario) limits what restarts: bursts, seed, fault counters, actions. */
  applyScenario(next: Scenario, patch?: Partial<Scenario>): void {
    this.scenario = next;
    if (next.timeScale !== undefined && !this.fixedScale) this.clock.setScale(next.timeScale);
    this.timing = resolveTiming(next.timing, this.clock.scale);
    if (!patch || patch.seed !== undefined) this.faultRng = new Rng(next.seed ?? 1);
    this.faults.resetBursts(patch ? Object.keys(patch.api ?? {}) : undefined);
    if (!patch || patch.faults !== undefined) this.faults.resetRules();
    if (!patch || patch.actions !== undefined) this.scheduleActions();
  }

  /** Runs an action now; throws ActionError (status 400/404/409) when it cannot. */
  act(action: Action, at = this.clock.now()): ActionResult {
    try {
      const result = runAction(this.world, { account: this.account, region: this.defaultRegion }, action, at);
      this.actionLog.push({ at, action, result });
      return result;
    } catch (error) {
      this.actionLog.push({ at, action, error: (error as Error).message });
      throw error;
    }
  }

  /** Advances the simulation to now: every partition, due timed actions, consistency snapshots. */
  tick(): number {
    const now = this.clock.now();
    this.world.tick(now);
    while (this.pendingActions[0] && this.pendingActions[0].at <= now) {
      const due = this.pendingActions.shift()!;
      try {
        this.act(due.action, due.at);
      } catch (error) {
        if (!(error instanceof ActionError)) throw error;
        this.log(`emulator: timed action ${due.action.type} failed: ${error.message}`);
      }
    }
    this.consistency.afterTick(this.world.all().map((p) => p.ecs), now);
    return now;
  }
}
