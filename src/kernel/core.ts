import type { Gen } from '../sched/task.js';
import type { Task } from '../sched/task.js';
import type { Design } from './designs.js';
import type { Trace } from './trace.js';
import { RwSem } from './locks.js';

const F_ISDAX = (v: boolean, fn: string): string => `IS_DAX() read ${v ? 'true' : 'false'} in ${fn}`;
const F_WARN = (where: string, what: string): string => `WARNING at ${where}: ${what}`;

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

/** vm_fault_t bits (4.13 values). */
export const VM_FAULT = {
  OOM: 0x0001,
  SIGBUS: 0x0002,
  MAJOR: 0x0004,
  WRITE: 0x0008,
  HWPOISON: 0x0010,
  SIGSEGV: 0x0040,
  NOPAGE: 0x0100,
  LOCKED: 0x0200,
  RETRY: 0x0400,
  ERROR: 0x0001 | 0x0002 | 0x0040 | 0x0010,
} as const;

/** vm_flags bits the model uses. */
export const VM = {
  READ: 0x1,
  WRITE: 0x2,
  SHARED: 0x8,
  MIXEDMAP: 0x10000000,
  HUGEPAGE: 0x20000000,
} as const;

/** A page-cache page. */
export class Page {
  readonly data = new Uint8Array(PAGE_SIZE);
  uptodate = false;
  dirty = false;
  /** Holder of PG_locked, or null. */
  locker: Task | null = null;
  /** The address_space it belongs to; NULL once truncated or invalidated. */
  mapping: AddressSpace | null;
  /** PTEs mapping it. */
  mapcount = 0;

  constructor(
    mapping: AddressSpace,
    readonly index: number,
  ) {
    this.mapping = mapping;
  }
}

/** A DAX radix-tree entry: the mapping knows the pfn for this index is mapped through DAX. */
export class DaxEntry {
  dirty = false;
  constructor(readonly index: number) {}
}

/** An inode's page cache (i_pages) and its list of VMAs (i_mmap). */
export class AddressSpace {
  readonly entries = new Map<number, Page | DaxEntry>();
  readonly i_mmap = new Set<Vma>();
  nrpages = 0;
  constructor(readonly host: Inode) {}
}

/** A page table entry: a page-cache page or a DAX pfn, read-only or writable. */
export interface Pte {
  page: Page | null;
  /** Physical block for a DAX mapping, -1 for a page. */
  pfn: number;
  writable: boolean;
}

export interface VmOps {
  readonly name: string;
  fault(k: Kernel, t: Task, vmf: Vmf): Gen<number>;
  page_mkwrite?(k: Kernel, t: Task, vmf: Vmf): Gen<number>;
  pfn_mkwrite?(k: Kernel, t: Task, vmf: Vmf): Gen<number>;
}

/** A shared file mapping: flags and vm_ops fixed when mmap ran. */
export class Vma {
  vm_flags: number;
  vm_ops: VmOps | null = null;
  readonly ptes = new Map<number, Pte>();
  /** Linked into the file's i_mmap (mapping_mapped() sees it). */
  linked = false;
  constructor(
    readonly inode: Inode,
    /** First file page mapped. */
    readonly pgoff: number,
    readonly npages: number,
    flags: number,
  ) {
    this.vm_flags = flags;
  }
}

/** struct vm_fault. */
export interface Vmf {
  vma: Vma;
  pgoff: number;
  write: boolean;
  /** NULL until a handler supplies one. */
  page: Page | null;
}

/** Physical media (pmem): 4 KiB blocks, allocated zeroed. */
export class Media {
  data: Uint8Array;
  private readonly free: number[] = [];
  private used = 0;

  constructor(blocks: number) {
    this.data = new Uint8Array(Math.max(1, blocks) * PAGE_SIZE);
  }

  alloc(): number {
    const b = this.free.pop();
    if (b !== undefined) {
      this.data.fill(0, b * PAGE_SIZE, (b + 1) * PAGE_SIZE);
      return b;
    }
    // a block never used before is still zero
    const n = this.used++;
    if ((n + 1) * PAGE_SIZE > this.data.length) {
      const d = new Uint8Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    return n;
  }

  release(b: number): void {
    this.free.push(b);
  }

  block(b: number): Uint8Array {
    return this.data.subarray(b * PAGE_SIZE, (b + 1) * PAGE_SIZE);
  }
}

export const HOLE = -1;

/** The in-core inode: size, flags, locks, block map, page cache. */
export class Inode {
  i_size = 0;
  /** XFS_DIFLAG2_DAX / EXT4_DAX_FL: the on-disk flag. */
  diskDax: boolean;
  /** S_DAX: what IS_DAX() reads. */
  sDax: boolean;
  /** I_DONTCACHE: evict on last iput. */
  dontcache = false;
  /** i_count: open files, VMAs (through vm_file) and other holders. */
  refs = 0;
  /** Not in memory: the next iget loads it from disk. */
  evicted = false;
  /** I_FREEING: being evicted; an iget waits for that to finish, then loads it anew. */
  freeing = false;
  /** File block -> physical block, or HOLE. */
  readonly blocks: Int32Array;
  /** Allocated but unwritten (reads as zeros). */
  readonly unwritten: Uint8Array;
  readonly mapping: AddressSpace;
  readonly iolock: RwSem;
  readonly mmaplock: RwSem;

  constructor(
    readonly ino: number,
    maxBlocks: number,
    dax: boolean,
    lockNames: [string, string],
  ) {
    this.diskDax = dax;
    this.sDax = dax;
    this.blocks = new Int32Array(maxBlocks).fill(HOLE);
    this.unwritten = new Uint8Array(maxBlocks);
    this.mapping = new AddressSpace(this);
    this.iolock = new RwSem(lockNames[0]);
    this.mmaplock = new RwSem(lockNames[1]);
  }
}

function mediaWriteInitial(ip: Inode, media: Media, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length; off += PAGE_SIZE) {
    const b = off / PAGE_SIZE;
    const p = media.alloc();
    ip.blocks[b] = p;
    ip.unwritten[b] = 0;
    media.data.set(bytes.subarray(off, Math.min(off + PAGE_SIZE, bytes.length)), p * PAGE_SIZE);
  }
}

/** Model time: the scheduler's step counter. */
export interface Clock {
  step: number;
  /** Count a preemption point; true when the running task must yield. */
  tick(): boolean;
}

/** What kind of kernel failure stopped the run. */
export type PanicKind = 'oops' | 'bug' | 'warning';

/** A simulated kernel failure: the run stops here with this report. */
export class KernelPanic extends Error {
  constructor(
    readonly kind: PanicKind,
    /** The function the failure is in (the IP). */
    readonly func: string,
    /** The task that hit it. */
    readonly task: Task,
    /** Its kernel frames at the failure, outermost first. */
    readonly frames: string[],
    /** oops: the faulting address; bug/warning: "file:line". */
    readonly where: string,
    readonly what: string,
  ) {
    super(`${kind} in ${func}: ${what}`);
    this.name = 'KernelPanic';
  }
}

/** A WARN_ON that fired (recorded in the log; a failure only with panic_on_warn). */
export interface Warning {
  func: string;
  where: string;
  what: string;
  task: Task;
  frames: string[];
  step: number;
}

/** The file-system flavour: names and the entry points the syscalls use. */
export interface FsType {
  readonly name: 'xfs' | 'ext4';
  readonly lockNames: [string, string];
  read_iter(k: Kernel, t: Task, dst: Uint8Array, dstOff: number, len: number, pos: number, direct: boolean): Gen<number>;
  write_iter(k: Kernel, t: Task, src: Uint8Array, srcOff: number, len: number, pos: number, direct: boolean): Gen<number>;
  mmap(k: Kernel, t: Task, vma: Vma): Gen<number>;
  setattr_size(k: Kernel, t: Task, size: number): Gen<number>;
  fallocate(k: Kernel, t: Task, mode: number, off: number, len: number): Gen<number>;
  remap(k: Kernel, t: Task, kind: RemapKind, off: number, len: number, dest: number): Gen<number>;
  fsync(k: Kernel, t: Task, start: number, end: number): Gen<number>;
  /** FS_IOC_FSSETXATTR with the DAX flag set or cleared. */
  setxattr_dax(k: Kernel, t: Task, dax: boolean): Gen<number>;
}

export type RemapKind = 'copy' | 'clone' | 'dedupe' | 'exchange';

/**
 * A change of the DAX flag as it happens: 'flip' the ioctl changed the
 * on-disk flag (S_DAX with it or not, as the design says: `how` is the
 * design's sDaxUpdate), 'refused' the ioctl left it alone (`how` says why),
 * 'reload' an inode load set S_DAX from the on-disk flag.
 */
export type FlagChangeKind = 'flip' | 'refused' | 'reload';
export type FlagListener = (t: Task, kind: FlagChangeKind, dax: boolean, sdaxBefore: boolean, sdaxAfter: boolean, how: string) => void;

/** Everything the model's paths share: one inode, its media, the design, the log. */
export class Kernel {
  readonly media: Media;
  readonly inode: Inode;
  readonly warnings: Warning[] = [];
  /** Times the flag actually changed on disk. */
  flips = 0;
  /** Told of every flag change (the -d lines, --log-json); null when nobody listens. */
  onFlag: FlagListener | null = null;
  private readonly scratchBufs: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];

  /** The file as it is on disk before the run (-k, -L): written blocks and the size. */
  loadInitial(bytes: Uint8Array): void {
    mediaWriteInitial(this.inode, this.media, bytes);
    this.inode.i_size = bytes.length;
  }

  /** A reusable bounce buffer of at least n bytes (slot 0 or 1), for copies inside one call. */
  scratch(slot: 0 | 1, n: number): Uint8Array {
    if (this.scratchBufs[slot].length < n) this.scratchBufs[slot] = new Uint8Array(Math.max(n, 65536));
    return this.scratchBufs[slot].subarray(0, n);
  }

  constructor(
    readonly fs: FsType,
    readonly design: Design,
    readonly trace: Trace,
    readonly clock: Clock,
    maxFileLen: number,
    initialDax: boolean,
    readonly panicOnWarn: boolean,
  ) {
    const maxBlocks = Math.ceil(maxFileLen / PAGE_SIZE) + 2;
    this.media = new Media(maxBlocks);
    this.inode = new Inode(131, maxBlocks, initialDax, fs.lockNames);
  }

  /**
   * A preemption point: time advances one step; true when the task must
   * yield to the scheduler (another task could run now).
   */
  tick(): boolean {
    return this.clock.tick();
  }

  /**
   * Told of each value a task reads from shared state and acts on (IS_DAX,
   * i_size, whether a page or PTE was there): the explorer folds them into
   * the task's position, since two tasks at the same code point but with
   * different values read will not go on the same way.
   */
  observer: ((t: Task | null, v: number) => void) | null = null;

  /**
   * IS_DAX(inode): a read of S_DAX. Every read is a preemption point, which
   * the caller passes just before it: `if (k.tick()) yield;` then
   * `k.isDax(t)` (a generator per read would cost more than the read).
   */
  isDax(t: Task): boolean {
    const v = this.inode.sDax;
    if (this.observer) this.observer(t, v ? 1 : 0);
    if (this.trace.enabled) this.trace.add(t, 'isdax', F_ISDAX, v, t.stack[t.stack.length - 1] ?? '?');
    return v;
  }

  /** i_size_read(), after the caller's preemption point (as for isDax). */
  isize(): number {
    const v = this.inode.i_size;
    if (this.observer) this.observer(null, v);
    return v;
  }

  /** Dereference a pointer the kernel would: NULL oopses in the current function. */
  deref<T>(t: Task, p: T | null, offset: number, what: string): T {
    if (p !== null) return p;
    const func = t.stack[t.stack.length - 1] ?? 'unknown';
    throw new KernelPanic('oops', func, t, t.stack.slice(), offset.toString(16).padStart(16, '0'), what);
  }

  /** BUG_ON(cond) at file:line in the current function. */
  BUG_ON(t: Task, cond: boolean, where: string, what: string): void {
    if (!cond) return;
    const func = t.stack[t.stack.length - 1] ?? 'unknown';
    throw new KernelPanic('bug', func, t, t.stack.slice(), where, what);
  }

  /** WARN_ON_ONCE(cond): logged; with panic_on_warn the run stops. Returns cond. */
  WARN_ON_ONCE(t: Task, cond: boolean, where: string, what: string): boolean {
    if (!cond) return false;
    const func = t.stack[t.stack.length - 1] ?? 'unknown';
    if (this.panicOnWarn) throw new KernelPanic('warning', func, t, t.stack.slice(), where, what);
    if (!this.warnings.some((w) => w.where === where)) {
      this.warnings.push({ func, where, what, task: t, frames: t.stack.slice(), step: this.clock.step });
      if (this.trace.enabled) this.trace.add(t, 'note', F_WARN, where, what);
    }
    return true;
  }
}
