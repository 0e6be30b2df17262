import { AddressSpace, DaxEntry, Dentry, File, Inode, Kernel, Page, Vma, type AccessSink, type ModelObjects, type Pte } from './core.js';

export type { AccessSink } from './core.js';
import { RwSem } from './locks.js';
import type { Task } from '../sched/task.js';

/**
 * What a step of a model task read and wrote, for explore's partial-order
 * reduction: the model's shared objects, one bit each. Two steps of
 * different tasks are independent when neither writes an object the other
 * reads or writes; then running them in either order gives the same state.
 *
 * The granularity is fine where the races of DAX switching are (S_DAX, the
 * on-disk flag, i_size, each lock) and per file page where paths work page
 * by page (SLOT_BITS: a fault on one page and a flip's write-back of
 * another do not conflict), coarse where a path touches many things at once
 * (the block map with the media, the VMAs).
 */
export const OBJ = {
  /** S_DAX in i_flags: what IS_DAX() reads. */
  SDAX: 1 << 0,
  /** The on-disk flag (XFS_DIFLAG2_DAX, EXT4_DAX_FL, EXT4_JOURNAL_DATA_FL) and the count of its changes. */
  DISK: 1 << 1,
  /** i_size. */
  ISIZE: 1 << 2,
  /** IOLOCK / i_rwsem: taking, releasing or waiting for it (all writes: the holders and the queue change). */
  IOLOCK: 1 << 3,
  /** MMAPLOCK / i_mmap_sem. */
  MMAPLOCK: 1 << 4,
  /** ext4's s_journal_flag_rwsem. */
  JSEM: 1 << 5,
  /** The inode's life: i_count, I_DONTCACHE, I_FREEING, I_WILL_FREE, I_SYNC, the LRU, loads. */
  INODE: 1 << 6,
  /** The page cache's counts (nrpages, nrexceptional). Its slots are SLOT_BITS's, and a look at every slot (its size, a walk) reads them all. */
  CACHE: 1 << 7,
  /** The mappings: i_mmap, every VMA's fields and its page tables (the PTEs are SLOT_BITS's, by page offset). */
  MM: 1 << 8,
  /** The block map (blocks, unwritten extents) and the media with its allocator. */
  BMAP: 1 << 9,
  /** The kernel's log of WARNINGs and bad-page reports. */
  WARN: 1 << 10,
  /** An open file's reference count (struct file's f_count: the fd's and each VMA's). */
  FILE: 1 << 11,
  /** Page locks and DAX entry locks, all one object (LockOrder watches how they nest with the rw_semaphores). */
  PAGELOCK: 1 << 13,
  /** The test file's dentry: whether it is in the dcache, its count and flags. */
  DENTRY: 1 << 16,
  /** The moments the file was free to be evicted (what the S_DAX-after-close check compares). */
  FREE: 1 << 17,
  /** fsx's mm->mmap_sem (taken by its mmap, munmap and faults, and by a flip that updates VMAs). */
  MMAPSEM: 1 << 18,
  /** Explore's own: the run's end (the last step writes it, a task that did not get to run reads it). */
  END: 1 << 30,
} as const;

/**
 * The file's page slots: the slot of page index i is SLOT_BITS[i % 14], and
 * it holds the page cache's entry at i (which page or DAX entry is there),
 * that page's or entry's state (uptodate, dirty, its mapping, counts, kind,
 * pfn) and bytes, and every PTE mapping page offset i. Two indices 14 apart
 * share a slot (a dependency too many, never one too few); a PMD entry,
 * which covers 512 indices, is in every slot.
 */
export const SLOT_BITS: readonly number[] = [1 << 12, 1 << 14, 1 << 15, 1 << 19, 1 << 20, 1 << 21, 1 << 22, 1 << 23, 1 << 24, 1 << 25, 1 << 26, 1 << 27, 1 << 28, 1 << 29];

/** Every page slot. */
export const SLOTS = SLOT_BITS.reduce((a, b) => a | b, 0);

/** The slot of page index (or page offset) i. */
export function slotOf(i: number): number {
  const n = SLOT_BITS.length;
  return SLOT_BITS[((i % n) + n) % n];
}

/** An object's name, for messages: OBJ's, or the slot's. */
export function objName(bit: number): string {
  const named = Object.entries(OBJ).find(([, b]) => b === bit);
  if (named) return named[0];
  const slot = SLOT_BITS.indexOf(bit);
  return slot >= 0 ? `SLOT${slot}` : `0x${(bit >>> 0).toString(16)}`;
}

/** The rw_semaphores' objects, each on its own: their takes and releases are lock operations, not accesses of data (explore/reduction.ts, lazy locks). */
export const RWSEM_OBJS: readonly number[] = [OBJ.IOLOCK, OBJ.MMAPLOCK, OBJ.JSEM, OBJ.MMAPSEM];

/** The same, as one mask. */
export const RWSEMS = RWSEM_OBJS.reduce((a, b) => a | b, 0);


/**
 * How a field of a model object is recorded: an OBJ bit (a read on get, a
 * write on set); 'slot' the same, of the object's page slot (SLOT_BITS);
 * `{ w: bit }` a write on every access (a container or a byte array the
 * caller may change in place); `{ diff: bit }` a small array
 * read on access and found written by comparing it with a copy when the step
 * ends (the block map: most of its users only read it); `{ bytes: bit }` a
 * byte array (a page's data) read on access, copied the first time a step
 * touches it and found written by comparing when the step ends; 'const' never assigned while
 * tasks run (made read-only, so that an assignment throws); 'private'
 * nobody but its owner (or explore itself) looks at it.
 */
type FieldKind = number | 'slot' | { w: number } | { diff: number } | { bytes: number | 'slot' } | 'const' | 'private';
type Table = Readonly<Record<string, FieldKind>>;

const O = OBJ;

const KERNEL: Table = {
  media: 'const',
  inode: 'const',
  warnings: { w: O.WARN },
  flips: O.DISK,
  v: 'const',
  mount: 'const',
  dentry: O.DENTRY,
  lastFree: O.FREE,
  freeSeq: O.FREE,
  journalFlagSem: 'const',
  mmapSem: 'const',
  closeOpenDrop: 'const',
  // a bounce buffer inside one call of one task
  scratchBufs: 'private',
  // freed pages' memory, zeroed when reused: which buffer a page gets is not observable
  freePageData: 'private',
  // per task, for the reports
  faultWrite: 'private',
  observer: 'private',
  rejoin: 'private',
  carry: 'private',
  onFlag: 'private',
  rec: 'private',
  fs: 'const',
  design: 'const',
  trace: 'const',
  clock: 'const',
  panicOnWarn: 'const',
};

const INODE: Table = {
  ino: 'const',
  i_size: O.ISIZE,
  diskDax: O.DISK,
  journalData: O.DISK,
  sDax: O.SDAX,
  dontcache: O.INODE,
  refs: O.INODE,
  evicted: O.INODE,
  freeing: O.INODE,
  willFree: O.INODE,
  sync: O.INODE,
  onLru: O.INODE,
  loads: O.INODE,
  nblocks: 'const',
  blocks: { diff: O.BMAP },
  unwritten: { diff: O.BMAP },
  mapping: 'const',
  iolock: 'const',
  mmaplock: 'const',
};

const ADDRESS_SPACE: Table = { host: 'const', entries: 'const', i_mmap: 'const', nrpages: O.CACHE, nrexceptional: O.CACHE, objects: 'private' };

const PAGE: Table = {
  index: 'const',
  data: { bytes: 'slot' },
  uptodate: 'slot',
  dirty: 'slot',
  locker: O.PAGELOCK,
  mapping: 'slot',
  mapcount: 'slot',
  count: 'slot',
};

const DAX_ENTRY: Table = { index: 'const', order: 'const', kind: 'slot', pfn: 'slot', dirty: 'slot', locker: O.PAGELOCK };

const VMA: Table = {
  inode: 'const',
  pgoff: 'const',
  npages: 'const',
  vm_flags: O.MM,
  vm_ops: O.MM,
  ptes: 'const',
  linked: O.MM,
  vstart: O.MM,
  pteTables: 'const',
  file: O.MM,
};

const PTE: Table = { page: 'slot', pfn: 'slot', writable: 'slot', huge: 'slot' };

const MEDIA: Table = { data: { w: O.BMAP }, free: { w: O.BMAP }, used: { w: O.BMAP } };

const DENTRY: Table = { count: O.DENTRY, lru: O.DENTRY, referenced: O.DENTRY, dontcache: O.DENTRY };

const FILE: Table = { f_count: O.FILE, dentry: 'const' };

// the lock paths report themselves (locks.ts): taking and letting go as lock operations, the queue and the fast path's look as accesses
const RWSEM: Table = { name: 'const', readers: 'private', writer: 'private', waiters: 'private', rec: 'private', bit: 'private' };

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (a.length % 4 === 0 && a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const x = new Uint32Array(a.buffer, a.byteOffset, a.length >>> 2);
    const y = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A map from page index (or page offset) to what is there, whose every use
 * is an access: of the key's page slot (slotOf()) for a look-up, an insert
 * or a removal, of every slot for its size or a walk. Values put in it are
 * instrumented too (told their key: a PTE's slot is its offset's).
 */
class SlottedMap<V> extends Map<number, V> {
  constructor(
    private readonly sink: AccessSink,
    private readonly onValue: (v: V, k: number) => void,
  ) {
    super();
  }
  override get(k: number): V | undefined {
    this.sink.note(slotOf(k), false);
    return super.get(k);
  }
  override has(k: number): boolean {
    this.sink.note(slotOf(k), false);
    return super.has(k);
  }
  override set(k: number, v: V): this {
    this.sink.note(slotOf(k), true);
    this.onValue(v, k);
    return super.set(k, v);
  }
  override delete(k: number): boolean {
    this.sink.note(slotOf(k), true);
    return super.delete(k);
  }
  override clear(): void {
    this.sink.note(SLOTS, true);
    super.clear();
  }
  override get size(): number {
    this.sink.note(SLOTS, false);
    return super.size;
  }
  override forEach(fn: (v: V, k: number, m: Map<number, V>) => void): void {
    this.sink.note(SLOTS, false);
    super.forEach(fn);
  }
  // an iterator may be carried across a preemption point: every step of it is a read
  override *entries(): MapIterator<[number, V]> {
    for (const x of super.entries()) {
      this.sink.note(SLOTS, false);
      yield x;
    }
    this.sink.note(SLOTS, false);
  }
  override *keys(): MapIterator<number> {
    for (const x of super.keys()) {
      this.sink.note(SLOTS, false);
      yield x;
    }
    this.sink.note(SLOTS, false);
  }
  override *values(): MapIterator<V> {
    for (const x of super.values()) {
      this.sink.note(SLOTS, false);
      yield x;
    }
    this.sink.note(SLOTS, false);
  }
  override [Symbol.iterator](): MapIterator<[number, V]> {
    return this.entries();
  }
}

/** A Set whose every use is an access to one object. */
class RecordedSet<V> extends Set<V> {
  constructor(
    private readonly sink: AccessSink,
    private readonly bit: number,
    private readonly onValue: (v: V) => void,
  ) {
    super();
  }
  override has(v: V): boolean {
    this.sink.note(this.bit, false);
    return super.has(v);
  }
  override add(v: V): this {
    this.sink.note(this.bit, true);
    this.onValue(v);
    return super.add(v);
  }
  override delete(v: V): boolean {
    this.sink.note(this.bit, true);
    return super.delete(v);
  }
  override clear(): void {
    this.sink.note(this.bit, true);
    super.clear();
  }
  override get size(): number {
    this.sink.note(this.bit, false);
    return super.size;
  }
  override forEach(fn: (v: V, k: V, s: Set<V>) => void): void {
    this.sink.note(this.bit, false);
    super.forEach(fn);
  }
  override *values(): SetIterator<V> {
    for (const x of super.values()) {
      this.sink.note(this.bit, false);
      yield x;
    }
    this.sink.note(this.bit, false);
  }
  override keys(): SetIterator<V> {
    return this.values();
  }
  override *entries(): SetIterator<[V, V]> {
    for (const x of super.values()) {
      this.sink.note(this.bit, false);
      yield [x, x];
    }
    this.sink.note(this.bit, false);
  }
  override [Symbol.iterator](): SetIterator<V> {
    return this.values();
  }
}

/** What an instrumented object's accessors report to: the run's sink, and its compared byte arrays. */
interface Ctx {
  sink: AccessSink;
  self: Instrumented;
  touched: Map<Uint8Array, { bit: number; copy: Uint8Array }>;
}

/** Called with a field's value when it is instrumented and on each assignment (to instrument what it points to). */
type Hooks = Record<string, (v: unknown) => void>;

/** Where an instrumented object keeps its fields' values: the accessors are shared by every object of its table. */
const REC = Symbol('recorded fields');

interface Rec {
  /** null until the object is instrumented (a twin() not yet shared): its accessors report nothing. */
  ctx: Ctx | null;
  /** Its page slot (SLOT_BITS), for the fields of kind 'slot'. */
  slot: number;
  hooks: Hooks | null;
  /** The fields' values, by their place in the table. */
  v: unknown[];
}

type Recorded = { [REC]: Rec };

/** How one field is instrumented: its value's place in Rec.v and the descriptor that replaces it; a constant is made read-only in place (or, on a twin, has a getter alone); a `{ diff }` field's bit. */
interface Accessor {
  at: number;
  desc: PropertyDescriptor;
  constant: boolean;
  slotted: boolean;
  diff?: number;
}

const READ_ONLY: PropertyDescriptor = { writable: false };

/** Each table's accessors, made once: an object's fields are redefined with these, whatever the run. */
const plans = new WeakMap<Table, Map<string, Accessor | 'private'>>();

function accessorsOf(table: Table): Map<string, Accessor | 'private'> {
  const have = plans.get(table);
  if (have) return have;
  const plan = new Map<string, Accessor | 'private'>();
  let at = 0;
  for (const [key, kind] of Object.entries(table)) {
    if (kind === 'private') plan.set(key, 'private');
    else if (kind === 'const') plan.set(key, { at: at++, desc: READ_ONLY, constant: true, slotted: false });
    else if (typeof kind === 'object' && 'diff' in kind) plan.set(key, { at: -1, desc: READ_ONLY, constant: false, slotted: false, diff: kind.diff });
    else plan.set(key, { at, desc: accessor(kind, at++, key), constant: false, slotted: kind === 'slot' || (typeof kind === 'object' && 'bytes' in kind && kind.bytes === 'slot') });
  }
  plans.set(table, plan);
  return plan;
}

/**
 * The shared accessor of a field of kind `kind`, whose value is at `i` in
 * the object's Rec: a read on get, a write on set (storing the value already
 * there changes nothing: a read, which still conflicts with any other
 * write); `{ w }` a write either way; `{ bytes }` a read, the array copied
 * the first time a step touches it, to be compared when the step ends.
 */
function accessor(kind: number | 'slot' | { w: number } | { bytes: number | 'slot' }, i: number, key: string): PropertyDescriptor {
  if (typeof kind === 'number' || kind === 'slot') {
    const fixed = kind === 'slot' ? -1 : kind;
    return {
      configurable: true,
      enumerable: true,
      get(this: Recorded) {
        const r = this[REC];
        if (r.ctx !== null) r.ctx.sink.note(fixed < 0 ? r.slot : fixed, false);
        return r.v[i];
      },
      set(this: Recorded, x: unknown) {
        const r = this[REC];
        if (r.ctx !== null) r.ctx.sink.note(fixed < 0 ? r.slot : fixed, x !== r.v[i]);
        if (r.hooks !== null) r.hooks[key]?.(x);
        r.v[i] = x;
      },
    };
  }
  if ('w' in kind) {
    const bit = kind.w;
    return {
      configurable: true,
      enumerable: true,
      get(this: Recorded) {
        const r = this[REC];
        if (r.ctx !== null) r.ctx.sink.note(bit, true);
        return r.v[i];
      },
      set(this: Recorded, x: unknown) {
        const r = this[REC];
        if (r.ctx !== null) r.ctx.sink.note(bit, true);
        r.v[i] = x;
      },
    };
  }
  const fixed = kind.bytes === 'slot' ? -1 : kind.bytes;
  return {
    configurable: true,
    enumerable: true,
    get(this: Recorded) {
      const r = this[REC];
      const a = r.v[i] as Uint8Array;
      const c = r.ctx;
      if (c !== null) {
        const bit = fixed < 0 ? r.slot : fixed;
        c.sink.note(bit, false);
        if (c.self.inStep && !c.touched.has(a)) c.touched.set(a, { bit, copy: a.slice() });
      }
      return a;
    },
    set(this: Recorded, x: unknown) {
      const r = this[REC];
      if (r.ctx !== null) r.ctx.sink.note(fixed < 0 ? r.slot : fixed, x !== r.v[i]);
      r.v[i] = x;
    },
  };
}

/** Each table's twin prototypes (by the prototype of the plain objects): every field an accessor (a constant a getter alone), over the object's Rec. */
const twinProtos = new WeakMap<Table, Map<object, object>>();

function twinProto(table: Table, base: object): object {
  let byBase = twinProtos.get(table);
  if (!byBase) twinProtos.set(table, (byBase = new Map()));
  let proto = byBase.get(base);
  if (proto) return proto;
  const descs: PropertyDescriptorMap = {};
  for (const [key, a] of accessorsOf(table)) {
    if (a === 'private' || a.diff !== undefined) continue;
    const i = a.at;
    descs[key] = a.constant
      ? {
          configurable: true,
          enumerable: true,
          get(this: Recorded) {
            return this[REC].v[i];
          },
        }
      : a.desc;
  }
  proto = Object.create(base, descs) as object;
  byBase.set(base, proto);
  return proto;
}

/**
 * A twin of `plain` (a new object of its class, with its fields' values):
 * its fields are accessors from the start (its prototype's), reporting
 * nothing until fields() instruments it, which then only tells its record
 * where to report. Every field must be in `table`, and none private or
 * compared in place (the twin has no own fields).
 */
function twin<T extends object>(plain: T, table: Table, what: string): T {
  const plan = accessorsOf(table);
  const v = new Array<unknown>(plan.size);
  const o = plain as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    const a = plan.get(key);
    if (a === undefined) throw new Error(`access recording: ${what}.${key} says no object it belongs to (src/kernel/access.ts)`);
    if (a === 'private' || a.diff !== undefined) throw new Error(`access recording: ${what}.${key} cannot be a twin's field`);
    v[a.at] = o[key];
  }
  const t = Object.create(twinProto(table, Object.getPrototypeOf(plain) as object)) as Recorded;
  t[REC] = { ctx: null, slot: 0, hooks: null, v };
  return t as unknown as T;
}

/** Pages, DAX entries and PTEs made as twins (explore's recorded runs: AddressSpace.objects). */
const TWIN_OBJECTS: ModelObjects = {
  page: (mapping, index, data) => twin(new Page(mapping, index, data), PAGE, 'Page'),
  daxEntry: (index, order, kind, pfn) => twin(new DaxEntry(index, order, kind, pfn), DAX_ENTRY, 'DaxEntry'),
  pte: (page, pfn, writable, huge) => twin({ page, pfn, writable, huge }, PTE, 'Pte'),
};

/**
 * Makes every shared object of the model report its accesses to `sink`
 * (explore installs it once per run, before any task runs; a plain run never
 * does, so its objects keep plain fields and pay nothing). Each field of
 * each object becomes an accessor that notes its object, so whatever path
 * reads or writes it, in whatever function, is seen: nothing depends on a
 * call placed by hand. Objects that become shared later are instrumented
 * when they are put where another task can find them: a page or DAX entry
 * put in the page cache, a VMA linked into i_mmap, a PTE set in a VMA, a
 * dentry in the dcache, a file in a VMA. A field not in the tables above
 * stops the run: a new field must say what it belongs to.
 *
 * In two phases, so that a run replaying the steps of the run before (whose
 * records it reuses: explore/steps.ts) runs them at a plain run's speed:
 * at once, the containers other tasks find objects through (the page
 * cache's tree, i_mmap, each linked VMA's PTEs) are replaced by recording
 * ones, the rw_semaphores report their takes, and every object put in a
 * container is kept in a list; the fields become accessors only at
 * `start()`, which instruments the roots and every object on that list:
 * the same objects as instrumenting from the first step, since an object
 * is only ever instrumented once it has been put where another task can
 * find it. (Containers are replaced at once because a task may hold one
 * across a preemption point: replacing it later would give two tasks two
 * different containers.)
 *
 * The accessors are shared by every object of a table (accessorsOf()); each
 * object keeps its values in a record (REC) that says where to report. A
 * plain object's fields are redefined as accessors (about a microsecond a
 * field); the pages, DAX entries and PTEs made after the first phase, by
 * the hundred in a run, are made as twins (AddressSpace.objects), whose
 * fields are accessors from the start that report nothing until the object
 * is instrumented, which only fills in its record.
 */
export function instrumentModel(k: Kernel, sink: AccessSink): Instrumented {
  const diffs: { bit: number; diff: () => number; resync: () => void }[] = [];
  // byte arrays handed out since the last step ended, with what they held then
  const touched = new Map<Uint8Array, { bit: number; copy: Uint8Array }>();
  // before start(): objects put where another task can find them, to be instrumented then
  let started = false;
  const later: (() => void)[] = [];
  const self: Instrumented = {
    inStep: false,
    start: () => {
      if (started) {
        for (const d of diffs) d.resync();
        touched.clear();
        return;
      }
      started = true;
      instrumentRoots();
      for (const f of later) f();
      later.length = 0;
    },
    holdsPage: (t) => {
      let held = false;
      Map.prototype.forEach.call(k.inode.mapping.entries, (e: Page | DaxEntry) => {
        if (e.locker === t) held = true;
      });
      return held;
    },
    settle: (read) => {
      let w = 0;
      // only an array the step read (and so could have held) can have changed
      for (const d of diffs) if (read & d.bit) w |= d.diff();
      for (const [a, t] of touched) if (!(w & t.bit) && !sameBytes(a, t.copy)) w |= t.bit;
      touched.clear();
      return w;
    },
  };

  // what the shared accessors (accessorsOf()) of this run's objects report to
  const ctx: Ctx = { sink, self, touched };

  /** Instrument obj's fields by `table`; `slot` is its page slot (SLOT_BITS), for the fields of kind 'slot'. */
  const fields = (obj: object, table: Table, what: string, onSet?: Hooks, slot = 0): void => {
    const o = obj as Record<string | symbol, unknown>;
    const plan = accessorsOf(table);
    const made = o[REC] as Rec | undefined;
    if (made !== undefined) {
      // instrumented before, or a twin: it only needs to know where to report
      if (made.ctx !== null) return;
      for (const a of plan.values()) if (a !== 'private' && a.slotted && slot === 0) throw new Error(`access recording: ${what} has fields in a page slot, but was given none`);
      made.ctx = ctx;
      made.slot = slot;
      made.hooks = onSet ?? null;
      if (onSet) for (const [key, hook] of Object.entries(onSet)) hook(made.v[(plan.get(key) as Accessor).at]);
      return;
    }
    const rec: Rec = { ctx, slot, hooks: onSet ?? null, v: new Array<unknown>(plan.size) };
    o[REC] = rec;
    for (const key of Object.keys(o)) {
      const a = plan.get(key);
      if (a === undefined) throw new Error(`access recording: ${what}.${key} says no object it belongs to (src/kernel/access.ts)`);
      if (a === 'private') continue;
      if (a.slotted && slot === 0) throw new Error(`access recording: ${what}.${key} is in a page slot, but ${what} was given none`);
      const v = o[key];
      if (a.diff !== undefined) {
        diffField(o, key, what, a.diff, v as Int32Array | Uint8Array);
        continue;
      }
      const hook = onSet?.[key];
      if (hook) hook(v);
      if (!a.constant) rec.v[a.at] = v;
      Object.defineProperty(o, key, a.desc);
    }
  };

  /** A `{ diff }` field: read on access, found written by comparing it with a copy when the step ends. */
  const diffField = (o: object, key: string, what: string, bit: number, arr: Int32Array | Uint8Array): void => {
    const copy = arr.slice();
    diffs.push({
      bit,
      resync: () => copy.set(arr),
      diff: () => {
        for (let i = 0; i < arr.length; i++) {
          if (arr[i] !== copy[i]) {
            copy.set(arr);
            return bit;
          }
        }
        return 0;
      },
    });
    Object.defineProperty(o, key, {
      configurable: true,
      enumerable: true,
      get: () => {
        sink.note(bit, false);
        return arr;
      },
      set: () => {
        throw new Error(`access recording: ${what}.${key} is compared in place and cannot be replaced`);
      },
    });
  };

  /** Instrument `obj` now, or at start() when that has not come yet. */
  const share = (f: () => void): void => {
    if (started) f();
    else later.push(f);
  };
  const page = (e: unknown): void => {
    if (e instanceof Page) share(() => fields(e, PAGE, 'Page', undefined, slotOf(e.index)));
    else if (e instanceof DaxEntry) share(() => fields(e, DAX_ENTRY, 'DaxEntry', undefined, e.order ? SLOTS : slotOf(e.index)));
  };
  const file = (f: unknown): void => {
    if (f instanceof File) fields(f, FILE, 'File');
  };
  const dentry = (d: unknown): void => {
    if (d instanceof Dentry) fields(d, DENTRY, 'Dentry');
  };
  // a PTE is set at its page offset (and never moved: a new one is set for another)
  const pte = (p: Pte, pgoff: number): void => share(() => fields(p, PTE, 'Pte', undefined, slotOf(pgoff)));
  const linked = new WeakSet<Vma>();
  const vma = (v: Vma): void => {
    if (linked.has(v)) return;
    linked.add(v);
    replaceMap(v, 'ptes', pte);
    replaceSet(v, 'pteTables', O.MM, () => {});
    share(() => fields(v, VMA, 'Vma', { file }));
  };
  const replaceMap = <V>(owner: object, key: string, onValue: (v: V, k: number) => void): void => {
    const old = (owner as Record<string, Map<number, V>>)[key];
    const m = new SlottedMap<V>(sink, onValue);
    for (const [a, b] of old) {
      onValue(b, a);
      Map.prototype.set.call(m, a, b);
    }
    Object.defineProperty(owner, key, { value: m, writable: false });
  };
  const replaceSet = <V>(owner: object, key: string, bit: number, onValue: (v: V) => void): void => {
    const old = (owner as Record<string, Set<V>>)[key];
    const s = new RecordedSet<V>(sink, bit, onValue);
    for (const a of old) {
      onValue(a);
      Set.prototype.add.call(s, a);
    }
    Object.defineProperty(owner, key, { value: s, writable: false });
  };
  const rwsem = (s: RwSem, bit: number): void => {
    s.rec = sink;
    s.bit = bit;
  };
  const ip: Inode = k.inode;
  const mapping: AddressSpace = ip.mapping;
  const sems: [RwSem, string][] = [
    [ip.iolock, 'RwSem(iolock)'],
    [ip.mmaplock, 'RwSem(mmaplock)'],
    [k.journalFlagSem, 'RwSem(journalFlagSem)'],
    [k.mmapSem, 'RwSem(mmapSem)'],
  ];
  const instrumentRoots = (): void => {
    fields(mapping, ADDRESS_SPACE, 'AddressSpace');
    for (const [s, what] of sems) fields(s, RWSEM, what);
    fields(ip, INODE, 'Inode');
    fields(k.media, MEDIA, 'Media');
    fields(k, KERNEL, 'Kernel', { dentry });
  };

  k.rec = sink;
  // pages, DAX entries and PTEs made from now on are twins: instrumenting one costs a store, not a field-by-field redefinition
  mapping.objects = TWIN_OBJECTS;
  replaceMap(mapping, 'entries', page);
  replaceSet(mapping, 'i_mmap', O.MM, vma);
  rwsem(ip.iolock, O.IOLOCK);
  rwsem(ip.mmaplock, O.MMAPLOCK);
  rwsem(k.journalFlagSem, O.JSEM);
  rwsem(k.mmapSem, O.MMAPSEM);
  return self;
}

/** The instrumentation of one run, as its recorder drives it. */
export interface Instrumented {
  /** Set while a step runs: byte arrays handed out then are copied, to be compared when it ends (none between steps: nothing changes them there). */
  inStep: boolean;
  /** What the compared arrays show written since the last call (at each step's end), given what the step read. */
  settle(read: number): number;
  /**
   * Start recording fields (before the first recorded step): the first call
   * makes the fields of the roots and of every object shared so far
   * accessors; a later one only forgets what steps not recorded changed
   * (the compared arrays' copies are taken again).
   */
  start(): void;
  /** Whether task t holds the lock of a page or DAX entry in the file's cache (its accessors note what they read). */
  holdsPage(t: Task): boolean;
}
