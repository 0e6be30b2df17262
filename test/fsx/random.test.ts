import { describe, expect, it } from 'vitest';
import { GlibcRandom } from '../../src/fsx/random.js';

const first = (seed: number, n: number): number[] => {
  const r = new GlibcRandom(seed);
  return Array.from({ length: n }, () => r.next());
};

describe('glibc random()', () => {
  it('gives the check values of FSX.md §1', () => {
    expect(first(1, 5)).toEqual([1804289383, 846930886, 1681692777, 1714636915, 1957747793]);
    expect(first(2, 3)).toEqual([1505335290, 1738766719, 190686788]);
    expect(first(42, 3)).toEqual([71876166, 708592740, 1483128881]);
    expect(first(2147483647, 3)).toEqual([1065668062, 2142264300, 1066566375]);
  });

  it('treats seed 0 as 1, as glibc does', () => {
    expect(first(0, 5)).toEqual(first(1, 5));
  });

  it('stays in 0..2^31-1 and reseeds to the same stream', () => {
    const r = new GlibcRandom(7);
    const a = Array.from({ length: 1000 }, () => r.next());
    expect(a.every((v) => v >= 0 && v <= 0x7fffffff)).toBe(true);
    r.seed(7);
    expect(Array.from({ length: 1000 }, () => r.next())).toEqual(a);
  });
});
