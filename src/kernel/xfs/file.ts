import type { Task } from '../../sched/task.js';
import { Kernel, PAGE_SIZE, VM, VM_FAULT, type FsType, type Gen, type Vma, type VmOps, type Vmf } from '../core.js';
import { V4_14, V5_8 } from '../designs.js';
import { dax_iomap_fault, dax_pfn_mkwrite } from '../fs/dax.js';
import {
  IOLOCK,
  MMAPLOCK,
  buffered_read,
  dax_read,
  dio_read,
  fallocate,
  fs_lock,
  fs_unlock,
  fsync,
  remap,
  setattr_size,
  write_iter,
  writepages,
  type FsNames,
} from '../fs/generic.js';
import { iomap_page_mkwrite } from '../fs/iomap.js';
import { filemap_fault } from '../mm/filemap.js';
import { xfs_ioc_fsgetxattr_dax, xfs_ioctl_setattr } from './ioctl.js';
import { xfs_diflags_to_iflags } from './iops.js';

/**
 * fs/xfs/xfs_file.c by release. 4.13: separate fault handlers, with the
 * write-fault shortcut on an unlocked IS_DAX test in xfs_filemap_fault;
 * 4.14 folds them into __xfs_filemap_fault (the unlocked test remains but
 * S_DAX no longer changes at runtime) and ->pfn_mkwrite becomes a fault;
 * 5.8 drops VM_MIXEDMAP from DAX mappings.
 */

export const N: FsNames = {
  read_iter: 'xfs_file_read_iter',
  dax_read: 'xfs_file_dax_read',
  buffered_read: 'xfs_file_buffered_aio_read',
  dio_read: 'xfs_file_dio_aio_read',
  write_iter: 'xfs_file_write_iter',
  dax_write: 'xfs_file_dax_write',
  buffered_write: 'xfs_file_buffered_aio_write',
  dio_write: 'xfs_file_dio_aio_write',
  setattr: 'xfs_vn_setattr',
  setattr_size: 'xfs_setattr_size',
  fallocate: 'xfs_file_fallocate',
  remap: 'xfs_file_copy_range',
  fsync: 'xfs_file_fsync',
  writepages: 'xfs_vm_writepages',
  iolock: 'xfs_ilock',
  mmaplock: 'xfs_ilock',
};

/**
 * xfs_file_read_iter() (4.13-5.11): IS_DAX tested with no lock held, then
 * IOLOCK shared in the path chosen (xfs_file_dax_read, the DIO read or the
 * buffered read), nothing re-tested; with readIsDax "locked" the test is
 * made under IOLOCK.
 */
function* xfs_file_read_iter(k: Kernel, t: Task, dst: Uint8Array, dstOff: number, len: number, pos: number, direct: boolean): Gen<number> {
  t.enter(N.read_iter);
  try {
    let dax = false;
    const locked = k.design.readIsDax === 'locked';
    if (!locked) {
      if (k.tick()) yield;
      dax = k.isDax(t);
    }
    yield* fs_lock(k, N, t, IOLOCK, false);
    if (locked) {
      if (k.tick()) yield;
      dax = k.isDax(t);
    }
    const ret = dax
      ? yield* dax_read(k, N, t, dst, dstOff, len, pos)
      : direct
        ? yield* dio_read(k, N, t, dst, dstOff, len, pos)
        : yield* buffered_read(k, N, t, dst, dstOff, len, pos);
    yield* fs_unlock(k, t, IOLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

// ---- 4.13 fault handlers --------------------------------------------------

/**
 * xfs_filemap_page_mkwrite() (4.13): sb_start_pagefault, file_update_time,
 * MMAPLOCK shared, then IS_DAX picks dax_iomap_fault or iomap_page_mkwrite
 * (which uses vmf->page).
 */
function* xfs_filemap_page_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('xfs_filemap_page_mkwrite');
  try {
    if (k.tick()) yield; // sb_start_pagefault(), file_update_time()
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    if (k.tick()) yield;
    const ret = k.isDax(t) ? yield* dax_iomap_fault(k, t, vmf) : yield* iomap_page_mkwrite(k, t, vmf);
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

/**
 * xfs_filemap_fault() (xfs_file.c:1048, 4.13): "DAX can shortcut the
 * normal fault path on write faults" (line 1057) -- a write fault on a DAX
 * inode (IS_DAX tested with no lock held) goes straight to
 * xfs_filemap_page_mkwrite with vmf->page still NULL. Otherwise MMAPLOCK
 * shared, and IS_DAX picks the DAX or page-cache fault. With
 * faultWriteIsDax "locked" the shortcut is gone: the test is made under MMAPLOCK.
 */
function* xfs_filemap_fault_413(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('xfs_filemap_fault');
  try {
    if (vmf.write && k.design.faultWriteIsDax === 'unlocked') {
      if (k.tick()) yield;
      if (k.isDax(t)) return yield* xfs_filemap_page_mkwrite(k, t, vmf);
    }
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    if (k.tick()) yield;
    const ret = k.isDax(t) ? yield* dax_iomap_fault(k, t, vmf) : yield* filemap_fault(k, t, vmf);
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

/**
 * xfs_filemap_huge_fault() (4.13): VM_FAULT_FALLBACK unless IS_DAX (tested
 * with no lock held), then MMAPLOCK shared and dax_iomap_fault with no
 * second test. With hugeFaultIsDax "locked" the test is made under
 * MMAPLOCK.
 */
function* xfs_filemap_huge_fault_413(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('xfs_filemap_huge_fault');
  try {
    const locked = k.design.hugeFaultIsDax === 'locked';
    if (!locked) {
      if (k.tick()) yield;
      if (!k.isDax(t)) return VM_FAULT.FALLBACK;
    }
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    let ret: number = VM_FAULT.FALLBACK;
    let dax = true;
    if (locked) {
      if (k.tick()) yield;
      dax = k.isDax(t);
    }
    if (dax) ret = yield* dax_iomap_fault(k, t, vmf);
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

/** xfs_filemap_pfn_mkwrite() (4.13): MMAPLOCK shared, SIGBUS past EOF, dax_pfn_mkwrite if IS_DAX. */
function* xfs_filemap_pfn_mkwrite_413(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('xfs_filemap_pfn_mkwrite');
  try {
    if (k.tick()) yield; // sb_start_pagefault(), file_update_time()
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    if (k.tick()) yield;
    const size = Math.ceil(k.isize() / PAGE_SIZE);
    let ret: number = VM_FAULT.NOPAGE;
    if (vmf.pgoff >= size) ret = VM_FAULT.SIGBUS;
    else {
      if (k.tick()) yield;
      if (k.isDax(t)) ret = yield* dax_pfn_mkwrite(k, t, vmf);
    }
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

const xfs_file_vm_ops_413: VmOps = {
  name: 'xfs_file_vm_ops',
  fault: xfs_filemap_fault_413,
  huge_fault: xfs_filemap_huge_fault_413,
  map_pages: true,
  page_mkwrite: xfs_filemap_page_mkwrite,
  pfn_mkwrite: xfs_filemap_pfn_mkwrite_413,
};

// ---- 4.14 and later: __xfs_filemap_fault ------------------------------------

/**
 * __xfs_filemap_fault() (4.14-5.11): for a write, sb_start_pagefault and
 * file_update_time; MMAPLOCK shared; IS_DAX -> dax_iomap_fault, else a
 * write -> iomap_page_mkwrite and a read -> filemap_fault.
 */
function* __xfs_filemap_fault(k: Kernel, t: Task, vmf: Vmf, writeFault: boolean): Gen<number> {
  t.enter('__xfs_filemap_fault');
  try {
    if (writeFault && k.tick()) yield; // sb_start_pagefault(), file_update_time()
    yield* fs_lock(k, N, t, MMAPLOCK, false);
    if (k.tick()) yield;
    let ret: number;
    if (k.isDax(t)) ret = yield* dax_iomap_fault(k, t, vmf);
    else ret = writeFault ? yield* iomap_page_mkwrite(k, t, vmf) : yield* filemap_fault(k, t, vmf);
    yield* fs_unlock(k, t, MMAPLOCK, false);
    return ret;
  } finally {
    t.leave();
  }
}

/** xfs_filemap_fault() (4.14+): the shortcut survives as the write flag: IS_DAX (read with no lock held) && FAULT_FLAG_WRITE. */
function* xfs_filemap_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('xfs_filemap_fault');
  try {
    if (k.tick()) yield;
    const write = k.isDax(t) && vmf.write;
    return yield* __xfs_filemap_fault(k, t, vmf, write);
  } finally {
    t.leave();
  }
}

/** xfs_filemap_huge_fault() (4.14+): VM_FAULT_FALLBACK unless IS_DAX, then __xfs_filemap_fault. */
function* xfs_filemap_huge_fault(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('xfs_filemap_huge_fault');
  try {
    if (k.tick()) yield;
    if (!k.isDax(t)) return VM_FAULT.FALLBACK;
    return yield* __xfs_filemap_fault(k, t, vmf, vmf.write);
  } finally {
    t.leave();
  }
}

/** xfs_filemap_page_mkwrite() (4.14+). */
function* xfs_filemap_page_mkwrite_414(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('xfs_filemap_page_mkwrite');
  try {
    return yield* __xfs_filemap_fault(k, t, vmf, true);
  } finally {
    t.leave();
  }
}

/** xfs_filemap_pfn_mkwrite() (4.14+): "handle it as a standard write fault". */
function* xfs_filemap_pfn_mkwrite(k: Kernel, t: Task, vmf: Vmf): Gen<number> {
  t.enter('xfs_filemap_pfn_mkwrite');
  try {
    return yield* __xfs_filemap_fault(k, t, vmf, true);
  } finally {
    t.leave();
  }
}

const xfs_file_vm_ops_414: VmOps = {
  name: 'xfs_file_vm_ops',
  fault: xfs_filemap_fault,
  huge_fault: xfs_filemap_huge_fault,
  map_pages: true,
  page_mkwrite: xfs_filemap_page_mkwrite_414,
  pfn_mkwrite: xfs_filemap_pfn_mkwrite,
};

/** The vm_ops of the release: one table for DAX and page-cache inodes alike. */
export function xfs_file_vm_ops(k: Kernel): VmOps {
  return k.v >= V4_14 ? xfs_file_vm_ops_414 : xfs_file_vm_ops_413;
}

/**
 * xfs_file_mmap(): one set of vm_ops; a DAX inode adds VM_MIXEDMAP |
 * VM_HUGEPAGE (4.13, 4.14), VM_HUGEPAGE alone from 4.15 (5.8).
 */
function* xfs_file_mmap(k: Kernel, t: Task, vma: Vma): Gen<number> {
  t.enter('xfs_file_mmap');
  try {
    vma.vm_ops = xfs_file_vm_ops(k);
    if (k.tick()) yield;
    if (k.isDax(t)) vma.vm_flags |= k.v >= V5_8 ? VM.HUGEPAGE : VM.MIXEDMAP | VM.HUGEPAGE;
    return 0;
  } finally {
    t.leave();
  }
}

/** xfs_file_mmap()'s settings for a DAX or non-DAX inode, applied to an existing VMA (the updateVmas design knob). */
function xfs_vma_mode(k: Kernel, vma: Vma, dax: boolean): void {
  const bits = k.v >= V5_8 ? VM.HUGEPAGE : VM.MIXEDMAP | VM.HUGEPAGE;
  vma.vm_ops = xfs_file_vm_ops(k);
  vma.vm_flags = dax ? vma.vm_flags | bits : vma.vm_flags & ~bits;
}

export const XFS: FsType = {
  name: 'xfs',
  lockNames: ['IOLOCK', 'MMAPLOCK'],
  read_iter: xfs_file_read_iter,
  write_iter: (k, t, src, srcOff, len, pos, direct) => write_iter(k, N, t, src, srcOff, len, pos, direct),
  mmap: xfs_file_mmap,
  vmaMode: xfs_vma_mode,
  setattr_size: (k, t, size) => setattr_size(k, N, t, size),
  fallocate: (k, t, mode, off, len) => fallocate(k, N, t, mode, off, len),
  remap: (k, t, kind, off, len, dest) => remap(k, N, t, kind, off, len, dest),
  fsync: (k, t, start, end) => fsync(k, N, t, start, end),
  writepages: (k, t, start, end, sync) => writepages(k, N, t, start, end, sync),
  setxattr_dax: xfs_ioctl_setattr,
  chattr: xfs_ioctl_setattr,
  chattrWantsDax: xfs_ioc_fsgetxattr_dax,
  loadDax: xfs_diflags_to_iflags,
};
