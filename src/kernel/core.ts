import type { Gen } from '../sched/task.js';
import type { Task } from '../sched/task.js';
import { V5_8, versionNumber, type Design } from './designs.js';
import type { Trace } from './trace.js';
import { RwSem, type AccessSink } from './locks.js';

const F_ISDAX = (v: boolean, fn: string): string => `IS_DAX() read ${v ? 'true' : 'false'} in ${fn}`;
const F_WARN = (where: string, what: string): string => `WARNING at ${where}: ${what}`;

export type { Gen } from '../sched/task.js';

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
/** Pages under one PMD (2 MiB). */
export const PMD_PAGES = 512;

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
  FALLBACK: 0x0800,
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

/** A page-cache page (struct page of a file). */
export class Page {
  /** The page's 4 KiB (zeroed when the page is allocated; handed back to the allocator when the page is freed). */
  data: Uint8Array;
  uptodate = false;
  dirty = false;
  /** Holder of PG_locked, or null. */
  locker: Task | null = null;
  /** The address_space it belongs to; NULL once truncated or invalidated. */
  mapping: AddressSpace | null;
  /** PTEs mapping it (page_mapcount). */
  mapcount = 0;
  /**
   * page_count(): the page cache's reference, one per PTE, and those a task
   * holds across a preemption point (a lookup, a locked page in a fault).
   * A page freed with a mapping or a mapcount is a "Bad page state".
   */
  count = 0;

  constructor(
    mapping: AddressSpace,
    readonly index: number,
    data?: Uint8Array,
  ) {
    this.mapping = mapping;
    this.data = data ?? new Uint8Array(PAGE_SIZE);
  }
}

/**
 * What a DAX radix-tree (exceptional) entry stands for: `empty` the locked
 * placeholder a fault inserts first (RADIX_DAX_EMPTY), `pte`/`pmd` a
 * mapped block (or 512 of them), `zero` the 4.14 zero-page entry
 * (RADIX_DAX_ZERO_PAGE), `hzp` the PMD huge zero page (RADIX_DAX_HZP).
 */
export type DaxKind = 'empty' | 'pte' | 'zero' | 'pmd' | 'hzp';

/**
 * A DAX radix-tree entry. A PMD entry covers 512 indices: the same object
 * sits in every slot of its range, as a multi-order radix entry answers a
 * lookup at any index in it.
 */
export class DaxEntry {
  /** PAGECACHE_TAG_DIRTY. */
  dirty = false;
  /** RADIX_DAX_ENTRY_LOCK: the task holding the entry locked, or null. */
  locker: Task | null = null;
  constructor(
    /** First index covered. */
    readonly index: number,
    /** 0, or 9 for a PMD entry. */
    readonly order: number,
    public kind: DaxKind,
    /** First physical block (the sector), -1 when none. */
    public pfn: number,
  ) {}
}

/** An inode's page cache (i_pages) and its list of VMAs (i_mmap). */
export class AddressSpace {
  readonly entries = new Map<number, Page | DaxEntry>();
  readonly i_mmap = new Set<Vma>();
  nrpages = 0;
  /** Exceptional (DAX) entries; a PMD entry counts once. */
  nrexceptional = 0;
  /** How the model makes this file's pages, DAX entries and PTEs (a model artefact, no kernel field). */
  objects: ModelObjects = PLAIN_OBJECTS;
  constructor(readonly host: Inode) {}
}

/**
 * How the model makes the objects it makes by the thousand: page-cache
 * pages, DAX entries, PTEs. Plainly, or, under explore's access recording,
 * as objects whose fields report their accesses once they are instrumented
 * (kernel/access.ts), made so from the start because changing a plain
 * object's fields into accessors costs far more than making one.
 */
export interface ModelObjects {
  page(mapping: AddressSpace, index: number, data?: Uint8Array): Page;
  daxEntry(index: number, order: number, kind: DaxKind, pfn: number): DaxEntry;
  pte(page: Page | null, pfn: number, writable: boolean, huge: boolean): Pte;
}

export const PLAIN_OBJECTS: ModelObjects = {
  page: (mapping, index, data) => new Page(mapping, index, data),
  daxEntry: (index, order, kind, pfn) => new DaxEntry(index, order, kind, pfn),
  pte: (page, pfn, writable, huge) => ({ page, pfn, writable, huge }),
};

/** A page table entry: a page-cache page or a DAX pfn, read-only or writable. */
export interface Pte {
  page: Page | null;
  /** Physical block for a DAX mapping (ZERO_PFN for the zero page), -1 for a page. */
  pfn: number;
  writable: boolean;
  /** Part of a huge PMD mapping (all 512 PTEs of it are one PMD). */
  huge: boolean;
}

/** The shared zero page's pfn: what a 4.14 DAX read fault on a hole maps. */
export const ZERO_PFN = -2;
/** The huge zero page's pfn: a PMD read fault on a hole. */
export const HUGE_ZERO_PFN = -3;

export interface VmOps {
  readonly name: string;
  fault(k: Kernel, t: Task, vmf: Vmf): Gen<number>;
  page_mkwrite?(k: Kernel, t: Task, vmf: Vmf): Gen<number>;
  pfn_mkwrite?(k: Kernel, t: Task, vmf: Vmf): Gen<number>;
  /** ->huge_fault(vmf, PE_SIZE_PMD). */
  huge_fault?(k: Kernel, t: Task, vmf: Vmf): Gen<number>;
  /** `.map_pages = filemap_map_pages`: fault-around maps cached pages. */
  readonly map_pages?: boolean;
}

/** A shared file mapping: flags and vm_ops fixed when mmap ran. */
export class Vma {
  vm_flags: number;
  vm_ops: VmOps | null = null;
  readonly ptes = new Map<number, Pte>();
  /** Linked into the file's i_mmap (mapping_mapped() sees it). */
  linked = false;
  /**
   * Virtual page number of the first mapped page (get_unmapped_area: a DAX
   * file's mapping is aligned so that PMDs line up with the file).
   */
  vstart = 0;
  /** 2 MiB virtual regions whose PMD points to a page table (no huge mapping possible there any more). */
  readonly pteTables = new Set<number>();
  /** The struct file the VMA holds (vm_file). */
  file: File | null = null;
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
  /** A PMD-sized fault (PE_SIZE_PMD). */
  pmd: boolean;
}

/** Physical media (pmem): 4 KiB blocks, allocated zeroed. */
export class Media {
  data: Uint8Array;
  private readonly free: number[] = [];
  private used = 0;

  constructor(blocks: number) {
    this.data = new Uint8Array(Math.max(1, blocks) * PAGE_SIZE);
  }

  private grow(blocks: number): void {
    if (blocks * PAGE_SIZE <= this.data.length) return;
    let n = this.data.length * 2;
    while (n < blocks * PAGE_SIZE) n *= 2;
    const d = new Uint8Array(n);
    d.set(this.data);
    this.data = d;
  }

  alloc(): number {
    const b = this.free.pop();
    if (b !== undefined) {
      this.data.fill(0, b * PAGE_SIZE, (b + 1) * PAGE_SIZE);
      return b;
    }
    // a block never used before is still zero
    const n = this.used++;
    this.grow(n + 1);
    return n;
  }

  /** n contiguous zeroed blocks starting at a multiple of n (a 2 MiB-aligned extent for a PMD). */
  allocAligned(n: number): number {
    const start = Math.ceil(this.used / n) * n;
    for (let b = this.used; b < start; b++) this.free.push(b);
    this.used = start + n;
    this.grow(this.used);
    return start;
  }

  release(b: number): void {
    this.free.push(b);
  }

  block(b: number): Uint8Array {
    return this.data.subarray(b * PAGE_SIZE, (b + 1) * PAGE_SIZE);
  }
}

export const HOLE = -1;

/** The in-core inode: size, flags, state, locks, block map, page cache. */
export class Inode {
  i_size = 0;
  /** XFS_DIFLAG2_DAX / EXT4_DAX_FL: the on-disk flag. */
  diskDax: boolean;
  /** EXT4_INODE_JOURNAL_DATA (chattr +j): data journalling, which excludes DAX on ext4. */
  journalData = false;
  /** S_DAX: what IS_DAX() reads. */
  sDax = false;
  /** I_DONTCACHE: evict on last iput. */
  dontcache = false;
  /** i_count: the dentry's reference and whatever else holds the inode for a moment. */
  refs = 0;
  /** Not in memory: the next iget loads it from disk. */
  evicted = true;
  /** I_FREEING: being evicted; an iget waits for that to finish, then loads it anew. */
  freeing = false;
  /** I_WILL_FREE: iput_final is writing it back before evicting it. */
  willFree = false;
  /** I_SYNC: writeback of this inode is in progress (evict waits for it). */
  sync = false;
  /** On the inode LRU: unused but cached (i_count 0, not evicted). */
  onLru = false;
  /** Times the inode was loaded from disk. */
  loads = 0;
  /** File block -> physical block, or HOLE. */
  readonly blocks: Int32Array;
  /** How many blocks the file can have: blocks' length (fixed; reading it reads no mapping). */
  readonly nblocks: number;
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
    this.nblocks = maxBlocks;
    this.blocks = new Int32Array(maxBlocks).fill(HOLE);
    this.unwritten = new Uint8Array(maxBlocks);
    this.mapping = new AddressSpace(this);
    this.iolock = new RwSem(lockNames[0]);
    this.mmaplock = new RwSem(lockNames[1]);
  }
}

/**
 * The test file's dentry (struct dentry): its reference count (open files)
 * and the dcache flags that decide whether the last dput keeps it.
 */
export class Dentry {
  /** d_lockref.count. */
  count = 0;
  /** DCACHE_LRU_LIST: on the dentry LRU. */
  lru = false;
  /** DCACHE_REFERENCED: used again since it went on the LRU. */
  referenced = false;
  /** DCACHE_DONTCACHE (5.8+): kill it on the last dput. */
  dontcache = false;
}

/** An open file (struct file): the fd's reference and each VMA's. */
export class File {
  f_count = 1;
  constructor(readonly dentry: Dentry) {}
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

// where the model reports its accesses (explore's recorder): with the lock paths, which report theirs
export type { AccessSink } from './locks.js';

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

/** A WARN_ON that fired, or a "BUG: Bad page ..." report (recorded in the log; they do not stop the kernel). */
export interface Warning {
  func: string;
  where: string;
  what: string;
  task: Task;
  frames: string[];
  step: number;
  /** 'warn': a WARNING splat (taint W); 'bad page': mm's bad page report (taint B). */
  kind?: 'warn' | 'bad page';
}

/** The file-system flavour: names and the entry points the syscalls use. */
export interface FsType {
  readonly name: 'xfs' | 'ext4';
  readonly lockNames: [string, string];
  read_iter(k: Kernel, t: Task, dst: Uint8Array, dstOff: number, len: number, pos: number, direct: boolean): Gen<number>;
  write_iter(k: Kernel, t: Task, src: Uint8Array, srcOff: number, len: number, pos: number, direct: boolean): Gen<number>;
  mmap(k: Kernel, t: Task, vma: Vma): Gen<number>;
  /** What ->mmap would give a VMA of an inode that is (or is not) DAX: its vm_ops and VM_MIXEDMAP/VM_HUGEPAGE (a design's VMA update uses it). */
  vmaMode(k: Kernel, vma: Vma, dax: boolean): void;
  setattr_size(k: Kernel, t: Task, size: number): Gen<number>;
  fallocate(k: Kernel, t: Task, mode: number, off: number, len: number): Gen<number>;
  remap(k: Kernel, t: Task, kind: RemapKind, off: number, len: number, dest: number): Gen<number>;
  fsync(k: Kernel, t: Task, start: number, end: number): Gen<number>;
  /** ->writepages: write back [start, end] of the mapping (DAX: flush its entries). */
  writepages(k: Kernel, t: Task, start: number, end: number, sync: boolean): Gen<number>;
  /** FS_IOC_FSSETXATTR with FS_XFLAG_DAX set or cleared (-EOPNOTSUPP where the file system has no such flag). */
  setxattr_dax(k: Kernel, t: Task, dax: boolean): Gen<number>;
  /**
   * The flipper's chattr: the flag this file system and release switch S_DAX
   * with (chattr +x/-x; on ext4 before 5.8, chattr -j/+j), set so that the
   * file would be DAX (`dax` true) or not.
   */
  chattr(k: Kernel, t: Task, dax: boolean): Gen<number>;
  /** What the flipper's FS_IOC_*GET* reads: whether the flag it toggles asks for DAX now. */
  chattrWantsDax(k: Kernel): boolean;
  /** S_DAX for the inode as a load from disk would set it (xfs_diflags_to_iflags, ext4_set_inode_flags). */
  loadDax(k: Kernel): boolean;
}

export type RemapKind = 'copy' | 'clone' | 'dedupe' | 'exchange';

/**
 * The DAX mount option as the release had it: 'none' (no option), 'dax'
 * (`-o dax`, 4.13/4.14), or 5.8's `dax=always|inode|never` (a bare `dax`
 * means always there).
 */
export type DaxMount = 'none' | 'dax' | 'always' | 'inode' | 'never';

/** A moment the file was free to be evicted: its last open file and mapping gone. */
export interface FreeMoment {
  /** Counts up with each such moment. */
  seq: number;
  /** k.flips then: a flip after it changes what a reload would give. */
  flips: number;
  /** Whether the on-disk flag then asked for DAX. */
  diskDax: boolean;
  step: number;
  task: Task;
}

/**
 * A change of the DAX flag as it happens: 'flip' the ioctl changed the
 * flag on disk (`how` says what S_DAX does: 'now', 'never' at runtime, or
 * 'on-reload' at the next inode load), 'refused' the ioctl left it alone
 * (`how` says why), 'reload' an inode load set S_DAX from the flag.
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
  /** The release as a number (V4_13 ...): the paths switch on it where a release changed a function. */
  readonly v: number;
  /** The DAX mount option. */
  mount: DaxMount;
  /** The test file's dentry while it is in the dcache. */
  dentry: Dentry | null = null;
  /** The last moment the file was free to be evicted (for the S_DAX-after-close check). */
  lastFree: FreeMoment | null = null;
  /** Counts the moments the file was free to be evicted. */
  freeSeq = 0;
  /** ext4's s_journal_flag_rwsem: ext4_writepages against a journal-mode change. */
  readonly journalFlagSem = new RwSem('s_journal_flag_rwsem');
  /** fsx's mm->mmap_sem: the only process that maps the file (its mmap, munmap and faults take it). */
  readonly mmapSem = new RwSem('mmap_sem');
  /** What fsx's -c writes to drop_caches between close and open (3; 0: fsx before 2020, no drop). */
  closeOpenDrop = 3;
  private readonly scratchBufs: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];
  /** The memory of freed pages, for the next page allocated (the model's page allocator: fewer 4 KiB garbage objects). */
  readonly freePageData: Uint8Array[] = [];
  /**
   * The page faults in flight, by task: whether each is a write
   * (FAULT_FLAG_WRITE). Bookkeeping for the reports only: lockdep lists
   * sb_pagefaults for a write fault's handler, and a PMD fault (whose
   * create_huge_pmd/wp_huge_pmd are inlined) leaves no frame saying so.
   */
  readonly faultWrite = new Map<Task, boolean>();

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
    mount: DaxMount,
  ) {
    this.v = versionNumber(design.base);
    this.mount = mount;
    const maxBlocks = Math.ceil(maxFileLen / PAGE_SIZE) + 2;
    // the media grows as blocks are allocated (an explored program makes thousands of kernels, most with a few blocks)
    this.media = new Media(Math.min(maxBlocks, 16));
    this.inode = new Inode(131, maxBlocks, initialDax, fs.lockNames);
    // ext4 before 5.8 has no per-file DAX flag: a file that is not DAX under -o dax journals its data
    if (fs.name === 'ext4' && this.v < V5_8) {
      this.inode.diskDax = false;
      this.inode.journalData = !initialDax;
    }
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
   * Told where what a task does next no longer depends on the values it
   * read before (explore's state hash restarts the task's position there):
   * only on its frames, `words` (what the code goes on with), the bytes it
   * has copied out to its caller in this operation (carry()) and the
   * model's state. Each call site says why that holds there.
   */
  rejoin: ((t: Task, words: readonly number[]) => void) | null = null;
  /**
   * Told of bytes a task copies from shared state to its caller (a read's
   * destination): bytes [off, off + n) of `from`, a page-cache page's data,
   * a media block (its number) or zeros (null). They are part of where the
   * task is until its operation ends (fsx checks them then).
   */
  carry: ((t: Task, from: Uint8Array | number | null, off: number, n: number) => void) | null = null;
  /** Told of every flag change (the -d lines, --log-json); null when nobody listens. */
  onFlag: FlagListener | null = null;
  /**
   * Explore's access recorder (access.ts instruments the model's objects to
   * report to it); null in every other run, which pays nothing for it.
   */
  rec: AccessSink | null = null;

  /** Note that the running step read or wrote a shared object (OBJ in access.ts), where no instrumented field shows it. */
  access(obj: number, write: boolean): void {
    const r = this.rec;
    if (r !== null) r.note(obj, write);
  }

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

  /** WARN_ON_ONCE(cond): logged once per site; with panic_on_warn the run stops. Returns cond. */
  WARN_ON_ONCE(t: Task, cond: boolean, where: string, what: string): boolean {
    return this.warn(t, cond, where, what, true);
  }

  /** WARN_ON(cond): logged every time it fires (up to a few per site); with panic_on_warn the run stops. */
  WARN_ON(t: Task, cond: boolean, where: string, what: string): boolean {
    return this.warn(t, cond, where, what, false);
  }

  private warn(t: Task, cond: boolean, where: string, what: string, once: boolean): boolean {
    if (!cond) return false;
    const func = t.stack[t.stack.length - 1] ?? 'unknown';
    if (this.panicOnWarn) throw new KernelPanic('warning', func, t, t.stack.slice(), where, what);
    let n = 0;
    for (const w of this.warnings) if (w.where === where && w.func === func) n++;
    if (once ? n === 0 : n < 4) {
      this.warnings.push({ func, where, what, task: t, frames: t.stack.slice(), step: this.clock.step, kind: 'warn' });
      if (this.trace.enabled) this.trace.add(t, 'note', F_WARN, where, what);
    }
    return true;
  }

  /** mm's "BUG: Bad page ..." reports: printed with a stack and taint B; the kernel goes on. */
  badPage(t: Task, where: string, what: string): void {
    if (this.warnings.filter((w) => w.kind === 'bad page').length >= 4) return;
    const func = t.stack[t.stack.length - 1] ?? 'unknown';
    this.warnings.push({ func, where, what, task: t, frames: t.stack.slice(), step: this.clock.step, kind: 'bad page' });
    if (this.trace.enabled) this.trace.add(t, 'note', F_WARN, where, what);
  }
}
