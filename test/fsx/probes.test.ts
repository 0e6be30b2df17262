import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Feature, FsxFile } from '../../src/fsx/file.js';
import { MemFile } from '../../src/fsx/memfile.js';
import { FALLOC, RWF_ATOMIC, RWF_DONTCACHE } from '../../src/fsx/ops.js';
import type { KernelVersion } from '../../src/kernel/designs.js';
import { DESIGNS, type DesignName } from '../../src/kernel/designs.js';
import { EINVAL, ENOTTY, EOPNOTSUPP, probeErrno, type Platform } from '../../src/kernel/features.js';
import { buildMachine } from '../../src/kernel/machine.js';
import { cli, runEngine, tmp } from '../helpers.js';

/**
 * fsx's start-up probes (FSX.md §2 item 5) and what the modelled kernels
 * answer (KERNEL-HISTORY.md §6, src/kernel/features.ts).
 */

const BASES: KernelVersion[] = ['4.13', '4.14', '5.8', '5.11'];
const p = (fs: 'xfs' | 'ext4', base: KernelVersion, over: Partial<Platform> = {}): Platform => ({ fs, base, reflink: false, dax: true, ...over });

describe('what each modelled kernel answers', () => {
  for (const base of BASES) {
    it(`${base}: XFS takes every fallocate mode fsx uses; ext4 all but UNSHARE_RANGE`, () => {
      const modes = [0, FALLOC.KEEP_SIZE, FALLOC.PUNCH_HOLE | FALLOC.KEEP_SIZE, FALLOC.ZERO_RANGE, FALLOC.COLLAPSE_RANGE, FALLOC.INSERT_RANGE];
      for (const m of [...modes, FALLOC.UNSHARE_RANGE]) expect(probeErrno(p('xfs', base), 'fallocate', m), `xfs mode ${m}`).toBe(0);
      for (const m of modes) expect(probeErrno(p('ext4', base), 'fallocate', m), `ext4 mode ${m}`).toBe(0);
      expect(probeErrno(p('ext4', base), 'fallocate', FALLOC.UNSHARE_RANGE)).toBe(EOPNOTSUPP);
    });

    it(`${base}: no clone, dedupe, exchange range, dontcache I/O or atomic writes; copy_file_range works`, () => {
      for (const fs of ['xfs', 'ext4'] as const) {
        for (const dax of [true, false]) {
          const q = p(fs, base, { dax });
          expect(probeErrno(q, 'clone')).toBe(EOPNOTSUPP);
          expect(probeErrno(q, 'dedupe')).toBe(fs === 'xfs' ? EOPNOTSUPP : EINVAL);
          expect(probeErrno(q, 'exchange')).toBe(ENOTTY);
          expect(probeErrno(q, 'dontcache')).toBe(EOPNOTSUPP);
          expect(probeErrno(q, 'atomic')).toBe(EOPNOTSUPP);
          expect(probeErrno(q, 'copy')).toBe(0);
        }
      }
    });

    it(`${base}: on a reflink XFS a DAX file is refused with EINVAL (which fsx does not count as unsupported), a non-DAX one is not`, () => {
      expect(probeErrno(p('xfs', base, { reflink: true, dax: true }), 'clone')).toBe(EINVAL);
      expect(probeErrno(p('xfs', base, { reflink: true, dax: true }), 'dedupe')).toBe(EINVAL);
      expect(probeErrno(p('xfs', base, { reflink: true, dax: false }), 'clone')).toBe(0);
    });
  }
});

/** Every message fsx's probes can print, in its order. */
const ALL_XFS = [
  'main: filesystem does not support clone range, disabling!',
  'main: filesystem does not support dedupe range, disabling!',
  'main: filesystem does not support exchange range, disabling!',
  'main: filesystem does not support dontcache IO, disabling!',
  'main: atomic writes need O_DIRECT (-Z), disabling!',
];

const model = (kernel: DesignName, fs: 'xfs' | 'ext4'): FsxFile => {
  const m = buildMachine({ fs, kernel, trace: false });
  m.k.clock.tick = () => false;
  return m.file;
};

describe("fsx's probes against the model", () => {
  for (const kernel of ['immediate', 'ignored', 'deferred'] as const) {
    for (const fs of ['xfs', 'ext4'] as const) {
      it(`${kernel} (${DESIGNS[kernel].base}) ${fs}: fsx's messages on standard error, in its order`, () => {
        const r = runEngine({ seed: 1, numops: 50, quiet: false }, undefined, model(kernel, fs));
        const want = fs === 'ext4' ? ['main: filesystem does not support fallocate mode FALLOC_FL_UNSHARE_RANGE, disabling!', ...ALL_XFS] : ALL_XFS;
        expect(r.err).toBe(want.map((l) => l + '\n').join(''));
      });
    }
  }

  it('-q silences them; the options that turn an op off skip its probe', () => {
    expect(runEngine({ seed: 1, numops: 50, quiet: true }, undefined, model('immediate', 'ext4')).err).toBe('');
    const r = runEngine(
      { seed: 1, numops: 50, quiet: false, unshareRangeCalls: false, cloneRangeCalls: false, dedupeRangeCalls: false, exchangeRangeCalls: false, dontcacheIo: false, atomicWrites: false },
      undefined,
      model('immediate', 'ext4'),
    );
    expect(r.err).toBe('');
  });

  it('with -Z, fsx skips the dontcache probe and asks statx for atomic writes, which no modelled kernel has', () => {
    // -Z turns dontcache I/O off as it parses (src/cli/fsxargs.ts), as fsx does
    const r = runEngine({ seed: 1, numops: 50, quiet: false, oDirect: true, dontcacheIo: false, readbdy: 512, writebdy: 512 }, undefined, model('deferred', 'xfs'));
    expect(r.err).toBe(
      [
        'main: filesystem does not support clone range, disabling!',
        'main: filesystem does not support dedupe range, disabling!',
        'main: filesystem does not support exchange range, disabling!',
        'main: IO Stack does not support atomic writes, disabling!',
      ]
        .map((l) => l + '\n')
        .join(''),
    );
  });

  it('-L probes no fallocate mode and prints nothing for them', () => {
    const L = 64 * 1024;
    const m = buildMachine({ fs: 'ext4', trace: false, maxFileLen: L });
    m.k.clock.tick = () => false;
    m.k.loadInitial(new Uint8Array(L));
    const r = runEngine({ seed: 1, numops: 20, quiet: false, lite: true, maxfilelen: L }, undefined, m.file, new Uint8Array(L));
    expect(r.err).not.toMatch(/fallocate mode/);
    expect(r.err).toMatch(/clone range/);
  });

  it('a disabled op is logged SKIPPED with its draws made: the stream equals the one with those ops turned off by options', () => {
    for (const fs of ['xfs', 'ext4'] as const) {
      for (const seed of [1, 2, 3]) {
        const withModel = runEngine({ seed, numops: 800 }, undefined, model('immediate', fs));
        const off = {
          cloneRangeCalls: false,
          dedupeRangeCalls: false,
          exchangeRangeCalls: false,
          dontcacheIo: false,
          atomicWrites: false,
          unshareRangeCalls: fs === 'xfs',
        };
        const plain = runEngine({ seed, numops: 800, ...off }, undefined, new MemFile(256 * 1024));
        expect(withModel.exit).toBeUndefined();
        expect(withModel.ops).toEqual(plain.ops);
        // and they differ from a kernel that offered everything: the refused ops ran there
        const all = runEngine({ seed, numops: 800, oDirect: false }, undefined, new MemFile(256 * 1024));
        expect(all.ops.filter((l) => /^(clone|dedupe|exchange)_range /.test(l)).length).toBeGreaterThan(0);
        expect(withModel.ops.filter((l) => /^(clone|dedupe|exchange)_range |^write_atomic /.test(l))).toEqual([]);
      }
    }
  });
});

/** An FsxFile that counts the calls fsx makes to it. */
function spy(f: FsxFile): { file: FsxFile; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const count = (k: string): void => void calls.set(k, (calls.get(k) ?? 0) + 1);
  const file = new Proxy(f, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function') return v;
      return function (this: unknown, ...args: unknown[]) {
        const name = String(prop);
        if ((name === 'pread' || name === 'pwrite') && typeof args[4] === 'number') {
          if (args[4] & RWF_DONTCACHE) count(`${name}:dontcache`);
          if (args[4] & RWF_ATOMIC) count(`${name}:atomic`);
        }
        if (name === 'probe') count(`probe:${String(args[0] as Feature)}`);
        else count(name);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { file, calls };
}

describe('a default run (immediate: 4.13 paths, XFS)', () => {
  it('runs no clone, dedupe, exchange, dontcache or atomic operation', () => {
    const { file, calls } = spy(model('immediate', 'xfs'));
    const r = runEngine({ seed: 1, numops: 3000 }, undefined, file);
    expect(r.exit).toBeUndefined();
    for (const k of ['cloneRange', 'dedupeRange', 'exchangeRange', 'pread:dontcache', 'pwrite:dontcache', 'pwrite:atomic']) expect(calls.get(k) ?? 0, k).toBe(0);
    // fsx asked, and kept what the kernel has
    for (const f of ['clone', 'dedupe', 'copy', 'exchange', 'dontcache']) expect(calls.get(`probe:${f}`), f).toBe(1);
    expect(calls.get('copyFileRange') ?? 0).toBeGreaterThan(0);
    expect(calls.get('fallocate') ?? 0).toBeGreaterThan(0);
    // the ops it drew for them are in the log as SKIPPED
    const skipped = r.ops.filter((l) => /^skip (clone_range|dedupe_range|exchange_range|write_atomic) /.test(l));
    expect(skipped.length).toBeGreaterThan(0);
  });

  it('through the CLI: the messages on standard error (not with -q), the refused ops SKIPPED in the .fsxops', async () => {
    const d = tmp();
    const r = await cli(['-S', '3', '-N', '400', '--no-flip', join(d, 'f')]);
    expect(r.code).toBe(0);
    for (const l of ALL_XFS) expect(r.stderr).toContain(l + '\n');
    expect(r.stdout).not.toContain('disabling');
    const q = await cli(['-q', '-S', '3', '-N', '400', '--no-flip', `--record-ops=${join(d, 'q.ops')}`, join(d, 'q')]);
    expect(q.stderr).not.toContain('disabling');
    const ops = readFileSync(join(d, 'q.ops'), 'utf8').split('\n');
    expect(ops.filter((l) => /^(clone_range|dedupe_range|exchange_range|write_atomic) /.test(l))).toEqual([]);
    expect(ops.filter((l) => /^skip (clone_range|dedupe_range|exchange_range|write_atomic) /.test(l)).length).toBeGreaterThan(0);
  });
});

describe('the operations answer as the probes did', () => {
  it('clone, dedupe and exchange return the probe errno; RWF_DONTCACHE and RWF_ATOMIC are refused before any I/O', () => {
    const m = buildMachine({ trace: false });
    m.k.clock.tick = () => false;
    const run = <T>(g: Generator<unknown, T, unknown>): T => {
      for (;;) {
        const s = g.next();
        if (s.done) return s.value;
      }
    };
    run(m.file.open({ direct: false }));
    expect(run(m.file.pwrite(new Uint8Array(8192).fill(1), 0, 8192, 0, 0))).toBe(8192);
    expect(run(m.file.cloneRange(0, 4096, 4096))).toBe(-EOPNOTSUPP);
    expect(run(m.file.dedupeRange(0, 4096, 4096))).toBe(-EOPNOTSUPP);
    expect(run(m.file.exchangeRange(0, 4096, 4096))).toBe(-ENOTTY);
    expect(run(m.file.pwrite(new Uint8Array(4096).fill(2), 0, 4096, 0, RWF_DONTCACHE))).toBe(-EOPNOTSUPP);
    expect(run(m.file.pwrite(new Uint8Array(4096).fill(2), 0, 4096, 0, RWF_ATOMIC))).toBe(-EOPNOTSUPP);
    expect(run(m.file.pread(new Uint8Array(4096), 0, 4096, 0, RWF_DONTCACHE))).toBe(-EOPNOTSUPP);
    expect(m.file.contents()).toEqual(new Uint8Array(8192).fill(1));
    const e4 = buildMachine({ fs: 'ext4', trace: false });
    e4.k.clock.tick = () => false;
    run(e4.file.open({ direct: false }));
    expect(run(e4.file.fallocate(FALLOC.UNSHARE_RANGE, 0, 4096))).toBe(-EOPNOTSUPP);
    expect(run(e4.file.fallocate(FALLOC.KEEP_SIZE, 0, 4096))).toBe(0);
  });
});
