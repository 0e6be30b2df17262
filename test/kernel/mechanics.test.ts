import { describe, expect, it } from 'vitest';
import { DaxEntry, HUGE_ZERO_PFN, Page } from '../../src/kernel/core.js';
import { FALLOC } from '../../src/fsx/ops.js';
import { drop_caches_sysctl_handler } from '../../src/kernel/fs/drop_caches.js';
import { flusherTask } from '../../src/kernel/fs/fs-writeback.js';
import { IOLOCK, fs_lock, fs_unlock } from '../../src/kernel/fs/generic.js';
import { FLUSHER_PID } from '../../src/kernel/machine.js';
import { __delete_from_page_cache, add_to_page_cache_lru, unlock_page } from '../../src/kernel/mm/filemap.js';
import { put_page } from '../../src/kernel/mm/page_alloc.js';
import { makePrng } from '../../src/sched/strategy.js';
import { Task } from '../../src/sched/task.js';
import type { Mapping } from '../../src/fsx/file.js';
import { filled, framesSeen, play, runFsxModel, solo, withTasks, type Body } from './play.js';

/**
 * Issue 12, item 5: the mechanics the model lacked, each reached here:
 * fault-around, PMD faults, page reference counts and the checks on a page
 * that belongs to no mapping, background writeback, drop_caches.
 */

describe('fault-around (.map_pages = filemap_map_pages)', () => {
  it('a read fault maps the cached pages around it read-only, without ->fault, the XFS lock or an IS_DAX test', () => {
    let ptes = 0;
    const body: Body = function* (m) {
      const f = m.file;
      yield* f.pwrite(filled(8 * 4096, 2), 0, 8 * 4096, 0, 0);
      const map = (yield* f.mmap(0, 8 * 4096, false)) as Mapping;
      yield* f.mapRead(map, 3 * 4096, new Uint8Array(16), 0, 16);
      ptes = [...m.k.inode.mapping.i_mmap][0].ptes.size;
      yield* f.munmap(map);
    };
    const { m, error } = solo({ kernel: 'immediate', initialDax: false }, body);
    expect(error).toBeNull();
    expect(ptes).toBe(8);
    expect(framesSeen(m.k)).not.toContain('xfs_filemap_fault');
    expect(m.k.trace.since(0).filter((e) => e.text.startsWith('fault-around maps'))).toHaveLength(8);
  });

  it('ext4_dax_vm_ops have no ->map_pages', () => {
    const { m } = solo({ fs: 'ext4', kernel: 'immediate' }, function* (mm) {
      const f = mm.file;
      yield* f.pwrite(filled(8 * 4096, 2), 0, 8 * 4096, 0, 0);
      const map = (yield* f.mmap(0, 8 * 4096, false)) as Mapping;
      yield* f.mapRead(map, 0, new Uint8Array(16), 0, 16);
      yield* f.munmap(map);
    });
    expect(framesSeen(m.k)).not.toContain('do_fault_around');
    expect(framesSeen(m.k)).toContain('ext4_dax_fault');
  });
});

describe('PMD faults (xfs_filemap_huge_fault, files of 2 MiB and more)', () => {
  const MiB = 1024 * 1024;
  const setup = { kernel: 'ignored' as const, maxFileLen: 8 * MiB };

  it('a write fault in a 2 MiB-aligned region of a DAX mapping allocates one aligned extent and maps it with one PMD', () => {
    const seen: { huge?: boolean; pfn?: number; entry?: unknown; ptes?: number } = {};
    const { m, error } = solo(setup, function* (mm) {
      const f = mm.file;
      yield* f.ftruncate(4 * MiB);
      const map = (yield* f.mmap(0, 4 * MiB, true)) as Mapping;
      yield* f.mapWrite(map, 0, filled(16, 7), 0, 16);
      const vma = [...mm.k.inode.mapping.i_mmap][0];
      const pte = vma.ptes.get(0);
      Object.assign(seen, { huge: pte?.huge, pfn: pte?.pfn, entry: mm.k.inode.mapping.entries.get(300), ptes: vma.ptes.size });
      yield* f.munmap(map);
    });
    expect(error).toBeNull();
    expect(seen.huge).toBe(true);
    expect(seen.ptes).toBe(512);
    expect((seen.pfn ?? 1) % 512).toBe(0);
    expect(seen.entry).toBeInstanceOf(DaxEntry);
    expect((seen.entry as DaxEntry).kind).toBe('pmd');
    expect(framesSeen(m.k)).toContain('dax_iomap_pmd_fault');
  });

  it('a read fault on a 2 MiB hole maps the huge zero page; a write to it goes through wp_huge_pmd and maps blocks', () => {
    const pfns: number[] = [];
    const { error } = solo(setup, function* (mm) {
      const f = mm.file;
      yield* f.ftruncate(4 * MiB);
      const map = (yield* f.mmap(0, 4 * MiB, true)) as Mapping;
      yield* f.mapRead(map, 2 * MiB, new Uint8Array(16), 0, 16);
      const vma = [...mm.k.inode.mapping.i_mmap][0];
      pfns.push(vma.ptes.get(512)!.pfn);
      yield* f.mapWrite(map, 2 * MiB + 100, filled(16, 7), 0, 16);
      pfns.push(vma.ptes.get(512)!.pfn);
      yield* f.munmap(map);
    });
    expect(error).toBeNull();
    expect(pfns[0]).toBe(HUGE_ZERO_PFN);
    expect(pfns[1] % 512).toBe(0);
  });

  it('a file smaller than 2 MiB falls back to PTEs', () => {
    const { m } = solo(setup, function* (mm) {
      const f = mm.file;
      yield* f.ftruncate(MiB);
      const map = (yield* f.mmap(0, MiB, true)) as Mapping;
      yield* f.mapWrite(map, 0, filled(16, 7), 0, 16);
      expect([...mm.k.inode.mapping.i_mmap][0].ptes.get(0)?.huge).toBe(false);
      yield* f.munmap(map);
    });
    expect(framesSeen(m.k)).toContain('xfs_filemap_huge_fault');
  });
});

describe('page reference counts and a page that belongs to no mapping', () => {
  it('after a run every cached page holds exactly the cache reference (no leak), and no Bad page report', () => {
    for (const kernel of ['immediate', 'deferred'] as const) {
      const r = runFsxModel({ kernel, seed: 2, numops: 400, flip: kernel === 'deferred', initialDax: false });
      expect(r.error).toBeNull();
      for (const e of r.m.k.inode.mapping.entries.values()) if (e instanceof Page) expect([e.index, e.count, e.mapcount]).toEqual([e.index, 1, 0]);
      expect(r.m.k.warnings.filter((w) => w.kind === 'bad page')).toEqual([]);
    }
  });

  it('put_page() freeing a page that still belongs to a mapping is "Bad page state"', () => {
    const { m } = solo({ kernel: 'immediate', initialDax: false }, function* (mm) {
      if (mm.k.tick()) yield;
      const page = add_to_page_cache_lru(mm.k, mm.fsx, 0);
      unlock_page(page);
      put_page(mm.k, mm.fsx, page);
      put_page(mm.k, mm.fsx, page);
    });
    expect(m.k.warnings.map((w) => [w.kind, w.where])).toEqual([['bad page', 'mm/page_alloc.c']]);
    expect(m.k.warnings[0].what).toMatch(/non-NULL mapping/);
  });

  it('deleting a page still mapped is "Bad page cache ... still mapped when deleted"', () => {
    const { m } = solo({ kernel: 'immediate', initialDax: false }, function* (mm) {
      if (mm.k.tick()) yield;
      const page = add_to_page_cache_lru(mm.k, mm.fsx, 0);
      page.mapcount = 1;
      __delete_from_page_cache(mm.k, mm.fsx, page);
    });
    expect(m.k.warnings.map((w) => w.what)).toEqual([expect.stringMatching(/still mapped when deleted/)]);
  });

  it('a write fault whose page was punched out while it waited finds the page belongs to no mapping and retries', () => {
    const got = new Uint8Array(16);
    const body: Body = function* (m) {
      const f = m.file;
      yield* f.pwrite(filled(4096, 1), 0, 4096, 0, 0);
      const map = (yield* f.mmap(0, 4096, true)) as Mapping;
      const rc = yield* f.mapWrite(map, 0, filled(16, 7), 0, 16);
      if (rc < 0) throw new Error('SIGBUS');
      yield* f.munmap(map);
      yield* f.pread(got, 0, 16, 0, 0);
    };
    const { m, error } = play(
      { kernel: 'immediate', initialDax: false },
      body,
      (mm, t) => mm.k.fs.fallocate(mm.k, t, FALLOC.PUNCH_HOLE | FALLOC.KEEP_SIZE, 0, 4096),
      (mm, t) => [
        { task: mm.fsx, until: () => mm.k.trace.since(0).some((e) => e.pid === 6052 && e.text === 'releases MMAPLOCK (read)' && e.stack.endsWith('xfs_filemap_fault')) },
        { task: t, until: () => t.done },
      ],
    );
    expect(error).toBeNull();
    expect(m.k.trace.since(0).some((e) => /belongs to no mapping/.test(e.text))).toBe(true);
    expect(got[0]).toBe(7);
  });
});

describe('background writeback (the flusher)', () => {
  const addFlusher = (m: Parameters<Body>[0]): void => {
    const t = new Task(FLUSHER_PID, 'kworker/u8:2', 0);
    m.sched.add(t, flusherTask(m.k, t, makePrng(1, 'wb'), 50, m.sched));
  };

  it('writes dirty page-cache pages back without any inode lock (fsx holds IOLOCK exclusively meanwhile)', () => {
    const { m, error } = withTasks({ kernel: 'immediate', initialDax: false }, function* (mm) {
      yield* mm.file.pwrite(filled(8192, 5), 0, 8192, 0, 0);
      yield* fs_lock(mm.k, { iolock: 'xfs_ilock', mmaplock: 'xfs_ilock' }, mm.fsx, IOLOCK, true);
      const dirty = (): boolean => [...mm.k.inode.mapping.entries.values()].some((e) => e.dirty);
      for (let i = 0; i < 20000 && dirty(); i++) if (mm.k.tick()) yield;
      yield* fs_unlock(mm.k, mm.fsx, IOLOCK, true);
    }, addFlusher);
    expect(error).toBeNull();
    expect([...m.k.inode.mapping.entries.values()].some((e) => e.dirty)).toBe(false);
    expect(m.k.media.block(m.k.inode.blocks[1])[0]).toBe(5);
  });

  it('does nothing for dirty DAX entries: dax_writeback_mapping_range returns at once for WB_SYNC_NONE', () => {
    const { m, error } = withTasks({ kernel: 'immediate' }, function* (mm) {
      const f = mm.file;
      yield* f.ftruncate(4096);
      const map = (yield* f.mmap(0, 4096, true)) as Mapping;
      yield* f.mapWrite(map, 0, filled(16, 7), 0, 16);
      for (let i = 0; i < 5000; i++) if (mm.k.tick()) yield;
      expect((mm.k.inode.mapping.entries.get(0) as DaxEntry).dirty).toBe(true);
      yield* f.msync(map, true);
      expect((mm.k.inode.mapping.entries.get(0) as DaxEntry).dirty).toBe(false);
      yield* f.munmap(map);
    }, addFlusher);
    expect(error).toBeNull();
    expect(framesSeen(m.k, FLUSHER_PID)).toContain('writeback_sb_inodes');
  });
});

describe('drop_caches', () => {
  it('1 drops clean, unmapped pages; dirty and mapped ones stay; 2 evicts the inode only when unused', () => {
    const after: string[] = [];
    const { m, error } = solo({ kernel: 'immediate', initialDax: false }, function* (mm) {
      const f = mm.file;
      const k = mm.k;
      yield* f.pwrite(filled(3 * 4096, 1), 0, 3 * 4096, 0, 0);
      yield* f.fsync(); // all clean
      yield* f.pwrite(filled(4096, 2), 4096, 4096, 4096, 0); // page 1 dirty
      const map = (yield* f.mmap(2 * 4096, 4096, false)) as Mapping;
      yield* f.mapRead(map, 0, new Uint8Array(16), 0, 16); // page 2 mapped
      yield* drop_caches_sysctl_handler(k, mm.fsx, 1);
      after.push([0, 1, 2].map((i) => (k.inode.mapping.entries.has(i) ? 'y' : 'n')).join(''));
      yield* drop_caches_sysctl_handler(k, mm.fsx, 2);
      after.push(k.inode.evicted ? 'evicted' : 'kept');
      yield* f.munmap(map);
      yield* f.fsync();
      yield* f.close();
      yield* drop_caches_sysctl_handler(k, mm.fsx, 3);
      after.push(k.inode.evicted ? 'evicted' : 'kept');
      yield* f.open({ direct: false });
    });
    expect(error).toBeNull();
    expect(after).toEqual(['nyy', 'kept', 'evicted']);
    expect(m.k.inode.loads).toBe(2);
  });
});
