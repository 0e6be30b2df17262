import { describe, expect, it } from 'vitest';
import { GlibcRandom } from '../../src/fsx/random.js';
import type { FsxFile } from '../../src/fsx/file.js';
import { MemFile } from '../../src/fsx/memfile.js';
import { runEngine } from '../helpers.js';

/** original_buf for a seed and length, as fsx builds it. */
function original(seed: number, n: number): Uint8Array {
  const r = new GlibcRandom(seed);
  const o = new Uint8Array(n);
  for (let i = 0; i < n; i++) o[i] = r.next() & 255;
  return o;
}

/** The bytes op number t writes at [off, off+len): t, plus original_buf at odd offsets. */
function data(orig: Uint8Array, t: number, off: number, len: number): number[] {
  return Array.from({ length: len }, (_, i) => ((off + i) & 1 ? t + orig[off + i] : t) & 255);
}

const L = 65536;
const base = { seed: 3, maxfilelen: L };
const contents = (f: FsxFile): Uint8Array => f.contents();

describe('each operation on the good buffer and the file', () => {
  const orig = original(3, L);

  it('write fills with generated data and zeroes a hole before it', () => {
    const r = runEngine(base, 'write 0x10 0x20 0x0\n');
    expect(r.exit).toBeUndefined();
    expect(r.engine.fileSize).toBe(0x30);
    expect([...r.engine.good.subarray(0, 0x10)]).toEqual(new Array(0x10).fill(0));
    expect([...r.engine.good.subarray(0x10, 0x30)]).toEqual(data(orig, 1, 0x10, 0x20));
    expect(contents(r.file)).toEqual(r.engine.good.subarray(0, 0x30));
  });

  it('truncate down and up: new bytes read as zero', () => {
    const r = runEngine(base, 'write 0x0 0x1000 0x0\ntruncate 0x0 0x800 0x1000\ntruncate 0x0 0x2000 0x800\n');
    expect(r.engine.fileSize).toBe(0x2000);
    expect([...r.engine.good.subarray(0, 0x800)]).toEqual(data(orig, 1, 0, 0x800));
    expect(r.engine.good.subarray(0x800, 0x2000).every((b) => b === 0)).toBe(true);
    expect(contents(r.file)).toEqual(r.engine.good.subarray(0, 0x2000));
  });

  it('punch hole zeroes inside the file and keeps the size', () => {
    const r = runEngine(base, 'write 0x0 0x3000 0x0\npunch_hole 0x800 0x1000 0x3000\n');
    expect(r.engine.fileSize).toBe(0x3000);
    expect(r.engine.good.subarray(0x800, 0x1800).every((b) => b === 0)).toBe(true);
    expect([...r.engine.good.subarray(0x1800, 0x1810)]).toEqual(data(orig, 1, 0x1800, 0x10));
    expect(contents(r.file)).toEqual(r.engine.good.subarray(0, 0x3000));
  });

  it('zero range extends unless keep_size', () => {
    const a = runEngine(base, 'write 0x0 0x1000 0x0\nzero_range 0x800 0x1000 0x1000\n');
    expect(a.engine.fileSize).toBe(0x1800);
    const b = runEngine(base, 'write 0x0 0x1000 0x0\nzero_range 0x800 0x1000 0x1000 keep_size\n');
    expect(b.engine.fileSize).toBe(0x1000);
    expect(b.engine.good.subarray(0x800, 0x1000).every((x) => x === 0)).toBe(true);
    expect(contents(b.file)).toEqual(b.engine.good.subarray(0, 0x1000));
  });

  it('fallocate extends with zeros, keep_size does not', () => {
    expect(runEngine(base, 'write 0x0 0x100 0x0\nfallocate 0x0 0x2000 0x100\n').engine.fileSize).toBe(0x2000);
    expect(runEngine(base, 'write 0x0 0x100 0x0\nfallocate 0x0 0x2000 0x100 keep_size\n').engine.fileSize).toBe(0x100);
  });

  it('collapse range removes blocks and shifts the tail down', () => {
    const r = runEngine(base, 'write 0x0 0x4000 0x0\ncollapse_range 0x1000 0x1000 0x4000\n');
    expect(r.engine.fileSize).toBe(0x3000);
    expect([...r.engine.good.subarray(0x1000, 0x1010)]).toEqual(data(orig, 1, 0x2000, 0x10));
    expect(contents(r.file)).toEqual(r.engine.good.subarray(0, 0x3000));
  });

  it('insert range shifts the tail up and zeroes the gap', () => {
    const r = runEngine(base, 'write 0x0 0x2000 0x0\ninsert_range 0x1000 0x1000 0x2000\n');
    expect(r.engine.fileSize).toBe(0x3000);
    expect(r.engine.good.subarray(0x1000, 0x2000).every((b) => b === 0)).toBe(true);
    expect([...r.engine.good.subarray(0x2000, 0x2010)]).toEqual(data(orig, 1, 0x1000, 0x10));
    expect(contents(r.file)).toEqual(r.engine.good.subarray(0, 0x3000));
  });

  it('copy and clone copy, dedupe changes nothing, exchange swaps', () => {
    const w = 'write 0x0 0x2000 0x0\nwrite 0x2000 0x2000 0x2000\n';
    const c = runEngine(base, w + 'copy_range 0x0 0x1000 0x5000 0x4000\n');
    expect(c.engine.fileSize).toBe(0x6000);
    expect([...c.engine.good.subarray(0x5000, 0x5010)]).toEqual(data(orig, 1, 0, 0x10));
    expect(c.engine.good.subarray(0x4000, 0x5000).every((b) => b === 0)).toBe(true);
    const x = runEngine(base, w + 'exchange_range 0x0 0x1000 0x2000 0x4000\n');
    expect([...x.engine.good.subarray(0, 0x10)]).toEqual(data(orig, 2, 0x2000, 0x10));
    expect([...x.engine.good.subarray(0x2000, 0x2010)]).toEqual(data(orig, 1, 0, 0x10));
    const d = runEngine(base, w + 'dedupe_range 0x0 0x1000 0x2000 0x4000\n');
    expect([...d.engine.good.subarray(0x2000, 0x2010)]).toEqual(data(orig, 2, 0x2000, 0x10));
    for (const r of [c, x, d]) expect(contents(r.file)).toEqual(r.engine.good.subarray(0, r.engine.fileSize));
  });

  it('-g writes the given character instead', () => {
    const r = runEngine({ ...base, filldata: 'X'.charCodeAt(0) }, 'write 0x0 0x10 0x0\n');
    expect([...r.engine.good.subarray(0, 0x10)]).toEqual(new Array(0x10).fill(0x58));
  });
});

describe('replay follows fsx', () => {
  it('does not count skipped lines as test calls, and ends one call after the last op', () => {
    const r = runEngine(base, 'skip read 0x0 0x0 0x0\nwrite 0x0 0x10 0x0\nskip clone_range 0x0 0x1000 0x2000 0x10\n');
    // fsx re-logs a skipped line with log4 (three arguments) and the current size
    expect(r.ops).toEqual(['skip read 0x0 0x0 0x0', 'write 0x0 0x10 0x0', 'skip clone_range 0x0 0x1000 0x10']);
    expect(r.out).toContain('All 2 operations completed A-OK!');
  });

  it('re-applies the trimming to recorded arguments', () => {
    const r = runEngine({ ...base, maxfilelen: 0x1000 }, 'write 0x1800 0x800 0x0\n');
    // offset 0x1800 % 0x1000 = 0x800
    expect(r.ops[0]).toBe('write 0x800 0x800 0x0');
  });

  it('stops at a bad line with exit 100 after running the lines before it', () => {
    const r = runEngine(base, 'write 0x0 0x10 0x0\nwrite 0x0 zz 0x0\n');
    expect(r.exit).toBe(100);
    expect(r.out).toBe('testcalls = 2\n');
  });
});

describe('the log dump', () => {
  it('prints fsx lines with the markers for the bad offset', () => {
    class Corrupt extends MemFile {
      override *pread(dst: Uint8Array, dstOff: number, len: number, off: number) {
        const n = yield* super.pread(dst, dstOff, len, off);
        if (off <= 0x105 && off + len > 0x105) dst[dstOff + 0x105 - off] ^= 0xff;
        return n;
      }
    }
    const r = runEngine(base, 'write 0x100 0x20 0x0\nwrite 0x0 0x10 0x120\nread 0x100 0x10 0x120\n', new Corrupt(L));
    expect(r.exit).toBe(110);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('READ BAD DATA: offset = 0x100, size = 0x10, fname = testfile');
    expect(lines[1]).toBe('OFFSET      GOOD    BAD     RANGE');
    expect(lines[2]).toMatch(/^0x105       0x[0-9a-f]{4}  0x[0-9a-f]{4}  0x0$/);
    expect(lines[3]).toMatch(/^operation# \(mod 256\) for the bad data (may be \d+|unknown, check HOLE and EXTEND ops)$/);
    expect(r.out).toContain('LOG DUMP (3 total operations):\n');
    expect(r.out).toContain('1(  1 mod 256): WRITE    0x100 thru 0x11f\t(0x20 bytes) HOLE\t***WWWW\n');
    expect(r.out).toContain('2(  2 mod 256): WRITE    0x0 thru 0xf\t(0x10 bytes)\n');
    expect(r.out).toContain('3(  3 mod 256): READ     0x100 thru 0x10f\t(0x10 bytes)\t***RRRR***\n');
    expect(r.ops).toEqual(['write 0x100 0x20 0x0 *', 'write 0x0 0x10 0x120', 'read 0x100 0x10 0x120 *']);
    expect(r.out).toContain('Correct content saved for comparison\n(maybe hexdump "testfile" vs "testfile.fsxgood")\n');
  });

  it('numbers the ring like fsx once it wraps (20000 ops print as 20001..30000)', () => {
    const r = runEngine({ seed: 1, numops: 20000, maxfilelen: 4096, maxoplen: 512 });
    expect(r.out).toContain('LOG DUMP (20000 total operations):\n20001(');
    expect(r.out).toMatch(/\n30000\(\s*48 mod 256\): /);
    expect(r.ops.length).toBe(10000);
  });

  it('marks close/open ops on their own line', () => {
    const r = runEngine({ ...base, closeprob: 2, numops: 20 });
    expect(r.out).toMatch(/\n\t\tCLOSE\/OPEN\n/);
    expect(r.ops.some((l) => l.endsWith(' close_open'))).toBe(true);
  });
});

describe('the generated stream', () => {
  it('is the same for the same seed and different for another', () => {
    const a = runEngine({ seed: 9, numops: 500 });
    const b = runEngine({ seed: 9, numops: 500 });
    const c = runEngine({ seed: 10, numops: 500 });
    expect(a.ops).toEqual(b.ops);
    expect(a.ops).not.toEqual(c.ops);
  });

  it('turns disabled ops into skips with the untrimmed arguments, and mapped ops into plain ones', () => {
    const r = runEngine({ seed: 1, numops: 300, collapseRangeCalls: false, mappedReads: false, mappedWrites: false });
    expect(r.ops.some((l) => /^skip collapse_range /.test(l))).toBe(true);
    expect(r.ops.some((l) => /^(skip )?map(read|write) /.test(l))).toBe(false);
  });

  it('-L uses only the first seven ops and never changes the size', () => {
    const r = runEngine({ seed: 2, numops: 300, lite: true }, undefined, new MemFile(L, new Uint8Array(L)), new Uint8Array(L));
    expect(r.exit).toBeUndefined();
    expect(r.ops.every((l) => /^(skip )?(read|write|write_atomic|mapread|mapwrite) /.test(l))).toBe(true);
  });
});
