import type { Task } from '../../sched/task.js';
import type { Kernel, Page } from '../core.js';

/**
 * Page reference counts (include/linux/mm.h get_page/put_page, mm/swap.c
 * __put_page) and the check made when the last reference goes
 * (mm/page_alloc.c free_pages_check -> bad_page, 4.13): a page freed while
 * it still belongs to a mapping or is still mapped is reported as
 * "BUG: Bad page state", the kernel is tainted and goes on.
 */

/** get_page(). */
export function get_page(page: Page): void {
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
}
