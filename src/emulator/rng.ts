/** Small seedable PRNG (mulberry32) so fault injection is deterministic in tests. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** `count` hex digits. */
  hex(count: number): string {
    let s = "";
    while (s.length < count) s += Math.floor(this.next() * 0x10000).toString(16).padStart(4, "0");
    return s.slice(0, count);
  }
  digits(count: number): string {
    let s = String(1 + Math.floor(this.next() * 9));
    while (s.length < count) s += String(Math.floor(this.next() * 10));
    return s;
  }
}
