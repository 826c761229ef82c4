// A small seeded PRNG (mulberry32) for the Raft simulator: every schedule is a pure function of its seed.
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from empty list');
    return xs[Math.floor(this.next() * xs.length)]!;
  }

  /** A fresh generator whose stream is independent of this one's future. */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }

  /** A random lowercase UUID (version 4 layout). */
  uuid(): string {
    const h = (n: number) => {
      let s = '';
      for (let i = 0; i < n; i++) s += Math.floor(this.next() * 16).toString(16);
      return s;
    };
    return `${h(8)}-${h(4)}-4${h(3)}-${'89ab'[this.int(0, 3)]}${h(3)}-${h(12)}`;
  }
}
