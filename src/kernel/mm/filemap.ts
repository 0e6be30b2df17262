import type { Gen } from '../../sched/task.js';
import type { Task } from '../../sched/task.js';
import { DaxEntry, HOLE, Kernel, PAGE_SIZE, Page, VM_FAULT, type Vmf } from '../core.js';
import { lock_page_raw, unlock_page_raw } from '../locks.js';
import { bmapAllocWrite, mediaRead } from '../fs/bmap.js';
import { page_mkclean, unmap_mapping_range } from './memory.js';
import { F_DATA } from '../trace.js';


/** find_get_page(): a page-cache lookup (a preemption point). DAX entries are not pages. */
export function* find_get_page(k: Kernel, index: number): Gen<Page | null> {
  if (k.tick()) yield;
  const e = k.inode.mapping.entries.get(index);
  const page = e instanceof Page ? e : null;
  if (k.observer) k.observer(null, page ? 1 : 0);
  return page;
}

export function* lock_page(k: Kernel, t: Task, page: Page | null): Gen<void> {
  // lock_page() is inline: a NULL page faults in the caller, reading page->compound_head
  const p = k.deref(t, page, 0x20, 'lock_page() on a NULL struct page');
  yield* lock_page_raw(k, t, p, `page ${p.index}`);
}

export function unlock_page(page: Page): void {
  unlock_page_raw(page);
}

/** add_to_page_cache_lru(): a new locked page at index. */
function add_to_page_cache(k: Kernel, t: Task, index: number): Page {
  const mapping = k.inode.mapping;
  const page = new Page(mapping, index);
  page.locker = t;
  mapping.entries.set(index, page);
  mapping.nrpages++;
  return page;
}

export function delete_from_page_cache(k: Kernel, page: Page): void {
  const mapping = k.inode.mapping;
  if (page.mapping !== mapping) return;
  mapping.entries.delete(page.index);
  mapping.nrpages--;
  page.mapping = null;
}

/** ->readpage: fill a page from media (holes and unwritten extents read as zeros). */
function readpage(k: Kernel, page: Page): void {
  mediaRead(k.inode, k.media, page.data, 0, page.index * PAGE_SIZE, PAGE_SIZE);
  page.uptodate = true;
}

/** Find the page at index, reading it in if it is not cached. Returns it locked. */
export function* find_or_read_page(k: Kernel, t: Task, index: number, fill: boolean): Gen<Page> {
  for (;;) {
    let page = yield* find_get_page(k, index);
    if (!page) {
      page = add_to_page_cache(k, t, index);
      if (fill) readpage(k, page);
      return page;
    }
    yield* lock_page(k, t, page);
    if (page.mapping !== k.inode.mapping) {
      // truncated or invalidated while we slept on the lock
      unlock_page(page);
      continue;
    }
    if (!page.uptodate && fill) readpage(k, page);
    return page;
  }
}

/** generic_file_buffered_read(): copy from the page cache; the caller holds the lock it needs. */
export function* generic_file_buffered_read(k: Kernel, t: Task, dst: Uint8Array, dstOff: number, len: number, pos: number): Gen<number> {
  t.enter('generic_file_read_iter');
  const start = pos;
  try {
    let done = 0;
    while (done < len) {
      if (k.tick()) yield;
      const isize = k.isize();
      if (pos >= isize) break;
      const index = Math.floor(pos / PAGE_SIZE);
      const inPage = pos - index * PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - inPage, isize - pos);
      const page = yield* find_or_read_page(k, t, index, true);
      dst.set(page.data.subarray(inPage, inPage + n), dstOff + done);
      unlock_page(page);
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
  t.enter('iomap_file_buffered_write');
  const start = pos;
  try {
    let done = 0;
    while (done < len) {
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
  const p = bmapAllocWrite(ip, k.media, page.index);
  k.media.data.set(page.data, p * PAGE_SIZE);
  page.dirty = false;
}

/**
 * filemap_write_and_wait_range() through ->writepages: for a DAX mapping
 * that is dax_writeback_mapping_range (DAX entries only; page-cache pages
 * are not looked at), otherwise every dirty page in the range.
 */
export function* filemap_write_and_wait_range(k: Kernel, t: Task, start: number, end: number): Gen<number> {
  t.enter('filemap_write_and_wait_range');
  try {
    const mapping = k.inode.mapping;
    if (k.tick()) yield;
    const dax = k.isDax(t); // dax_mapping(mapping) in ->writepages
    const first = Math.floor(start / PAGE_SIZE);
    const last = Math.floor(end / PAGE_SIZE);
    const top = Math.min(last, k.inode.blocks.length);
    for (let i = first; i <= top; i++) {
      const e = mapping.entries.get(i);
      if (!e) continue;
      if (dax) {
        if (e instanceof DaxEntry && e.dirty) {
          if (k.tick()) yield;
          e.dirty = false; // flush CPU caches: nothing to do for data in the model
        } else if (e instanceof Page && e.dirty && k.trace.enabled) {
          k.trace.add(t, 'data', F_DATA, 'wb-skip', i * PAGE_SIZE, PAGE_SIZE);
        }
        continue;
      }
      if (!(e instanceof Page) || !e.dirty) continue;
      yield* lock_page(k, t, e);
      if (e.mapping === mapping && e.dirty) {
        page_mkclean(k, e);
        writepage(k, e);
      }
      unlock_page(e);
    }
    return 0;
  } finally {
    t.leave();
  }
}

export function* filemap_write_and_wait(k: Kernel, t: Task): Gen<number> {
  return yield* filemap_write_and_wait_range(k, t, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * invalidate_inode_pages2(): drop every page and DAX entry; a page that is
 * dirty (or was redirtied) cannot be dropped and makes it fail with EBUSY.
 * Mapped pages are unmapped first; for a DAX mapping every PTE of the file
 * is zapped at the end.
 */
export function* invalidate_inode_pages2(k: Kernel, t: Task): Gen<number> {
  t.enter('invalidate_inode_pages2');
  try {
    const mapping = k.inode.mapping;
    let ret = 0;
    const top = k.inode.blocks.length;
    for (let i = 0; i <= top; i++) {
      const e = mapping.entries.get(i);
      if (!e) continue;
      if (k.tick()) yield;
      if (e instanceof DaxEntry) {
        if (e.dirty) ret = -16; // EBUSY
        else mapping.entries.delete(i);
        continue;
      }
      yield* lock_page(k, t, e);
      if (e.mapping !== mapping) {
        unlock_page(e);
        continue;
      }
      if (e.mapcount > 0) unmap_mapping_range(k, i, 1);
      if (e.dirty) ret = -16;
      else delete_from_page_cache(k, e);
      unlock_page(e);
    }
    if (k.tick()) yield;
    if (k.isDax(t)) unmap_mapping_range(k, 0, Number.MAX_SAFE_INTEGER);
    return ret;
  } finally {
    t.leave();
  }
}

/**
 * truncate_inode_pages_range(): drop pages and DAX entries wholly inside
 * [start, end) and zero the parts of partial pages inside it.
 */
export function truncate_inode_pages_range(k: Kernel, start: number, end: number): void {
  const mapping = k.inode.mapping;
  if (mapping.entries.size === 0) return;
  const top = Math.min(Math.floor((end - 1) / PAGE_SIZE), k.inode.blocks.length);
  for (let i = Math.floor(start / PAGE_SIZE); i <= top; i++) {
    const e = mapping.entries.get(i);
    if (!e) continue;
    const ps = i * PAGE_SIZE;
    const pe = ps + PAGE_SIZE;
    if (pe <= start || ps >= end) continue;
    if (ps >= start && pe <= end) {
      if (e instanceof Page) delete_from_page_cache(k, e);
      else mapping.entries.delete(i);
    } else if (e instanceof Page) {
      e.data.fill(0, Math.max(start, ps) - ps, Math.min(end, pe) - ps);
    }
  }
}

/** truncate_pagecache_range(): unmap then drop [start, end) (byte range). */
export function truncate_pagecache_range(k: Kernel, start: number, end: number): void {
  const first = Math.ceil(start / PAGE_SIZE);
  const last = Math.floor(end / PAGE_SIZE);
  if (last > first) unmap_mapping_range(k, first, last - first);
  // partial pages stay mapped; their contents are zeroed in place
  truncate_inode_pages_range(k, start, end);
}

/** truncate_pagecache(): after i_size went down to newsize. */
export function truncate_pagecache(k: Kernel, newsize: number): void {
  const holebegin = Math.ceil(newsize / PAGE_SIZE);
  unmap_mapping_range(k, holebegin, Number.MAX_SAFE_INTEGER);
  truncate_inode_pages_range(k, newsize, Number.MAX_SAFE_INTEGER);
}

/**
 * filemap_fault(): the page-cache page for vmf->pgoff, read in if needed,
 * returned locked in vmf->page.
 */
export function* filemap_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('filemap_fault');
  try {
    for (;;) {
      if (k.tick()) yield;
      const isize = k.isize();
      if (vmf.pgoff >= Math.ceil(isize / PAGE_SIZE)) return VM_FAULT.SIGBUS;
      const page = yield* find_or_read_page(k, t, vmf.pgoff, true);
      // re-check i_size under the page lock
      if (vmf.pgoff >= Math.ceil(k.inode.i_size / PAGE_SIZE)) {
        unlock_page(page);
        return VM_FAULT.SIGBUS;
      }
      vmf.page = page;
      return VM_FAULT.LOCKED;
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
