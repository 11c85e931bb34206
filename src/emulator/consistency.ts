/**
 * Eventual consistency: which state a read sees. Without consistency rules every read is live.
 */
import type { EcsState } from "./ecs/state.js";
import { LiveView, type ReadView, type ViewPicker } from "./ecs/read-view.js";
import type { ServiceName } from "./protocol.js";

export interface ConsistencyHost {
  readonly scenario: unknown;
}

export class Consistency {
  constructor(private readonly host: ConsistencyHost) {}

  picker(ecs: EcsState, _op: string, now: number): ViewPicker {
    let live: ReadView | undefined;
    return () => (live ??= new LiveView(ecs, now));
  }

  beforeCall(_ecs: EcsState, _service: ServiceName, _op: string, _input: Record<string, unknown>, _now: number): void {
    void this.host;
  }

  afterTick(_now: number): void {}
}
