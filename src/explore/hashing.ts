import type { FsxEngine } from '../fsx/engine.js';
import { OBJ, SLOTS } from '../kernel/access.js';
import { DaxEntry, HOLE, type Kernel, type Page, type Pte, type Vma } from '../kernel/core.js';
import type { RwSem } from '../kernel/locks.js';
import type { ModelFile } from '../kernel/syscalls.js';
import type { Strategy } from '../sched/strategy.js';
import type { Task, Waitable } from '../sched/task.js';

/**
 * A 64-bit hash as two 32-bit lanes of multiply then xor-shift (FNV-1a's
 * multiply alone carries a word's high bits only upwards: two changes to
 * bit 31 of two words cancel). 64 bits because explore prunes on equal
 * keys: a collision between two states would skip one never explored, and a
 * search meets hundreds of thousands of states (at 32 bits, a collision
 * among 100000 is more likely than not).
 */
class Hash {
  a = 0x811c9dc5;
  b = 0x2545f491;

  constructor(seed = 0) {
    if (seed) this.mix(seed);
  }

  mix(x: number): this {
    const a = Math.imul(this.a ^ x, 0x01000193);
    this.a = a ^ (a >>> 15);
    const b = Math.imul(this.b ^ x, 0x5bd1e995);
    this.b = b ^ (b >>> 13);
    return this;
  }

  bytes(buf: Uint8Array): this {
    const w = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < w.length; i++) {
      const x = w[i];
      a = Math.imul(a ^ x, 0x01000193);
      a ^= a >>> 15;
      b = Math.imul(b ^ x, 0x5bd1e995);
      b ^= b >>> 13;
    }
    this.a = a;
    this.b = b;
    return this;
  }

  string(s: string): this {
    for (let c = 0; c < s.length; c++) this.mix(s.charCodeAt(c));
    return this;
  }

  text(): string {
    return (this.a >>> 0).toString(36) + '.' + (this.b >>> 0).toString(36);
  }
}

const DAX_KINDS = ['empty', 'pte', 'zero', 'pmd', 'hzp'];

/** An rw_semaphore in the key: its writer, its readers, its queue. */
function semHash(h: Hash, sem: RwSem): void {
  h.mix(sem.writer ? sem.writer.pid : 0);
  for (const r of sem.readers) h.mix(r.pid);
  for (const w of sem.waiters) h.mix(w.t.pid + (w.write ? 1 << 20 : 0));
}

/** What bytes of zeros (a hole, the zero page) stand for among the digests of bytes a task carried. */
const ZEROS = { a: 0x2e705, b: 0x2e705 };

/** What a page of bytes hashed to on its own, and a copy of the bytes then. */
interface Digest {
  copy: Uint8Array;
  a: number;
  b: number;
}

/**
 * The 64-bit hash of a page's bytes, kept with a copy: the next key reuses it
 * while the bytes are the same (a native compare, a tenth of the hash's
 * cost), as most are between two choice points, where one step ran. Equal
 * bytes give equal digests whether or not they were cached, so the cache
 * changes no key.
 */
function digest(buf: Uint8Array, prev: Digest | undefined): Digest {
  if (prev && Buffer.compare(prev.copy, buf) === 0) return prev;
  const h = new Hash().bytes(buf);
  return { copy: buf.slice(), a: h.a, b: h.b };
}

/** What the page cache's part of the key reads: the page slots (the tree, each page's state, counts and bytes), the page locks, the cache's counts. */
const PAGE_OBJS = OBJ.CACHE | OBJ.PAGELOCK | SLOTS;

/** What the mappings' part reads: the VMAs, their files, the PTEs (in the page slots, with the pages' state: see strayMapped). */
const MM_OBJS = OBJ.MM | OBJ.FILE | SLOTS;

/**
 * Wraps a strategy and keeps, for each task, a hash of where it is in its
 * own code: the frames it stopped in and the values it read from the model
 * (IS_DAX, sizes; without them two runs that took different branches look
 * alike and the pruning is unsound). `key()` is the state: the model's
 * data and every task's position, for explore's "seen with as much budget".
 *
 * A position forgets what cannot matter to what the task does next:
 *
 * - fsx between operations: its generator holds nothing of the last one;
 *   what it does next is the program's next op, given its own state
 *   (FsxEngine.stateWord: the op number, its idea of the file's size, the
 *   ops a probe turned off). Its position restarts from that word when an
 *   op begins. (fsx's good buffer is the program's ops applied in order,
 *   the same in every interleaving that gets this far: a run whose check
 *   fails ends there.)
 * - a flipper between flips: its generator holds only how many flips it
 *   has made, so its position is that count.
 * - a step that ended waiting (a lock held, a page locked): the task
 *   resumes by asking again, the same question the step asked, so the
 *   wait adds nothing to its position; the model's state says it waits
 *   where it queued (an rw_semaphore's waiters), and a task that waits
 *   without queuing (a page lock) is in the same state as one about to ask.
 * - a copy moving on to its next page (Kernel.rejoin: the loops of
 *   buffered and DAX reads and writes, and of a user copy to or from a
 *   mapping): what it does from there depends on its frames, how far it
 *   got and what it has copied out so far, not on the values read for the
 *   pages before (whether a page was cached, a PTE there, i_size then). Its
 *   position restarts from those, the op's word and what the task carried.
 *
 * Without these, two runs that reach the same model state by different
 * orders (the flipper's flip before an op or in the middle of it, a lock
 * taken after a wait or without one, a page found cached or read in) look
 * different, and explore runs what follows again.
 *
 * What a read copies out to fsx (Kernel.carry: the bytes of a cache page, a
 * media block, zeros) stays part of fsx's position until the op ends, when
 * fsx checks it: two runs that loaded different bytes (one of them stale)
 * differ there even where the model's state has become the same.
 *
 * The parts of the model that change seldom (the block map with the blocks'
 * bytes, the page cache, the mappings) are hashed on their own, and a part's
 * hash is kept while the step log (`written`) shows none of its objects
 * written since the last key: the same key as hashing everything again, for
 * a fraction of the work (test/explore-hashing.test.ts compares the two at
 * every choice point of an exploration).
 */
export class StateHashing implements Strategy {
  readonly everyStep = true;
  private readonly paths: Hash[];
  private readonly idles: number[];
  private ran: Task | null = null;
  /** Per task: where its position last restarted from (fsx: the op's state word, Kernel.rejoin), and a hash of the bytes it carried since (Kernel.carry). */
  private readonly bases: number[];
  private carried: Hash[];
  inner: Strategy | undefined;
  /** Digests of page-cache pages' bytes, by page buffer, and of media blocks, by block (for the media's current buffer). */
  private readonly pageDigests = new WeakMap<Uint8Array, Digest>();
  private blockDigests: Digest[] = [];
  private digestedMedia: Uint8Array | null = null;
  /** The last hashes of the parts of the state that change seldom (the block map, the page cache, the mappings): reused while the records show none of their objects written. */
  private parts: { blocks: Hash | null; cache: Hash | null; mm: Hash | null } = { blocks: null, cache: null, mm: null };
  /**
   * What was written since the last key (OBJ bits, lock operations too),
   * when the steps are recorded (explore's reduction: the step log says);
   * without it every part is hashed again each time.
   */
  written: (() => number) | null = null;
  /** The last mmHash() met a PTE on a page outside the cache: its page's state is in the mappings' part. */
  private strayMapped = false;

  constructor(
    private readonly k: Kernel,
    /** fsx's engine (tasks[0] runs it), or null when tasks[0] runs something else (the tests' hand-built plans). */
    private readonly engine: FsxEngine | null,
    private readonly tasks: readonly Task[],
    /** What a flipper waits on between flips. */
    private readonly idle: Waitable | null,
    /** fsx's file, when tasks[0] runs fsx: what it remembers of its last close. */
    private readonly file: Pick<ModelFile, 'closedState'> | null = null,
  ) {
    this.paths = tasks.map(() => new Hash());
    this.idles = tasks.map(() => 0);
    // the model reports each value a task reads (a tracepoint); fold it into that task's path
    k.observer = (t, v) => {
      const i = this.tasks.indexOf(t ?? this.ran ?? tasks[0]);
      if (i >= 0) this.paths[i].mix(0x5eed).mix(v);
    };
    this.bases = tasks.map(() => 0);
    this.carried = tasks.map(() => new Hash(0xca77));
    if (engine) {
      const prev = engine.onOpStart;
      engine.onOpStart = (tc, index) => {
        prev?.(tc, index);
        this.bases[0] = engine.stateWord();
        this.paths[0] = new Hash(0x0b5e).mix(this.bases[0]);
        this.carried[0] = new Hash(0xca77);
      };
    }
    // bytes copied out to the task's caller: where it is (until its operation ends), kept across a rejoin
    k.carry = (t, from, off, n) => {
      const i = this.tasks.indexOf(t);
      if (i < 0) return;
      const d = from === null ? ZEROS : typeof from === 'number' ? this.blockDigest(from) : this.bytesDigest(from);
      this.carried[i].mix(d.a).mix(d.b).mix(off).mix(n);
      this.paths[i].mix(0xca77).mix(d.a).mix(d.b).mix(off).mix(n);
    };
    // a point where the task's code goes on from its frames, these words and what it carried alone: its position restarts there
    k.rejoin = (t, words) => {
      const i = this.tasks.indexOf(t);
      if (i < 0) return;
      const c = this.carried[i];
      const h = new Hash(0x4e57).mix(this.bases[i]).mix(this.idles[i]).mix(c.a).mix(c.b).mix(t.stack.length);
      for (const f of t.stack) h.string(f);
      for (const w of words) h.mix(w);
      this.paths[i] = h;
    };
  }

  get name(): string {
    return this.inner?.name ?? 'hashing';
  }

  pick(runnable: readonly Task[], n: number, step: number): Task {
    const cur = this.ran;
    if (cur) {
      const i = this.tasks.indexOf(cur);
      const w = cur.waiting;
      if (w !== null && w === this.idle) {
        this.paths[i] = new Hash(0x1d1e).mix(++this.idles[i]);
      } else if (w === null) {
        const top = cur.stack[cur.stack.length - 1] ?? '';
        this.paths[i].mix(cur.stack.length).string(top);
      }
    }
    const t = this.inner!.pick(runnable, n, step);
    this.ran = t;
    return t;
  }

  /** The digest of media block p (a media that grew is a new buffer: its blocks are digested again). */
  private blockDigest(p: number): Digest {
    const media = this.k.media;
    if (media.data !== this.digestedMedia) {
      this.digestedMedia = media.data;
      this.blockDigests = [];
    }
    return (this.blockDigests[p] = digest(media.block(p), this.blockDigests[p]));
  }

  /** The block map and the blocks' bytes. */
  private blocksHash(): Hash {
    const ip = this.k.inode;
    const h = new Hash(0xb10c);
    for (let b = 0; b < ip.nblocks; b++) {
      const p = ip.blocks[b];
      if (p === HOLE) continue;
      h.mix(b).mix(ip.unwritten[b]);
      if (!ip.unwritten[b]) {
        const d = this.blockDigest(p);
        h.mix(d.a).mix(d.b);
      }
    }
    return h;
  }

  /** The page cache: each entry, its state and (a page's) bytes. */
  private cacheHash(): Hash {
    const ip = this.k.inode;
    const h = new Hash(0xcace);
    // (the plain Map's and Set's own methods: the recording containers' note accesses, and nothing here is a step's)
    const entries = Array.from(Map.prototype.entries.call(ip.mapping.entries) as MapIterator<[number, Page | DaxEntry]>).sort((a, b) => a[0] - b[0]);
    for (const [i, e] of entries) {
      h.mix(i);
      if (e instanceof DaxEntry) {
        h.mix(e.dirty ? 3 : 2).mix(DAX_KINDS.indexOf(e.kind)).mix(e.pfn).mix(e.order);
        h.mix(e.locker ? e.locker.pid : 0);
      } else {
        this.pageState(h, e);
      }
    }
    return h;
  }

  /** A page's state and bytes. */
  private pageState(h: Hash, e: Page): void {
    h.mix(+e.dirty).mix(+e.uptodate).mix(e.mapcount).mix(e.count);
    h.mix(e.locker ? e.locker.pid : 0).mix(e.mapping ? 1 : 0);
    const d = this.bytesDigest(e.data);
    h.mix(d.a).mix(d.b);
  }

  /** The digest of a page's bytes (kept by buffer while they stay the same). */
  private bytesDigest(data: Uint8Array): Digest {
    const d = digest(data, this.pageDigests.get(data));
    this.pageDigests.set(data, d);
    return d;
  }

  /** The mappings: each VMA, its PTEs and page tables. */
  private mmHash(): Hash {
    const ip = this.k.inode;
    const h = new Hash(0x3a3a);
    for (const vma of Set.prototype.values.call(ip.mapping.i_mmap) as SetIterator<Vma>) {
      h.mix(vma.pgoff).mix(vma.npages).mix(vma.vm_flags).mix(vma.vstart);
      h.mix(+vma.linked).mix(vma.file ? vma.file.f_count : 0).string(vma.vm_ops?.name ?? '');
      for (const [pg, pte] of Array.from(Map.prototype.entries.call(vma.ptes) as MapIterator<[number, Pte]>).sort((a, b) => a[0] - b[0])) {
        h.mix(pg).mix(pte.pfn).mix(+pte.writable + (pte.page ? 4 : 0) + (pte.huge ? 8 : 0));
        // a PTE left on a page the cache no longer holds (a design that does not zap it): that page's state and
        // bytes are what a load through the PTE sees, and the cache's hash does not have them
        const page = pte.page;
        if (page && Map.prototype.get.call(ip.mapping.entries, page.index) !== page) {
          this.strayMapped = true;
          h.mix(0x57a1e);
          this.pageState(h, page);
        }
      }
      for (const r of Set.prototype.values.call(vma.pteTables) as SetIterator<number>) h.mix(r);
    }
    return h;
  }

  /** Everything that decides what happens next: the model's state and where each task is. */
  key(): string {
    const k = this.k;
    const ip = k.inode;
    const h = new Hash();
    // (not the count of inode loads, which only a report prints, nor of flag changes: the check below compares two)
    h.mix(ip.i_size).mix(+ip.diskDax).mix(+ip.journalData).mix(+ip.sDax).mix(+ip.dontcache).mix(ip.refs).mix(+ip.evicted).mix(+ip.freeing);
    h.mix(+ip.willFree).mix(+ip.sync).mix(+ip.onLru).mix(this.engine?.fileSize ?? 0);
    const d = k.dentry;
    if (d) h.mix(d.count + 1).mix(+d.lru).mix(+d.referenced).mix(+d.dontcache);
    else h.mix(0);
    // the S_DAX-after-close check at fsx's next open compares with the last moment the file was free, if there was
    // one since fsx closed the file (whether there was, not how many came before): whether the flag changed since
    // then, and the flag then
    const free = k.lastFree;
    if (free) h.mix(free.flips === k.flips ? 1 : 2).mix(+free.diskDax);
    else h.mix(0);
    h.mix(this.file ? this.file.closedState() : -2);
    const w = this.written ? this.written() : -1;
    const parts = this.parts;
    if (!parts.blocks || w & OBJ.BMAP) parts.blocks = this.blocksHash();
    if (!parts.cache || w & PAGE_OBJS) parts.cache = this.cacheHash();
    if (!parts.mm || w & MM_OBJS || (this.strayMapped && w & PAGE_OBJS)) {
      this.strayMapped = false;
      parts.mm = this.mmHash();
    }
    h.mix(parts.blocks.a).mix(parts.blocks.b).mix(parts.cache.a).mix(parts.cache.b).mix(parts.mm.a).mix(parts.mm.b);
    semHash(h, ip.iolock);
    semHash(h, ip.mmaplock);
    semHash(h, k.journalFlagSem);
    semHash(h, k.mmapSem);
    let s = h.text();
    this.tasks.forEach((t, i) => (s += `|${t.done ? 'd' : this.paths[i].text()}`));
    return s;
  }
}
