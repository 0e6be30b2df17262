import { describe, expect, it } from 'vitest';
import { StateHashing } from '../src/explore/hashing.js';
import type { Machine } from '../src/kernel/machine.js';
import { filled, solo } from './kernel/play.js';

/** The state key of a machine whose tasks are at rest (fsx only). */
function keyOf(m: Machine): string {
  return new StateHashing(m.k, null, [m.fsx], null).key();
}

/** A file of two pages written through the page cache (DAX off) or to media (DAX on). */
function written(initialDax: boolean): Machine {
  const { m, error } = solo({ fs: 'xfs', kernel: 'deferred', initialDax }, function* (m) {
    yield* m.file.pwrite(filled(8192, 0x5a), 0, 8192, 0, 0);
  });
  expect(error).toBeNull();
  return m;
}

/** The bytes the key reads for the file's first page: the page-cache page, or the media block under it. */
function firstPage(m: Machine): Uint8Array {
  const k = m.k;
  const page = k.inode.mapping.entries.get(0);
  if (page && 'data' in page) return page.data as Uint8Array;
  return k.media.block(k.inode.blocks[0]);
}

describe('the state key', () => {
  for (const dax of [false, true]) {
    it(`tells apart file data that differs only in the high bits of two words (DAX ${dax ? 'on' : 'off'})`, () => {
      const m = written(dax);
      const data = firstPage(m);
      // one hashing for the whole test (it keeps each page's digest while its bytes stay the same), and a fresh
      // one each time: the two must agree
      const kept = new StateHashing(m.k, null, [m.fsx], null);
      const key = (): string => {
        const k = kept.key();
        expect(keyOf(m)).toBe(k);
        return k;
      };
      const before = key();
      // the same bit (bit 31 of a little-endian word: the top bit of its fourth byte) flipped in two words:
      // a multiply-only hash of whole words carries it to bit 31 alone, twice, and the two cancel
      data[3] ^= 0x80;
      data[7] ^= 0x80;
      expect(key()).not.toBe(before);
      data[3] ^= 0x80;
      data[7] ^= 0x80;
      expect(key()).toBe(before);
      // one byte anywhere in the page
      data[4095] ^= 1;
      expect(key()).not.toBe(before);
    });
  }

  it('is 64 bits of model state, then each task’s position', () => {
    const m = written(false);
    const [model, ...positions] = keyOf(m).split('|');
    const lanes = model.split('.');
    expect(lanes).toHaveLength(2);
    for (const l of lanes) expect(parseInt(l, 36)).toBeLessThan(2 ** 32);
    expect(positions).toHaveLength(1);
  });
});
