/**
 * Simulated time. The simulation runs `scale` times faster than the wall clock; every timestamp the emulator reports
 * (API responses, call log, state, log events) is simulated epoch milliseconds, starting at the wall-clock time the
 * emulator started, so timestamps are consistent with each other but drift ahead of the wall clock when scale > 1.
 */
export class SimClock {
  private wallAnchor: number;
  private simAnchor: number;
  private rate: number;

  constructor(
    scale = 1,
    private readonly wall: () => number = () => performance.timeOrigin + performance.now(),
  ) {
    if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`time scale must be a positive number, got ${scale}`);
    this.wallAnchor = this.wall();
    this.simAnchor = Math.round(this.wallAnchor);
    this.rate = scale;
  }

  /** Simulated epoch milliseconds. */
  now(): number {
    return Math.floor(this.simAnchor + (this.wall() - this.wallAnchor) * this.rate);
  }

  get scale(): number {
    return this.rate;
  }

  /** Changes the rate from now on; simulated time stays continuous. */
  setScale(scale: number): void {
    if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`time scale must be a positive number, got ${scale}`);
    if (scale === this.rate) return;
    const now = this.now();
    this.wallAnchor = this.wall();
    this.simAnchor = now;
    this.rate = scale;
  }

  /** Wall-clock milliseconds that `simMs` of simulated time take. */
  toWall(simMs: number): number {
    return simMs / this.rate;
  }

  wallNow(): number {
    return this.wall();
  }
}
