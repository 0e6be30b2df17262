/**
 * glibc random() (the TYPE_3 additive feedback generator) reproduced exactly,
 * so that the same seed gives the same operation stream as xfstests fsx.
 *
 * State: a ring of 34 words holding r[i-34..i-1]; output k is r[k+344] >>> 1.
 */
export class GlibcRandom {
  private readonly r = new Int32Array(34);
  private i = 0; // index in the ring of the next r[] to compute

  constructor(seed: number) {
    this.seed(seed);
  }

  seed(seed: number): void {
    const init = new Int32Array(344);
    init[0] = seed | 0 || 1; // glibc turns a seed of 0 into 1
    for (let i = 1; i < 31; i++) {
      // 16807 * r[i-1] mod (2^31 - 1), with Schrage's method in signed 32-bit
      const prev = init[i - 1];
      const hi = (prev / 127773) | 0;
      const lo = prev % 127773;
      let word = 16807 * lo - 2836 * hi;
      if (word < 0) word += 2147483647;
      init[i] = word;
    }
    for (let i = 31; i < 34; i++) init[i] = init[i - 31];
    for (let i = 34; i < 344; i++) init[i] = (init[i - 31] + init[i - 3]) | 0;
    // keep the last 34 words: r[310..343]
    for (let k = 0; k < 34; k++) this.r[k] = init[310 + k];
    this.i = 0; // ring slot of r[344] (== slot of r[310])
  }

  /** The generator's state, to go back to (restore). */
  save(): { r: Int32Array; i: number } {
    return { r: this.r.slice(), i: this.i };
  }

  restore(s: { r: Int32Array; i: number }): void {
    this.r.set(s.r);
    this.i = s.i;
  }

  /** Whether the generator is in state `s`. */
  isAt(s: { r: Int32Array; i: number }): boolean {
    if (s.i !== this.i) return false;
    for (let k = 0; k < this.r.length; k++) if (s.r[k] !== this.r[k]) return false;
    return true;
  }

  /** The next value of random(): 0 .. 2^31-1. */
  next(): number {
    const r = this.r;
    const i = this.i;
    // r[n] = r[n-31] + r[n-3]; ring of 34: n-34 is at slot i
    let a = i + 3; // n-31
    if (a >= 34) a -= 34;
    let b = i + 31; // n-3
    if (b >= 34) b -= 34;
    const v = (r[a] + r[b]) | 0;
    r[i] = v;
    this.i = i + 1 === 34 ? 0 : i + 1;
    return v >>> 1;
  }
}
