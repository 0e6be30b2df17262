import type { Task } from '../../sched/task.js';
import { DaxEntry, HOLE, Kernel, PAGE_SIZE, Page, VM_FAULT, type Gen, type Vmf } from '../core.js';
import { V4_14 } from '../designs.js';
import { lock_page_raw, unlock_page_raw } from '../locks.js';
import { mediaRead } from '../fs/bmap.js';
import { alloc_set_pte, page_mkclean } from './memory.js';
import { get_page, put_page } from './page_alloc.js';
import { F_DATA } from '../trace.js';

const F_AROUND = (i: number): string => `fault-around maps cached page ${i} read-only`;

/**
 * mm/filemap.c of the modelled release: page-cache lookups and insertion,
 * deletion, buffered read and write, writeback entry points, the fault
 * handler and fault-around.
 */

/** find_get_page(): a page-cache lookup (a preemption point); a page found comes with a reference. DAX entries are not pages. */
export function* find_get_page(k: Kernel, t: Task, index: number): Gen<Page | null> {
  if (k.tick()) yield;
  const e = k.inode.mapping.entries.get(index);
  const page = e instanceof Page ? e : null;
  if (k.observer) k.observer(null, page ? 1 : 0);
  if (page) get_page(page, k, t);
  return page;
}

/** lock_page() is inline: a NULL page faults in the caller, reading page->compound_head (offset 0x20 in 4.13's struct page). */
export function* lock_page(k: Kernel, t: Task, page: Page | null): Gen<void> {
  const p = k.deref(t, page, 0x20, 'lock_page() on a NULL struct page');
  yield* lock_page_raw(k, t, p, `page ${p.index}`);
}

/** unlock_page(). */
export function unlock_page(page: Page): void {
  unlock_page_raw(page);
}

/**
 * add_to_page_cache_lru() -> page_cache_tree_insert() (mm/filemap.c, 4.13):
 * a new locked page at index, holding the cache's reference and the
 * caller's. An exceptional entry in the slot is replaced: for a non-DAX
 * mapping it is a workingset shadow; for a DAX mapping 4.13 WARNs unless
 * it is the locked empty entry of a DAX fault (4.14 dropped that case).
 */
export function add_to_page_cache_lru(k: Kernel, t: Task, index: number): Page {
  const mapping = k.inode.mapping;
  const old = mapping.entries.get(index);
  if (old instanceof DaxEntry) {
    if (k.v < V4_14 && k.inode.sDax) {
      // dax_mapping(mapping): "DAX can replace empty locked entry with a hole"
      t.enter('add_to_page_cache_lru');
      t.enter('page_cache_tree_insert');
      k.WARN_ON_ONCE(t, !(old.kind === 'empty' && old.order === 0 && old.locker !== null), 'mm/filemap.c', `page_cache_tree_insert() replaces a DAX entry (${old.kind}) at index ${index} of a DAX mapping`);
      t.leave();
      t.leave();
    }
    removeExceptional(mapping, old, index);
  }
  const buf = k.freePageData.pop();
  if (buf) buf.fill(0);
  const page = mapping.objects.page(mapping, index, buf);
  page.locker = t;
  page.count = 2;
  mapping.entries.set(index, page);
  mapping.nrpages++;
  return page;
}

/** Remove an exceptional entry from the tree (all the slots of a PMD entry). */
export function removeExceptional(mapping: Kernel['inode']['mapping'], e: DaxEntry, at?: number): void {
  if (e.order === 0) {
    if (mapping.entries.get(e.index) === e) mapping.entries.delete(e.index);
  } else {
    for (let i = e.index; i < e.index + (1 << e.order); i++) if (mapping.entries.get(i) === e) mapping.entries.delete(i);
  }
  if (at !== undefined && at !== e.index && mapping.entries.get(at) === e) mapping.entries.delete(at);
  mapping.nrexceptional--;
}

/**
 * __delete_from_page_cache() (mm/filemap.c, 4.13): take the page out of
 * the tree. A dirty page here means lost data: WARN_ON_ONCE (filemap.c:262).
 * A page still mapped is "Bad page cache ... still mapped when deleted".
 * The caller drops the cache's reference.
 */
export function __delete_from_page_cache(k: Kernel, t: Task, page: Page): void {
  const mapping = k.inode.mapping;
  if (page.mapping !== mapping) return;
  t.enter('__delete_from_page_cache');
  if (page.mapcount > 0) k.badPage(t, 'mm/filemap.c', `Bad page cache in process ${t.comm}: page ${page.index} still mapped when deleted`);
  k.WARN_ON_ONCE(t, page.dirty, 'mm/filemap.c:262', `__delete_from_page_cache() of dirty page ${page.index}: its data is lost`);
  t.leave();
  if (mapping.entries.get(page.index) === page) mapping.entries.delete(page.index);
  mapping.nrpages--;
  page.mapping = null;
}

/** delete_from_page_cache(): __delete_from_page_cache, then drop the cache's reference. */
export function delete_from_page_cache(k: Kernel, t: Task, page: Page): void {
  if (page.mapping !== k.inode.mapping) return;
  __delete_from_page_cache(k, t, page);
  put_page(k, t, page);
}

/** ->readpage: fill a page from media (holes and unwritten extents read as zeros). */
function readpage(k: Kernel, page: Page): void {
  mediaRead(k.inode, k.media, page.data, 0, page.index * PAGE_SIZE, PAGE_SIZE);
  page.uptodate = true;
}

/**
 * pagecache_get_page(FGP_LOCK | FGP_CREAT) and a read if not uptodate: the
 * page at index, locked, with a reference for the caller.
 */
export function* find_or_read_page(k: Kernel, t: Task, index: number, fill: boolean): Gen<Page> {
  for (;;) {
    const page = yield* find_get_page(k, t, index);
    if (!page) {
      const p = add_to_page_cache_lru(k, t, index);
      if (fill) readpage(k, p);
      return p;
    }
    yield* lock_page(k, t, page);
    if (page.mapping !== k.inode.mapping) {
      // truncated or invalidated while we slept on the lock: a page that belongs to no mapping
      unlock_page(page);
      put_page(k, t, page);
      continue;
    }
    if (!page.uptodate && fill) readpage(k, page);
    return page;
  }
}

/** generic_file_buffered_read()'s and generic_perform_write()'s tags among the rejoin points (Kernel.rejoin). */
const REJOIN_BUFFERED_READ = 0x7ead;
const REJOIN_BUFFERED_WRITE = 0x771e;

/** generic_file_buffered_read(): copy from the page cache; the caller holds the lock it needs. */
export function* generic_file_buffered_read(k: Kernel, t: Task, dst: Uint8Array, dstOff: number, len: number, pos: number): Gen<number> {
  t.enter('generic_file_read_iter');
  const start = pos;
  try {
    let done = 0;
    while (done < len) {
      // each page starts afresh: what follows depends on where the copy is and what it copied (carried), not on
      // the values read before (i_size, the pages found: they decided only how far it got), nor on how this read
      // was chosen (the callers, xfs_file_read_iter and ext4_file_read_iter, only unlock and return after it)
      if (k.rejoin) k.rejoin(t, [REJOIN_BUFFERED_READ, start, len, done, dst.length, dstOff]);
      if (k.tick()) yield;
      const isize = k.isize();
      if (pos >= isize) break;
      const index = Math.floor(pos / PAGE_SIZE);
      const inPage = pos - index * PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - inPage, isize - pos);
      const page = yield* find_or_read_page(k, t, index, true);
      dst.set(page.data.subarray(inPage, inPage + n), dstOff + done);
      if (k.carry) k.carry(t, page.data, inPage, n);
      unlock_page(page);
      put_page(k, t, page);
      done += n;
      pos += n;
    }
    if (done && k.trace.enabled) k.trace.add(t, 'data', F_DATA, 'read-cache', start, done);
    return done;
  } finally {
    t.leave();
  }
}

/** generic_perform_write(): copy into page-cache pages, dirty them, extend i_size. */
export function* generic_perform_write(k: Kernel, t: Task, src: Uint8Array, srcOff: number, len: number, pos: number): Gen<number> {
  t.enter('generic_perform_write');
  const start = pos;
  try {
    let done = 0;
    while (done < len) {
      // each page starts afresh: what follows depends on how far the copy got, not on what was read before (the
      // callers, write_body from write_iter, only unlock and return after it)
      if (k.rejoin) k.rejoin(t, [REJOIN_BUFFERED_WRITE, start, len, done, src.length, srcOff]);
      const index = Math.floor(pos / PAGE_SIZE);
      const inPage = pos - index * PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - inPage);
      // write_begin reads the page unless the whole of it is overwritten
      const page = yield* find_or_read_page(k, t, index, n < PAGE_SIZE);
      page.data.set(src.subarray(srcOff + done, srcOff + done + n), inPage);
      page.uptodate = true;
      page.dirty = true;
      if (pos + n > k.inode.i_size) k.inode.i_size = pos + n;
      unlock_page(page);
      put_page(k, t, page);
      done += n;
      pos += n;
    }
    if (done && k.trace.enabled) k.trace.add(t, 'data', F_DATA, 'write-cache', start, done);
    return done;
  } finally {
    t.leave();
  }
}

/**
 * Write one dirty page to media: the page straddling EOF has its tail
 * zeroed first (it may be mmapped), and delalloc blocks get allocated.
 */
export function writepage(k: Kernel, page: Page): void {
  const ip = k.inode;
  const start = page.index * PAGE_SIZE;
  if (start >= ip.i_size) {
    // wholly beyond EOF: nothing to write, the page is clean
    page.dirty = false;
    return;
  }
  if (ip.i_size < start + PAGE_SIZE) page.data.fill(0, ip.i_size - start);
  const b = ip.blocks[page.index];
  let p = b;
  if (b === HOLE || ip.unwritten[page.index]) {
    if (b === HOLE) {
      p = k.media.alloc();
      ip.blocks[page.index] = p;
    }
    ip.unwritten[page.index] = 0;
  }
  k.media.data.set(page.data, p * PAGE_SIZE);
  page.dirty = false;
}

/**
 * write_cache_pages() for a page-cache mapping: every dirty page in
 * [first, last], locked, write-protected in every mapping
 * (clear_page_dirty_for_io -> page_mkclean) and written. WB_SYNC_NONE
 * (background writeback) skips a page someone holds locked.
 */
export function* write_cache_pages(k: Kernel, t: Task, first: number, last: number, sync: boolean): Gen<number> {
  t.enter('write_cache_pages');
  try {
    const mapping = k.inode.mapping;
    const top = Math.min(last, k.inode.nblocks);
    for (let i = first; i <= top; i++) {
      const e = mapping.entries.get(i);
      if (!(e instanceof Page) || !e.dirty) continue;
      if (!sync && e.locker !== null) continue;
      get_page(e, k, t);
      yield* lock_page(k, t, e);
      if (e.mapping === mapping && e.dirty) {
        page_mkclean(k, e);
        writepage(k, e);
      }
      unlock_page(e);
      put_page(k, t, e);
    }
    return 0;
  } finally {
    t.leave();
  }
}

/**
 * filemap_write_and_wait_range() (mm/filemap.c): if the mapping has pages
 * (or, for a DAX mapping, exceptional entries), ->writepages with
 * WB_SYNC_ALL, then wait. An error (-EIO from DAX writeback) is returned
 * and the wait skipped, as the kernel does.
 */
export function* filemap_write_and_wait_range(k: Kernel, t: Task, start: number, end: number): Gen<number> {
  t.enter('filemap_write_and_wait_range');
  try {
    const mapping = k.inode.mapping;
    if (mapping.nrpages === 0) {
      // mapping->nrpages || (dax_mapping(mapping) && mapping->nrexceptional)
      if (mapping.nrexceptional === 0) return 0;
      if (k.tick()) yield;
      if (!k.isDax(t)) return 0;
    }
    return yield* k.fs.writepages(k, t, start, end, true);
  } finally {
    t.leave();
  }
}

/** filemap_write_and_wait(): the whole file. */
export function* filemap_write_and_wait(k: Kernel, t: Task): Gen<number> {
  return yield* filemap_write_and_wait_range(k, t, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * filemap_fault(): the page-cache page for vmf->pgoff, read in if needed,
 * returned locked (with the fault's reference) in vmf->page.
 */
export function* filemap_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('filemap_fault');
  try {
    if (k.tick()) yield;
    const isize = k.isize();
    if (vmf.pgoff >= Math.ceil(isize / PAGE_SIZE)) return VM_FAULT.SIGBUS;
    const page = yield* find_or_read_page(k, t, vmf.pgoff, true);
    // re-check i_size under the page lock
    if (vmf.pgoff >= Math.ceil(k.inode.i_size / PAGE_SIZE)) {
      unlock_page(page);
      put_page(k, t, page);
      return VM_FAULT.SIGBUS;
    }
    vmf.page = page;
    return VM_FAULT.LOCKED;
  } finally {
    t.leave();
  }
}

/**
 * filemap_map_pages() (mm/filemap.c, 4.13): fault-around. Maps, read-only,
 * every cached page of [start, end] that is uptodate, unlocked (trylock),
 * still the file's and inside i_size, where the VMA has no PTE yet. It
 * skips exceptional entries but not a 4.13 DAX hole page, which is an
 * ordinary page; it takes no file-system lock and never tests IS_DAX.
 */
export function* filemap_map_pages(k: Kernel, t: Task, vmf: Vmf, start: number, end: number): Gen<void> {
  t.enter('filemap_map_pages');
  try {
    const mapping = k.inode.mapping;
    if (mapping.nrpages === 0) return;
    if (k.tick()) yield;
    const vma = vmf.vma;
    for (let i = start; i <= end; i++) {
      const e = mapping.entries.get(i);
      if (!(e instanceof Page) || !e.uptodate || e.locker !== null) continue;
      if (e.mapping !== mapping) continue;
      if (i >= Math.ceil(k.inode.i_size / PAGE_SIZE)) continue;
      if (vma.ptes.has(i)) continue;
      get_page(e);
      alloc_set_pte(vma, i, e, false);
      if (k.trace.enabled) k.trace.add(t, 'fault', F_AROUND, i);
    }
  } finally {
    t.leave();
  }
}

/** The media-or-cache view of the file: what a reader would see (for the final file). */
export function fileContents(k: Kernel): Uint8Array {
  const ip = k.inode;
  const out = new Uint8Array(ip.i_size);
  mediaRead(ip, k.media, out, 0, 0, ip.i_size);
  if (!ip.sDax) {
    for (const e of ip.mapping.entries.values()) {
      if (!(e instanceof Page) || !e.uptodate) continue;
      const s = e.index * PAGE_SIZE;
      if (s >= ip.i_size) continue;
      out.set(e.data.subarray(0, Math.min(PAGE_SIZE, ip.i_size - s)), s);
    }
  }
  return out;
}

export { HOLE };
