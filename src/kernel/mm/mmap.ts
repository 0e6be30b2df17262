import type { Task } from '../../sched/task.js';
import { Kernel, PAGE_SIZE, PMD_PAGES, VM, Vma, type File, type Gen } from '../core.js';
import { fput, get_file } from '../fs/file_table.js';
import { zap_vma } from './memory.js';
import { down_quiet, down_write, up_quiet, up_write } from '../locks.js';

const F_SETUP = (pgoff: number, n: number, ops: string): string =>
  `->mmap set up the VMA for pages ${pgoff}..${pgoff + n - 1}${ops.startsWith('!') ? ' without VM_MIXEDMAP' : ' with VM_MIXEDMAP'}, vm_ops ${ops.replace(/^!/, '')}`;
const F_LINK = (): string => 'vma_link(): the VMA is now in the file mapping (mapping_mapped() is true)';
const F_UNMAP = (): string => 'munmap: VMA unlinked';

/** The top of the mmap area, as a page number (a fixed, unaligned address: mmap is top-down). */
const MMAP_TOP = 0x7f5d9c9a8;

/**
 * get_unmapped_area() through thp_get_unmapped_area() (XFS and ext4,
 * 4.13): for a DAX inode (IS_DAX at this moment) the address is aligned so
 * that file PMDs line up with virtual PMDs; otherwise the usual top-down
 * placement.
 */
function* get_unmapped_area(k: Kernel, t: Task, pgoff: number, npages: number): Gen<number> {
  t.enter('thp_get_unmapped_area');
  try {
    if (k.tick()) yield;
    const top = MMAP_TOP - npages;
    if (!k.isDax(t)) return top;
    const base = Math.floor((top - PMD_PAGES) / PMD_PAGES) * PMD_PAGES;
    return base + (pgoff % PMD_PAGES);
  } finally {
    t.leave();
  }
}

/**
 * do_mmap() -> mmap_region(): the VMA takes a reference to the file
 * (vm_file), the file system's ->mmap sets vm_ops and flags (from IS_DAX
 * at this moment), and only then is the VMA linked into the file's
 * mapping, where mapping_mapped() and the flip's unmapping can see it. The
 * two steps are separate preemption points.
 */
export function* do_mmap(k: Kernel, t: Task, file: File, off: number, len: number, writable: boolean): Gen<Vma> {
  yield* down_quiet(k, t, k.mmapSem, true); // vm_mmap_pgoff()
  t.enter('do_mmap');
  try {
    const pgoff = Math.floor(off / PAGE_SIZE);
    const npages = Math.ceil((off - pgoff * PAGE_SIZE + len) / PAGE_SIZE);
    const vstart = yield* get_unmapped_area(k, t, pgoff, npages);
    t.enter('mmap_region');
    try {
      const vma = new Vma(k.inode, pgoff, npages, VM.SHARED | VM.READ | (writable ? VM.WRITE : 0));
      vma.vstart = vstart;
      get_file(file);
      vma.file = file;
      t.enter('call_mmap');
      yield* k.fs.mmap(k, t, vma);
      t.leave();
      if (k.trace.enabled) k.trace.add(t, 'vma', F_SETUP, vma.pgoff, vma.npages, vma.vm_flags & VM.MIXEDMAP ? vma.vm_ops?.name ?? '' : `!${vma.vm_ops?.name ?? ''}`);
      if (k.tick()) yield; // between ->mmap and vma_link()
      k.inode.mapping.i_mmap.add(vma);
      vma.linked = true;
      if (k.trace.enabled) k.trace.add(t, 'vma', F_LINK);
      return vma;
    } finally {
      t.leave();
    }
  } finally {
    t.leave();
    up_quiet(t, k.mmapSem, true);
  }
}

/** munmap(): zap the PTEs, unlink the VMA, drop its file reference. */
export function* do_munmap(k: Kernel, t: Task, vma: Vma): Gen<void> {
  yield* down_quiet(k, t, k.mmapSem, true); // vm_munmap()
  t.enter('do_munmap');
  try {
    if (k.tick()) yield;
    zap_vma(k, t, vma);
    k.inode.mapping.i_mmap.delete(vma);
    vma.linked = false;
    if (k.trace.enabled) k.trace.add(t, 'vma', F_UNMAP);
    const f = vma.file;
    vma.file = null;
    up_quiet(t, k.mmapSem, true); // the file reference goes after mmap_sem (remove_vma() after vm_munmap's up_write)
    if (f) yield* fput(k, t, f);
  } finally {
    if (k.mmapSem.writer === t) up_quiet(t, k.mmapSem, true);
    t.leave();
  }
}

const F_UPDATE = (pgoff: number, n: number, dax: boolean): string => `VMA of pages ${pgoff}..${pgoff + n - 1} updated for ${dax ? 'DAX: VM_MIXEDMAP' : 'the page cache: no VM_MIXEDMAP'}`;

/**
 * Hypothetical, the updateVmas design knob (no release did it): after the
 * flip changed S_DAX, give each VMA linked into the file's mapping what
 * ->mmap would give it now, under its mm's mmap_sem for write (vm_flags
 * change only under it, as mprotect_fixup's do in mm/mprotect.c, 4.13).
 */
export function* dax_update_vmas(k: Kernel, t: Task): Gen<void> {
  t.enter('dax_update_vmas');
  try {
    for (const vma of [...k.inode.mapping.i_mmap]) {
      yield* down_write(k, t, k.mmapSem);
      if (vma.linked) {
        k.fs.vmaMode(k, vma, k.inode.sDax);
        if (k.trace.enabled) k.trace.add(t, 'vma', F_UPDATE, vma.pgoff, vma.npages, k.inode.sDax);
      }
      yield* up_write(k, t, k.mmapSem);
    }
  } finally {
    t.leave();
  }
}
