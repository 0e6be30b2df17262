import type { Task } from '../../sched/task.js';
import { HOLE, Kernel, PAGE_SIZE, Page, VM_FAULT, type Gen, type Vmf } from '../core.js';
import { find_or_read_page, lock_page, unlock_page } from '../mm/filemap.js';
import { put_page } from '../mm/page_alloc.js';
import { mediaZero } from './bmap.js';
import { F_DATA } from '../trace.js';

const F_GONE = (index: number): string => `page ${index} belongs to no mapping any more (truncated meanwhile): the fault retries`;

/**
 * iomap_page_mkwrite() (fs/iomap.c, 4.13): make vmf->page writable. It
 * locks the page first thing (a NULL vmf->page oopses there, as in the
 * seed), checks the page still belongs to the file's mapping and lies
 * inside i_size (a page that belongs to no mapping any more: -EFAULT, the
 * access retries), and dirties it. Block allocation is delayed (delalloc)
 * until writeback in the model.
 */
export function* iomap_page_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('iomap_page_mkwrite');
  try {
    const page = vmf.page;
    yield* lock_page(k, t, page);
    const p = page as Page;
    if (k.tick()) yield;
    const size = k.isize();
    if (p.mapping !== k.inode.mapping || p.index * PAGE_SIZE > size) {
      // raced with truncate or invalidation: -EFAULT -> VM_FAULT_NOPAGE, the access retries
      if (k.trace.enabled) k.trace.add(t, 'fault', F_GONE, p.index);
      unlock_page(p);
      return VM_FAULT.NOPAGE;
    }
    p.dirty = true;
    return VM_FAULT.LOCKED;
  } finally {
    t.leave();
  }
}

/**
 * iomap_zero_range() / dax_zero_page_range(): zero [from, to) of the file
 * where it has data, through the page cache (dirtying pages) or, for DAX,
 * on media.
 */
export function* zero_file_range(k: Kernel, t: Task, from: number, to: number, dax: boolean): Gen<void> {
  if (to <= from) return;
  t.enter(dax ? 'dax_zero_page_range' : 'iomap_zero_range');
  try {
    const ip = k.inode;
    if (dax) {
      mediaZero(ip, k.media, from, to);
      if (k.trace.enabled) k.trace.add(t, 'data', F_DATA, 'zero-dax', from, to - from);
      return;
    }
    for (let pos = from; pos < to; ) {
      const index = Math.floor(pos / PAGE_SIZE);
      const inPage = pos - index * PAGE_SIZE;
      const n = Math.min(to - pos, PAGE_SIZE - inPage);
      if (k.tick()) yield;
      const cached = ip.mapping.entries.get(index) instanceof Page;
      const b = ip.blocks[index];
      if (cached || (b !== HOLE && !ip.unwritten[index])) {
        const page = yield* find_or_read_page(k, t, index, true);
        page.data.fill(0, inPage, inPage + n);
        page.dirty = true;
        unlock_page(page);
        put_page(k, t, page);
      }
      pos += n;
    }
    if (k.trace.enabled) k.trace.add(t, 'data', F_DATA, 'zero-cache', from, to - from);
  } finally {
    t.leave();
  }
}
