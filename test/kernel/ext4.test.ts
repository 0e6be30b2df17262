import { describe, expect, it } from 'vitest';
import { HungTask } from '../../src/sched/scheduler.js';
import { IOLOCK, fs_lock } from '../../src/kernel/fs/generic.js';
import type { Mapping } from '../../src/fsx/file.js';
import { Page } from '../../src/kernel/core.js';
import { chattr, filled, flipped, play, readDaxIn, solo, type Body, type Other } from './play.js';

/**
 * Issue 12, item 3: ext4 as 4.13 had it. Reads re-check IS_DAX under the
 * shared inode lock and fall back to buffered reads, which take no inode
 * lock; there is no FS_XFLAG_DAX before 5.8, but under -o dax the
 * journal flag (chattr +j/-j) switches S_DAX at runtime, which 4.14
 * refuses.
 */

describe('item 3: ext4_file_read_iter', () => {
  it('4.13: a DAX read re-checks IS_DAX under inode_lock_shared and falls back to a buffered read (today: i_rwsem for every read, no re-check)', () => {
    const got = new Uint8Array(4096);
    const body: Body = function* (m) {
      const f = m.file;
      yield* f.pwrite(filled(4096, 4), 0, 4096, 0, 0);
      yield* f.pread(got, 0, 4096, 0, 0);
    };
    // the read tests IS_DAX (true) with no lock; chattr +j clears it under i_rwsem; the read re-tests
    const { m, error } = play({ fs: 'ext4', kernel: 'immediate' }, body, chattr(false), (mm, flipper) => [
      { task: mm.fsx, until: readDaxIn(mm.k, 'ext4_file_read_iter') },
      { task: flipper, until: flipped(mm.k) },
    ]);
    expect(error).toBeNull();
    const reads = m.k.trace.since(0).filter((e) => e.kind === 'isdax' && e.pid === 6052 && /read_iter/.test(e.text));
    expect(reads.map((e) => e.text)).toEqual(['IS_DAX() read true in ext4_file_read_iter', 'IS_DAX() read false in ext4_dax_read_iter']);
    // the fallback read went through the page cache
    expect(m.k.inode.mapping.entries.get(0)).toBeInstanceOf(Page);
    expect(got[0]).toBe(4);
  });

  for (const [fs, name, blocks] of [
    ['ext4', 'ext4: a buffered read takes no inode lock: it goes on while another task holds i_rwsem exclusively', false],
    ['xfs', 'xfs: a buffered read takes IOLOCK shared and waits', true],
  ] as const) {
    it(name, () => {
      const got = new Uint8Array(16);
      const body: Body = function* (m) {
        yield* m.file.pwrite(filled(4096, 6), 0, 4096, 0, 0);
        yield* m.file.pread(got, 0, 16, 0, 0);
      };
      const holder: Other = function* (m, t) {
        yield* fs_lock(m.k, { iolock: 'inode_lock', mmaplock: 'x' }, t, IOLOCK, true);
        for (;;) if (m.k.tick()) yield; // never lets go
      };
      const { error } = play({ fs, kernel: 'immediate', initialDax: false }, body, holder, (mm, t) => [
        { task: mm.fsx, until: () => mm.k.trace.since(0).some((e) => e.kind === 'syscall' && e.text.startsWith('pread')) },
        { task: t, until: () => mm.k.inode.iolock.writer === t },
      ]);
      if (blocks) expect(error).toBeInstanceOf(HungTask);
      else {
        expect(error).toBeNull();
        expect(got[0]).toBe(6);
      }
    });
  }
});

describe('item 3: the flags that reach S_DAX on ext4', () => {
  const results: number[] = [];
  const ask = (what: 'journal-on' | 'journal-off' | 'xflag-on' | 'xflag-off'): Body =>
    function* (m) {
      const k = m.k;
      const t = m.fsx;
      if (what.startsWith('journal')) results.push(yield* k.fs.chattr(k, t, what === 'journal-off'));
      else results.push(yield* k.fs.setxattr_dax(k, t, what === 'xflag-on'));
    };

  it('4.13 (immediate), -o dax: chattr +j clears S_DAX and chattr -j sets it, at runtime (ext4_change_inode_journal_flag)', () => {
    results.length = 0;
    const { m, error } = solo({ fs: 'ext4', kernel: 'immediate' }, function* (mm) {
      yield* ask('journal-on')(mm);
      results.push(mm.k.inode.sDax ? 1 : 0);
      yield* ask('journal-off')(mm);
      results.push(mm.k.inode.sDax ? 1 : 0);
    });
    expect(error).toBeNull();
    expect(results).toEqual([0, 0, 0, 1]);
    expect(m.k.flips).toBe(2);
  });

  it('4.14 (ignored): the journalling-mode change is refused with EBUSY under -o dax (e9072d859df3)', () => {
    results.length = 0;
    const { m, error } = solo({ fs: 'ext4', kernel: 'ignored' }, ask('journal-on'));
    expect(error).toBeNull();
    expect(results).toEqual([-16]);
    expect(m.k.inode.sDax).toBe(true);
    expect(m.k.flips).toBe(0);
  });

  for (const kernel of ['immediate', 'ignored'] as const) {
    it(`${kernel}: FS_XFLAG_DAX is EOPNOTSUPP: ext4 had no per-inode DAX flag before 5.8`, () => {
      results.length = 0;
      const { m } = solo({ fs: 'ext4', kernel }, ask('xflag-off'));
      expect(results).toEqual([-95]);
      expect(m.k.inode.sDax).toBe(true);
    });
  }

  it('5.8 (deferred-5.8): FS_XFLAG_DAX sets EXT4_DAX_FL and marks the inode and dentry don\'t-cache; S_DAX stays until the next load', () => {
    results.length = 0;
    const { m } = solo({ fs: 'ext4', kernel: 'deferred-5.8', initialDax: false }, ask('xflag-on'));
    expect(results).toEqual([0]);
    expect(m.k.inode.diskDax).toBe(true);
    expect(m.k.inode.sDax).toBe(false);
    expect(m.k.inode.dontcache).toBe(true);
    expect(m.k.dentry?.dontcache).toBe(true);
  });

  it('4.13: +j writes back under i_mmap_sem but unmaps nothing: a DAX PTE stays mapped to media', () => {
    let ptesAfter = -1;
    const body: Body = function* (m) {
      const f = m.file;
      yield* f.pwrite(filled(4096, 1), 0, 4096, 0, 0);
      const map = (yield* f.mmap(0, 4096, true)) as Mapping;
      yield* f.mapWrite(map, 0, filled(16, 5), 0, 16);
      yield* m.k.fs.chattr(m.k, m.fsx, false);
      ptesAfter = [...m.k.inode.mapping.i_mmap][0].ptes.size;
      yield* f.munmap(map);
    };
    const { m, error } = solo({ fs: 'ext4', kernel: 'immediate' }, body);
    expect(error).toBeNull();
    expect(m.k.inode.sDax).toBe(false);
    expect(ptesAfter).toBe(1);
  });
});
