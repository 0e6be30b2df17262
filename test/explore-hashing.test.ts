import { describe, expect, it } from 'vitest';
import { defaultConfig, type RunConfig } from '../src/core/config.js';
import { explore } from '../src/explore/explore.js';
import { StateHashing } from '../src/explore/hashing.js';
import { programFromSeed } from '../src/explore/program.js';
import { OBJ, SLOTS, slotOf } from '../src/kernel/access.js';
import { DESIGNS } from '../src/kernel/designs.js';
import type { Machine } from '../src/kernel/machine.js';
import { Page } from '../src/kernel/core.js';
import type { Mapping } from '../src/fsx/file.js';
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

  it('says whether the file was free to be evicted since fsx closed it (what the check at its next open reads), not how many times it was before', () => {
    // fsx's closeopen: the file open, then closed (the last reference dropped: a free moment), then open again
    const keys: Record<string, string> = {};
    const { error } = solo({ fs: 'xfs', kernel: 'deferred', initialDax: false }, function* (m) {
      const k = m.k;
      let closedState = 0;
      const file = { closedState: () => closedState };
      const key = (f: Pick<typeof m.file, 'closedState'> = m.file): string => new StateHashing(k, null, [m.fsx], null, f).key();
      yield* m.file.pwrite(filled(4096, 1), 0, 4096, 0, 0);
      keys.open = key();
      yield* m.file.close();
      expect(k.freeSeq).toBeGreaterThan(0);
      keys.closed = key();
      // closed, and free to be evicted since or not: the next open checks the flag or does not
      keys.quiet = key(file);
      closedState = 1;
      keys.freed = key(file);
      yield* m.file.open({ direct: false });
      keys.reopened = key();
      // how many free moments came before is read by no check: the same key with more of them
      k.freeSeq += 5;
      k.lastFree = { ...k.lastFree!, seq: k.freeSeq };
      keys.more = key();
    });
    expect(error).toBeNull();
    expect(keys.closed).not.toBe(keys.open);
    expect(keys.freed).not.toBe(keys.quiet);
    expect(keys.reopened).not.toBe(keys.closed);
    expect(keys.more).toBe(keys.reopened);
  });

  it('has the state and bytes of a page a PTE still maps after the cache dropped it (a design that does not zap it)', () => {
    const keys: string[] = [];
    const { error } = solo({ fs: 'xfs', kernel: 'deferred', initialDax: false }, function* (m) {
      const k = m.k;
      const kept = new StateHashing(k, null, [m.fsx], null);
      let written = 0;
      kept.written = () => written;
      // the model's part of the key (each instance folds what it was told into its own positions)
      const model = (h: StateHashing): string => h.key().split('|')[0];
      const key = (): string => {
        const afresh = model(new StateHashing(k, null, [m.fsx], null));
        expect(model(kept)).toBe(afresh);
        written = 0;
        return afresh;
      };
      yield* m.file.pwrite(filled(4096, 1), 0, 4096, 0, 0);
      const map = (yield* m.file.mmap(0, 4096, false)) as Mapping;
      yield* m.file.mapRead(map, 0, new Uint8Array(16), 0, 16);
      const page = k.inode.mapping.entries.get(0) as Page;
      expect([...[...k.inode.mapping.i_mmap][0].ptes.values()].map((p) => p.page)).toEqual([page]);
      // the page leaves the cache, as a truncation that forgot to unmap would leave it; another takes its place
      k.inode.mapping.entries.set(0, new Page(k.inode.mapping, 0, page.data.slice()));
      page.mapping = null;
      keys.push(key());
      page.data[100] ^= 1;
      written = slotOf(0);
      keys.push(key());
      page.dirty = !page.dirty;
      written = slotOf(0);
      keys.push(key());
      yield* m.file.munmap(map);
    });
    expect(error).toBeNull();
    expect(new Set(keys).size).toBe(3);
  });

  it('forgets, where a copy moves on to its next page, the values read for the pages before, but not the bytes copied out', () => {
    const same: [string, string][] = [];
    const differ: [string, string][] = [];
    const { error } = solo({ fs: 'xfs', kernel: 'deferred', initialDax: false }, function* (m) {
      const k = m.k;
      const t = m.fsx;
      yield* m.file.pwrite(filled(8192, 0x5a), 0, 8192, 0, 0);
      const page = k.inode.mapping.entries.get(0) as Page;
      const other = page.data.slice();
      other[5] ^= 1;
      // fsx's position (it is running) after a history of reads: each hashing starts afresh and takes over the kernel's hooks
      const position = (history: () => void): string => {
        const h = new StateHashing(k, null, [t], null);
        history();
        return h.key().split('|')[1];
      };
      const W = [1, 0, 8192, 4096];
      const rejoined = position(() => {
        k.observer!(t, 1);
        k.carry!(t, page.data, 0, 16);
        k.rejoin!(t, W);
      });
      // other values read before the rejoin point (a page not cached, another i_size): the same position
      same.push([
        rejoined,
        position(() => {
          k.observer!(t, 0);
          k.observer!(t, 8192);
          k.carry!(t, page.data, 0, 16);
          k.rejoin!(t, W);
        }),
      ]);
      // other bytes copied out, or copied from elsewhere: not the same
      differ.push([rejoined, position(() => (k.carry!(t, other, 0, 16), k.rejoin!(t, W)))]);
      differ.push([rejoined, position(() => (k.carry!(t, page.data, 16, 16), k.rejoin!(t, W)))]);
      differ.push([rejoined, position(() => (k.carry!(t, null, 0, 16), k.rejoin!(t, W)))]);
      differ.push([rejoined, position(() => (k.carry!(t, 0, 0, 16), k.rejoin!(t, W)))]);
      // further on in the copy: not the same
      differ.push([rejoined, position(() => (k.carry!(t, page.data, 0, 16), k.rejoin!(t, [1, 0, 8192, 8192])))]);
      // without a rejoin point the values read stay, and so do the bytes copied out
      differ.push([position(() => k.observer!(t, 1)), position(() => k.observer!(t, 0))]);
      differ.push([position(() => k.carry!(t, page.data, 0, 16)), position(() => k.carry!(t, other, 0, 16))]);
    });
    expect(error).toBeNull();
    expect(same.length).toBe(1);
    for (const [a, b] of same) expect(b).toBe(a);
    expect(differ.length).toBe(7);
    for (const [a, b] of differ) expect(b).not.toBe(a);
    expect(same[0][0]).not.toBe('d');
  });

  it('is told by the copy loops where each page begins, and what a read copies out', () => {
    const rejoins: number[][] = [];
    const carried: (string | number | null)[] = [];
    const { error } = solo({ fs: 'xfs', kernel: 'deferred', initialDax: false }, function* (m) {
      const k = m.k;
      k.rejoin = (_t, words) => void rejoins.push([...words]);
      k.carry = (_t, from, off, n) => void carried.push(from instanceof Uint8Array ? `page@${off}+${n}` : from);
      yield* m.file.pwrite(filled(3 * 4096, 1), 0, 3 * 4096, 0, 0);
      yield* m.file.pread(new Uint8Array(3 * 4096), 0, 3 * 4096, 0, 0);
      const map = (yield* m.file.mmap(0, 3 * 4096, false)) as Mapping;
      yield* m.file.mapRead(map, 100, new Uint8Array(8192), 0, 8192);
      yield* m.file.munmap(map);
    });
    expect(error).toBeNull();
    // the buffered write, the buffered read and the load from the mapping: once per page each, as far as the copy got
    const at = (tag: number): number[] => rejoins.filter((w) => w[0] === tag).map((w) => w[3]);
    expect(at(0x771e)).toEqual([0, 4096, 8192]);
    expect(at(0x7ead)).toEqual([0, 4096, 8192]);
    expect(rejoins.filter((w) => w[0] === 0x10ad).map((w) => w[w.length - 1])).toEqual([100, 4096, 8192]);
    expect(carried).toEqual(['page@0+4096', 'page@0+4096', 'page@0+4096', 'page@100+3996', 'page@0+4096', 'page@0+100']);
  });

  it('is 64 bits of model state, then each task’s position', () => {
    const m = written(false);
    const [model, ...positions] = keyOf(m).split('|');
    const lanes = model.split('.');
    expect(lanes).toHaveLength(2);
    for (const l of lanes) expect(parseInt(l, 36)).toBeLessThan(2 ** 32);
    expect(positions).toHaveLength(1);
  });
});

describe('the state key, kept in parts', () => {
  it('is the key hashed afresh at every choice point of a reduced exploration (a part is kept only while the records show none of its objects written)', async () => {
    const base = defaultConfig();
    const config: RunConfig = { fsx: { ...base.fsx, seed: 5 }, model: { ...base.model, kernel: DESIGNS.immediate, flip: true } };
    const program = programFromSeed(config, 4);
    const key = StateHashing.prototype.key;
    let compared = 0;
    let kept = 0;
    const differ: string[] = [];
    StateHashing.prototype.key = function (this: StateHashing): string {
      const written = this.written;
      if (!written) return key.call(this);
      // what the records say was written since the last key, then the key from kept parts and from none
      let w = 0;
      this.written = () => (w = written());
      const inParts = key.call(this);
      this.written = () => -1;
      const afresh = key.call(this);
      this.written = written;
      compared++;
      // parts kept: the block map, the page cache, the mappings
      if (!(w & OBJ.BMAP) || !(w & (OBJ.CACHE | OBJ.PAGELOCK | SLOTS)) || !(w & (OBJ.MM | OBJ.FILE | SLOTS))) kept++;
      if (inParts !== afresh && differ.length < 3) differ.push(`${inParts} != ${afresh}`);
      return inParts;
    };
    try {
      const res = await explore(config, program, { maxFlips: 2, preemptions: 2, maxSteps: 100_000, budgetMs: 60_000, maxInterleavings: 500 });
      expect(res.reduction.on).toBe(true);
    } finally {
      StateHashing.prototype.key = key;
    }
    expect(differ).toEqual([]);
    expect(compared).toBeGreaterThan(4000);
    // most keys reuse a part
    expect(kept).toBeGreaterThan(compared / 2);
  });
});
