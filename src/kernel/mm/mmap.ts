import type { Gen } from '../../sched/task.js';
import type { Task } from '../../sched/task.js';
import { Kernel, PAGE_SIZE, VM, Vma } from '../core.js';
import { iget, iput } from '../fs/inode.js';
import { zap_vma } from './memory.js';

const F_SETUP = (pgoff: number, n: number, ops: string): string =>
  `->mmap set up the VMA for pages ${pgoff}..${pgoff + n - 1}${ops.startsWith('!') ? ' without VM_MIXEDMAP' : ' with VM_MIXEDMAP'}, vm_ops ${ops.replace(/^!/, '')}`;
const F_LINK = (): string => 'vma_link(): the VMA is now in the file mapping (mapping_mapped() is true)';
const F_UNMAP = (): string => 'munmap: VMA unlinked';


/**
 * mmap_region(): the file system's ->mmap sets vm_ops and flags (from
 * IS_DAX at this moment), and only then is the VMA linked into the file's
 * mapping, where mapping_mapped() and the flip's unmapping can see it. The
 * two steps are separate preemption points.
 */
export function* do_mmap(k: Kernel, t: Task, off: number, len: number, writable: boolean): Gen<Vma> {
  t.enter('do_mmap');
  t.enter('mmap_region');
  try {
    const pgoff = Math.floor(off / PAGE_SIZE);
    const npages = Math.ceil((off - pgoff * PAGE_SIZE + len) / PAGE_SIZE);
    const vma = new Vma(k.inode, pgoff, npages, VM.SHARED | VM.READ | (writable ? VM.WRITE : 0));
    // get_file(): the VMA holds a reference to the file
    yield* iget(k, t);
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
    t.leave();
  }
}

/** munmap(): zap the PTEs, unlink the VMA, drop its file reference. */
export function* do_munmap(k: Kernel, t: Task, vma: Vma): Gen<void> {
  t.enter('do_munmap');
  try {
    if (k.tick()) yield;
    zap_vma(vma);
    k.inode.mapping.i_mmap.delete(vma);
    vma.linked = false;
    if (k.trace.enabled) k.trace.add(t, 'vma', F_UNMAP);
    yield* iput(k, t);
  } finally {
    t.leave();
  }
}
