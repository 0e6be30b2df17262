import { describe, expect, it } from 'vitest';
import { Page } from '../../src/kernel/core.js';
import { DaxStateMismatch } from '../../src/kernel/sdaxcheck.js';
import { vfs_statx } from '../../src/kernel/fs/stat.js';
import { filled, framesSeen, runFsxModel, solo, type Body } from './play.js';

/**
 * Issue 12, items 4 and 8, and the dentries and inode eviction 5.8 needs:
 * when a flag change reaches S_DAX by release, and what the last close,
 * drop_caches and iput_final do.
 */

/** fsx's close/open: close, drop caches as the kernel's closeOpenDrop says, open. */
function* closeopen(m: Parameters<Body>[0]): Generator<unknown, void, unknown> {
  yield* m.file.close();
  yield* m.file.dropCaches();
  yield* m.file.open({ direct: false });
}

describe('item 4: ignored is 4.14', () => {
  it('the flag change leaves S_DAX alone, but the next inode load takes S_DAX from the flag (today: reloads differently)', () => {
    const sdax: boolean[] = [];
    const { m, error } = solo({ kernel: 'ignored', initialDax: false }, function* (mm) {
      yield* mm.k.fs.chattr(mm.k, mm.fsx, true);
      sdax.push(mm.k.inode.sDax);
      yield* closeopen(mm); // drop_caches 3 evicts the unused, clean inode
      sdax.push(mm.k.inode.sDax);
    });
    expect(error).toBeNull();
    expect(sdax).toEqual([false, true]);
    expect(m.k.inode.loads).toBe(2);
  });

  it('-o dax on 4.14: every load is DAX whatever the flag', () => {
    const sdax: boolean[] = [];
    solo({ kernel: 'ignored', initialDax: false, mount: 'dax' }, function* (mm) {
      sdax.push(mm.k.inode.sDax);
      yield* mm.k.fs.chattr(mm.k, mm.fsx, false);
      yield* closeopen(mm);
      sdax.push(mm.k.inode.sDax);
    });
    expect(sdax).toEqual([true, true]);
  });

  it('every request that differs from IS_DAX locks, writes back and invalidates, again and again (today: no flush)', () => {
    const cached: boolean[] = [];
    const { m, error } = solo({ kernel: 'ignored', initialDax: false }, function* (mm) {
      const k = mm.k;
      for (let i = 0; i < 2; i++) {
        yield* mm.file.pwrite(filled(4096, 1 + i), 0, 4096, 0, 0);
        yield* k.fs.chattr(k, mm.fsx, true); // the flag is set after the first, IS_DAX stays false
        cached.push(k.inode.mapping.entries.get(0) instanceof Page);
      }
    });
    expect(error).toBeNull();
    expect(cached).toEqual([false, false]);
    expect(m.k.inode.sDax).toBe(false);
    expect(m.k.media.block(m.k.inode.blocks[0])[0]).toBe(2); // written back before the page went
    const invalidations = m.k.trace.since(0).filter((e) => e.text === 'takes MMAPLOCK (write)' && e.stack.includes('xfs_ioctl_setattr_dax_invalidate'));
    expect(invalidations).toHaveLength(2);
  });

  it('deferred (5.8+): the flag change takes no lock and flushes nothing', () => {
    const { m, error } = solo({ kernel: 'deferred', initialDax: false }, function* (mm) {
      yield* mm.file.pwrite(filled(4096, 1), 0, 4096, 0, 0);
      yield* mm.k.fs.chattr(mm.k, mm.fsx, true);
    });
    expect(error).toBeNull();
    expect((m.k.inode.mapping.entries.get(0) as Page).dirty).toBe(true);
    expect(framesSeen(m.k)).not.toContain('xfs_ioctl_setattr_dax_invalidate');
  });
});

describe('item 8: deferred reloads the inode only when it is evicted', () => {
  it('a default run (fsx keeps the file open) never reloads the inode: S_DAX never changes, whatever the flips', () => {
    const r = runFsxModel({ kernel: 'deferred', seed: 3, numops: 3000 });
    expect(r.error).toBeNull();
    expect(r.m.k.flips).toBeGreaterThan(10);
    expect(r.m.k.inode.loads).toBe(1);
  });

  it('the drop_caches task alone changes nothing while fsx holds the file', () => {
    const r = runFsxModel({ kernel: 'deferred', seed: 3, numops: 3000, dropCaches: 3, dropCachesInterval: 500 });
    expect(r.error).toBeNull();
    expect(r.m.k.inode.loads).toBe(1);
  });

  it("fsx's -c (close, drop caches, open) evicts and reloads it", () => {
    const r = runFsxModel({ kernel: 'deferred', seed: 3, numops: 3000, fsx: { closeprob: 20 } });
    expect(r.error).toBeNull();
    expect(r.m.k.inode.loads).toBeGreaterThan(20);
  });
});

describe('dentries and eviction: the two bugs of 5.8 (KERNEL-HISTORY §4)', () => {
  /**
   * Close and reopen twice with no drop_caches (the dentry goes on the LRU,
   * then gets DCACHE_REFERENCED), flip, close and reopen once more.
   */
  const referencedThenFlip: Body = function* (m) {
    for (let i = 0; i < 2; i++) yield* closeopen(m);
    yield* m.k.fs.chattr(m.k, m.fsx, !m.k.inode.diskDax);
    yield* closeopen(m);
  };

  it('5.8: fast_dput keeps a DCACHE_REFERENCED dentry with DCACHE_DONTCACHE: the inode is not evicted, S_DAX stays stale after the last close', () => {
    const { m, error } = solo({ kernel: 'deferred-5.8' }, function* (mm) {
      mm.k.closeOpenDrop = 0;
      yield* referencedThenFlip(mm);
    });
    expect(error).toBeInstanceOf(DaxStateMismatch);
    const e = error as DaxStateMismatch;
    expect(e.statxDax).toBe(true);
    expect(e.expected).toBe(false);
    expect(m.k.inode.loads).toBe(1);
  });

  it('5.11 (77573fa310d9): the last dput kills it, the inode is evicted and reloaded', () => {
    const { m, error } = solo({ kernel: 'deferred' }, function* (mm) {
      mm.k.closeOpenDrop = 0;
      yield* referencedThenFlip(mm);
    });
    expect(error).toBeNull();
    expect(m.k.inode.loads).toBe(2);
    expect(m.k.inode.sDax).toBe(false);
  });

  it('statx reports STATX_ATTR_DAX from 5.8 (0x2000 in 5.8, 0x00200000 from 5.10); 4.13 has no such attribute', () => {
    const got: Record<string, number> = {};
    for (const kernel of ['immediate', 'deferred-5.8', 'deferred'] as const) {
      solo({ kernel }, function* (mm) {
        got[kernel] = (yield* vfs_statx(mm.k, mm.fsx)).attributes;
      });
    }
    expect(got).toEqual({ immediate: 0, 'deferred-5.8': 0x2000, deferred: 0x00200000 });
  });

  /** A buffered write left dirty, the flag flipped, the last close; then the data read back. */
  const lostOnClose = (got: Uint8Array): Body =>
    function* (m) {
      yield* m.file.pwrite(filled(4096, 8), 0, 4096, 0, 0);
      yield* m.k.fs.chattr(m.k, m.fsx, true);
      yield* closeopen(m);
      yield* m.file.pread(got, 0, 4096, 0, 0);
    };

  it('5.8: I_DONTCACHE makes generic_drop_inode say drop, iput_final evicts without writeback: dirty data is discarded', () => {
    const got = new Uint8Array(4096);
    const { m, error } = solo({ kernel: 'deferred-5.8', initialDax: false }, function* (mm) {
      mm.k.closeOpenDrop = 0;
      yield* lostOnClose(got)(mm);
    });
    expect(error).toBeNull();
    expect(m.k.inode.sDax).toBe(true); // reloaded, DAX now
    expect(got[0]).toBe(0); // the write is gone
    expect(m.k.trace.since(0).some((e) => /1 dirty page\(s\) discarded/.test(e.text))).toBe(true);
  });

  it('5.11 (88149082bb8e): iput_final writes an I_DONTCACHE inode back before evicting it', () => {
    const got = new Uint8Array(4096);
    const { m, error } = solo({ kernel: 'deferred', initialDax: false }, function* (mm) {
      mm.k.closeOpenDrop = 0;
      yield* lostOnClose(got)(mm);
    });
    expect(error).toBeNull();
    expect(m.k.inode.sDax).toBe(true);
    expect(got[0]).toBe(8);
  });

  it('4.13/4.14 and an inode without I_DONTCACHE: the last close keeps it cached; drop_caches evicts it only once it is clean', () => {
    const loads: number[] = [];
    const { m } = solo({ kernel: 'ignored', initialDax: false }, function* (mm) {
      mm.k.closeOpenDrop = 0;
      yield* closeopen(mm);
      loads.push(mm.k.inode.loads); // kept cached
      yield* mm.file.pwrite(filled(4096, 1), 0, 4096, 0, 0);
      mm.k.closeOpenDrop = 3;
      yield* closeopen(mm);
      loads.push(mm.k.inode.loads); // dirty: not evicted
      yield* mm.file.fsync();
      yield* closeopen(mm);
      loads.push(mm.k.inode.loads); // clean: evicted and loaded again
    });
    expect(loads).toEqual([1, 1, 2]);
    expect(m.k.inode.evicted).toBe(false);
  });
});
