import type { Task } from '../../sched/task.js';
import type { Kernel, Page } from '../core.js';

/**
 * Page reference counts (include/linux/mm.h get_page/put_page, mm/swap.c
 * __put_page) and the check made when the last reference goes
 * (mm/page_alloc.c free_pages_check -> bad_page, 4.13): a page freed while
 * it still belongs to a mapping or is still mapped is reported as
 * "BUG: Bad page state", the kernel is tainted and goes on.
 */

/** What a freed page's `data` becomes (zero-length: nothing to read or write). */
const EMPTY = new Uint8Array(0);

/**
 * get_page(). A page whose last reference went is free: taking a reference
 * to it is a use after free (VM_BUG_ON_PAGE(page_ref_count(page) <= 0) with
 * CONFIG_DEBUG_VM), which only a lookup that raced with the freeing could
 * do; the model reports it as a bad page.
 */
export function get_page(page: Page, k?: Kernel, t?: Task): void {
  if (page.count <= 0 && page.mapping === null && k && t) k.badPage(t, 'mm/page_alloc.c', `get_page() on freed page ${page.index}`);
  page.count++;
}

/** put_page(): drop a reference; the last one frees the page, checking it belongs to no mapping any more. */
export function put_page(k: Kernel, t: Task, page: Page): void {
  if (--page.count > 0) return;
  if (page.count < 0) {
    k.badPage(t, 'mm/page_alloc.c', `page ${page.index}: reference count went below zero`);
    page.count = 0;
    return;
  }
  // free_pages_check()
  if (page.mapping !== null) k.badPage(t, 'mm/page_alloc.c', `Bad page state: page ${page.index} freed while it still belongs to a mapping (page dumped because: non-NULL mapping)`);
  else if (page.mapcount !== 0) k.badPage(t, 'mm/page_alloc.c', `Bad page state: page ${page.index} freed while still mapped (page dumped because: nonzero mapcount)`);
  else if (k.freePageData.length < 256 && page.data.length) {
    k.freePageData.push(page.data);
    // the freed page keeps no memory: a stale user reads an empty view, not another page's data
    page.data = EMPTY;
  }
}
