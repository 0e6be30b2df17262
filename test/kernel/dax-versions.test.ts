import { describe, expect, it } from 'vitest';
import { DaxEntry, KernelPanic, Page, VM, Vma, ZERO_PFN } from '../../src/kernel/core.js';
import { buildMachine } from '../../src/kernel/machine.js';
import { add_to_page_cache_lru, unlock_page } from '../../src/kernel/mm/filemap.js';
import { vm_insert_mixed } from '../../src/kernel/mm/memory.js';
import type { Mapping } from '../../src/fsx/file.js';
import { chattr, filled, flipped, framesSeen, play, readDaxIn, solo, type Body } from './play.js';

/**
 * Issue 12, items 1 and 2: fs/dax.c as 4.13 had it, against 4.14's.
 * Each test names what the model did before ("today") and shows the
 * version's code path instead.
 */

describe('item 1: a hole read fault', () => {
  const holeRead =
    (seen: { entry?: unknown; pte?: unknown; bytes?: Uint8Array }): Body =>
    function* (m) {
      const f = m.file;
      yield* f.ftruncate(8192); // two pages, both holes
      const map = (yield* f.mmap(0, 8192, false)) as Mapping;
      const buf = new Uint8Array(16).fill(9);
      const rc = yield* f.mapRead(map, 0, buf, 0, 16);
      if (rc < 0) throw new Error('SIGBUS');
      seen.entry = m.k.inode.mapping.entries.get(0);
      seen.pte = [...m.k.inode.mapping.i_mmap][0].ptes.get(0);
      seen.bytes = buf;
      yield* f.munmap(map);
    };

  it('4.13 (immediate): dax_load_hole puts a page-cache page in the mapping and maps it read-only (today: the zero pfn)', () => {
    const seen: { entry?: unknown; pte?: { page: Page | null; writable: boolean } } = {};
    const { error } = solo({ kernel: 'immediate' }, holeRead(seen));
    expect(error).toBeNull();
    expect(seen.entry).toBeInstanceOf(Page);
    const page = seen.entry as Page;
    expect(page.uptodate).toBe(false); // find_or_create_page(__GFP_ZERO): zeroed, never marked uptodate
    expect(seen.pte?.page).toBe(page);
    expect(seen.pte?.writable).toBe(false);
  });

  it('4.14 (ignored): a zero-page entry and the zero pfn', () => {
    const seen: { entry?: unknown; pte?: { pfn: number; page: Page | null } } = {};
    const { error } = solo({ kernel: 'ignored' }, holeRead(seen));
    expect(error).toBeNull();
    expect(seen.entry).toBeInstanceOf(DaxEntry);
    expect((seen.entry as DaxEntry).kind).toBe('zero');
    expect(seen.pte?.pfn).toBe(ZERO_PFN);
    expect(seen.pte?.page).toBeNull();
  });
});

describe('item 1: a DAX write fault', () => {
  const oneStore: Body = function* (m) {
    const f = m.file;
    yield* f.pwrite(filled(4096, 1), 0, 4096, 0, 0);
    const map = (yield* f.mmap(0, 4096, true)) as Mapping;
    const rc = yield* f.mapWrite(map, 0, filled(16, 7), 0, 16);
    if (rc < 0) throw new Error('SIGBUS');
    yield* f.munmap(map);
  };

  it('4.13: installs a read-only PTE; the store faults again through ->pfn_mkwrite -> dax_pfn_mkwrite (today: writable at once)', () => {
    const { m, error } = solo({ kernel: 'immediate' }, oneStore);
    expect(error).toBeNull();
    const frames = framesSeen(m.k);
    expect(frames).toContain('xfs_filemap_pfn_mkwrite');
    expect(frames).toContain('wp_pfn_shared');
    expect(m.k.trace.since(0).some((e) => e.text.startsWith('DAX maps page 0') && e.text.endsWith('read-only'))).toBe(true);
  });

  it('4.14: vm_insert_mixed_mkwrite installs it writable; no ->pfn_mkwrite', () => {
    const { m, error } = solo({ kernel: 'ignored' }, oneStore);
    expect(error).toBeNull();
    expect(framesSeen(m.k)).not.toContain('xfs_filemap_pfn_mkwrite');
    expect(m.k.trace.since(0).some((e) => e.text.startsWith('DAX maps page 0') && e.text.endsWith('writable'))).toBe(true);
  });
});

describe('item 1: insert_pfn on a present PTE', () => {
  for (const kernel of ['immediate', 'ignored'] as const) {
    it(`${kernel}: -EBUSY and the PTE stays (today: overwritten)`, () => {
      const m = buildMachine({ kernel });
      const vma = new Vma(m.k.inode, 0, 1, VM.SHARED | VM.READ | VM.WRITE | VM.MIXEDMAP);
      vma.ptes.set(0, { page: null, pfn: 5, writable: false, huge: false });
      expect(vm_insert_mixed(m.k, m.fsx, vma, 0, 7, false)).toBe(-16);
      expect(vma.ptes.get(0)?.pfn).toBe(5);
    });
  }

  it('4.14 vm_insert_mixed_mkwrite: the same pfn is made writable, another pfn WARNs', () => {
    const m = buildMachine({ kernel: 'ignored' });
    const vma = new Vma(m.k.inode, 0, 1, VM.SHARED | VM.READ | VM.WRITE | VM.MIXEDMAP);
    vma.ptes.set(0, { page: null, pfn: 5, writable: false, huge: false });
    expect(vm_insert_mixed(m.k, m.fsx, vma, 0, 5, true)).toBe(0);
    expect(vma.ptes.get(0)?.writable).toBe(true);
    expect(vm_insert_mixed(m.k, m.fsx, vma, 0, 6, true)).toBe(-16);
    expect(m.k.warnings.map((w) => w.func)).toEqual(['vm_insert_mixed_mkwrite']);
  });
});

/**
 * A page stranded in a DAX mapping under 4.13: a buffered pwrite tests
 * IS_DAX (false) with no lock held, the flip sets S_DAX meanwhile, and the
 * write copies into the page cache of an inode that is DAX by then.
 */
const strandScript = (m: Parameters<Parameters<typeof play>[3]>[0], flipper: Parameters<Parameters<typeof play>[3]>[1]) => [
  { task: m.fsx, until: readDaxIn(m.k, 'xfs_file_write_iter') },
  { task: flipper, until: flipped(m.k) },
];

describe('item 1: a page-cache page where a DAX entry must be', () => {
  it('4.13: grab_mapping_entry hands a regular page back locked, as a hole page: a second read fault on a hole maps the same page (today: WARNING, then SIGBUS)', () => {
    const pages: unknown[] = [];
    const body: Body = function* (m) {
      const f = m.file;
      yield* f.ftruncate(4096);
      for (let i = 0; i < 2; i++) {
        const map = (yield* f.mmap(0, 4096, false)) as Mapping;
        const rc = yield* f.mapRead(map, 0, new Uint8Array(16), 0, 16);
        if (rc < 0) throw new Error('SIGBUS');
        pages.push([...m.k.inode.mapping.i_mmap][0].ptes.get(0)?.page);
        yield* f.munmap(map);
      }
    };
    const { m, error } = solo({ kernel: 'immediate' }, body);
    expect(error).toBeNull();
    expect(m.k.warnings).toEqual([]);
    expect(pages[0]).toBeInstanceOf(Page);
    // the hole page is not uptodate, so fault-around leaves it: the second fault goes to dax_iomap_fault,
    // where grab_mapping_entry returns the page and dax_load_hole maps it again
    expect(pages[1]).toBe(pages[0]);
    expect(framesSeen(m.k).filter((f) => f === 'dax_load_hole')).toHaveLength(1);
  });

  it('4.13: a page stranded by a racing buffered write is mapped by fault-around, with no ->fault and no IS_DAX test', () => {
    const buf = new Uint8Array(16);
    const body: Body = function* (m) {
      const f = m.file;
      yield* f.pwrite(filled(4096, 3), 0, 4096, 0, 0);
      const map = (yield* f.mmap(0, 4096, false)) as Mapping;
      const rc = yield* f.mapRead(map, 0, buf, 0, 16);
      if (rc < 0) throw new Error('SIGBUS');
      yield* f.munmap(map);
    };
    const { m, error } = play({ kernel: 'immediate', initialDax: false }, body, chattr(true), strandScript);
    expect(error).toBeNull();
    expect(m.k.inode.sDax).toBe(true);
    expect(buf[0]).toBe(3);
    const frames = framesSeen(m.k);
    expect(frames).toContain('filemap_map_pages');
    expect(frames).not.toContain('dax_iomap_fault');
  });

  it('4.13: a write fault replaces it: dax_insert_mapping_entry deletes the dirty page, __delete_from_page_cache WARNs, its data is gone', () => {
    const got = new Uint8Array(4096);
    const body: Body = function* (m) {
      const f = m.file;
      yield* f.pwrite(filled(4096, 3), 0, 4096, 0, 0);
      const map = (yield* f.mmap(0, 4096, true)) as Mapping;
      const rc = yield* f.mapWrite(map, 0, filled(16, 7), 0, 16);
      if (rc < 0) throw new Error('SIGBUS');
      yield* f.munmap(map);
      yield* f.pread(got, 0, 4096, 0, 0);
    };
    const { m, error } = play({ kernel: 'immediate', initialDax: false }, body, chattr(true), strandScript);
    expect(error).toBeNull();
    expect(m.k.warnings.map((w) => [w.func, w.where])).toEqual([['__delete_from_page_cache', 'mm/filemap.c:262']]);
    expect(got[0]).toBe(7);
    expect(got[100]).toBe(0); // the pwrite's 3s went with the page
  });

  it('with panic_on_warn that WARNING stops the run', () => {
    const body: Body = function* (m) {
      const f = m.file;
      yield* f.pwrite(filled(4096, 3), 0, 4096, 0, 0);
      const map = (yield* f.mmap(0, 4096, true)) as Mapping;
      yield* f.mapWrite(map, 0, filled(16, 7), 0, 16);
    };
    const { error } = play({ kernel: 'immediate', initialDax: false, panicOnWarn: true }, body, chattr(true), strandScript);
    expect(error).toBeInstanceOf(KernelPanic);
    expect((error as KernelPanic).kind).toBe('warning');
    expect((error as KernelPanic).func).toBe('__delete_from_page_cache');
  });

  it('4.14: grab_mapping_entry WARNs and fails with -EIO, the fault SIGBUSes (the page put there by hand: 4.14 never strands one)', () => {
    let rc = 0;
    const body: Body = function* (m) {
      const f = m.file;
      yield* f.ftruncate(4096);
      const page = add_to_page_cache_lru(m.k, m.fsx, 0);
      page.dirty = true; // not uptodate: fault-around leaves it to the fault
      unlock_page(page);
      const map = (yield* f.mmap(0, 4096, false)) as Mapping;
      rc = yield* f.mapRead(map, 0, new Uint8Array(16), 0, 16);
    };
    const { m, error } = solo({ kernel: 'ignored' }, body);
    expect(error).toBeNull();
    expect(rc).toBe(-14);
    expect(m.k.warnings.map((w) => w.func)).toEqual(['grab_mapping_entry']);
  });
});

describe('item 2: writeback of a DAX mapping holding a stranded dirty page', () => {
  /** Strand page 0, then store through a DAX mapping of page 1 (a DAX entry), then msync and fsync. */
  const results: number[] = [];
  const body: Body = function* (m) {
    const f = m.file;
    yield* f.pwrite(filled(4096, 3), 0, 4096, 0, 0);
    yield* f.ftruncate(8192);
    const map = (yield* f.mmap(0, 8192, true)) as Mapping;
    yield* f.mapWrite(map, 4096, filled(16, 7), 4096, 16);
    results.push(yield* f.msync(map, true));
    yield* f.munmap(map);
    results.push(yield* f.fsync());
  };

  it('4.13: dax_writeback_one WARNs (fs/dax.c:724) and msync and fsync fail with EIO (today: the page is skipped silently)', () => {
    results.length = 0;
    const { m, error } = play({ kernel: 'immediate', initialDax: false }, body, chattr(true), strandScript);
    expect(error).toBeNull();
    expect(results).toEqual([-5, -5]);
    // WARN_ON, not WARN_ON_ONCE: msync and fsync each WARN
    expect(m.k.warnings.map((w) => [w.func, w.where])).toEqual([
      ['dax_writeback_one', 'fs/dax.c:724'],
      ['dax_writeback_one', 'fs/dax.c:724'],
    ]);
    const page = m.k.inode.mapping.entries.get(0);
    expect(page).toBeInstanceOf(Page);
    expect((page as Page).dirty).toBe(true); // still stranded
  });

  it('locked: the write decides under IOLOCK, after the flip, and goes to DAX: nothing is stranded, msync and fsync succeed', () => {
    results.length = 0;
    const { m, error } = play({ kernel: 'locked', initialDax: false }, body, chattr(true), (mm, flipper) => [
      { task: mm.fsx, until: () => mm.k.trace.since(0).some((e) => e.kind === 'syscall' && e.text.startsWith('pwrite')) },
      { task: flipper, until: flipped(mm.k) },
    ]);
    expect(error).toBeNull();
    expect(results).toEqual([0, 0]);
    expect(m.k.warnings).toEqual([]);
  });
});
