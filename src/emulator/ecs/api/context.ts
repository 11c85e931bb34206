import type { ViewPicker } from "../read-view.js";

/** What every ECS operation handler gets besides the state and the request body. */
export interface ApiCtx {
  /** Simulated now (epoch ms). */
  now: number;
  /** The state a read sees for a service (live, or stale per the scenario's consistency rules). */
  view: ViewPicker;
}
