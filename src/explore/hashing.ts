import type { FsxEngine } from '../fsx/engine.js';
import { DaxEntry, HOLE, type Kernel } from '../kernel/core.js';
import type { RwSem } from '../kernel/locks.js';
import type { Strategy } from '../sched/strategy.js';
import type { Task, Waitable } from '../sched/task.js';

function fnv(h: number, x: number): number {
  return Math.imul(h ^ x, 0x01000193) >>> 0;
}

function hashBytes(h: number, b: Uint8Array): number {
  const w = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
  for (let i = 0; i < w.length; i++) h = fnv(h, w[i]);
  return h;
}

function hashString(h: number, s: string): number {
  for (let c = 0; c < s.length; c++) h = fnv(h, s.charCodeAt(c));
  return h;
}

const BASIS = 0x811c9dc5;
const DAX_KINDS = ['empty', 'pte', 'zero', 'pmd', 'hzp'];

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
 *
 * Without these, two runs that reach the same model state by different
 * orders (the flipper's flip before an op or in the middle of it, a lock
 * taken after a wait or without one) look different, and explore runs what
 * follows again.
 */
export class StateHashing implements Strategy {
  readonly everyStep = true;
  private readonly paths: number[];
  private readonly idles: number[];
  private ran: Task | null = null;
  inner: Strategy | undefined;

  constructor(
    private readonly k: Kernel,
    /** fsx's engine (tasks[0] runs it), or null when tasks[0] runs something else (the tests' hand-built plans). */
    private readonly engine: FsxEngine | null,
    private readonly tasks: readonly Task[],
    /** What a flipper waits on between flips. */
    private readonly idle: Waitable | null,
  ) {
    this.paths = tasks.map(() => BASIS);
    this.idles = tasks.map(() => 0);
    // the model reports each value a task reads (a tracepoint); fold it into that task's path
    k.observer = (t, v) => {
      const i = this.tasks.indexOf(t ?? this.ran ?? tasks[0]);
      if (i >= 0) this.paths[i] = fnv(fnv(this.paths[i], 0x5eed), v);
    };
    if (engine) {
      const prev = engine.onOpStart;
      engine.onOpStart = (tc, index) => {
        prev?.(tc, index);
        this.paths[0] = fnv(0x0b5e, engine.stateWord());
      };
    }
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
        this.paths[i] = fnv(0x1d1e, ++this.idles[i]);
      } else if (w === null) {
        const top = cur.stack[cur.stack.length - 1] ?? '';
        this.paths[i] = hashString(fnv(this.paths[i], cur.stack.length), top);
      }
    }
    const t = this.inner!.pick(runnable, n, step);
    this.ran = t;
    return t;
  }

  /** Everything that decides what happens next: the model's state and where each task is. */
  key(): string {
    const k = this.k;
    const ip = k.inode;
    let h = BASIS;
    for (const v of [ip.i_size, +ip.diskDax, +ip.journalData, +ip.sDax, +ip.dontcache, ip.refs, +ip.evicted, +ip.freeing, +ip.willFree, +ip.sync, +ip.onLru, ip.loads, k.flips, this.engine?.fileSize ?? 0]) h = fnv(h, v);
    const d = k.dentry;
    h = d ? fnv(fnv(fnv(fnv(h, d.count + 1), +d.lru), +d.referenced), +d.dontcache) : fnv(h, 0);
    // the S_DAX-after-close check compares with the last moment the file was free: which flip and flag it saw
    const free = k.lastFree;
    h = free ? fnv(fnv(fnv(h, free.seq), free.flips), +free.diskDax) : fnv(h, 0);
    for (let b = 0; b < ip.blocks.length; b++) {
      const p = ip.blocks[b];
      if (p === HOLE) continue;
      h = fnv(fnv(h, b), ip.unwritten[b]);
      if (!ip.unwritten[b]) h = hashBytes(h, k.media.block(p));
    }
    const entries = [...ip.mapping.entries.entries()].sort((a, b) => a[0] - b[0]);
    for (const [i, e] of entries) {
      h = fnv(h, i);
      if (e instanceof DaxEntry) {
        h = fnv(fnv(fnv(fnv(h, e.dirty ? 3 : 2), DAX_KINDS.indexOf(e.kind)), e.pfn), e.order);
        h = fnv(h, e.locker ? e.locker.pid : 0);
      } else {
        h = fnv(fnv(fnv(fnv(h, +e.dirty), +e.uptodate), e.mapcount), e.count);
        h = fnv(fnv(h, e.locker ? e.locker.pid : 0), e.mapping ? 1 : 0);
        h = hashBytes(h, e.data);
      }
    }
    for (const vma of ip.mapping.i_mmap) {
      h = fnv(fnv(fnv(fnv(h, vma.pgoff), vma.npages), vma.vm_flags), vma.vstart);
      h = hashString(fnv(fnv(h, +vma.linked), vma.file ? vma.file.f_count : 0), vma.vm_ops?.name ?? '');
      for (const [pg, pte] of [...vma.ptes].sort((a, b) => a[0] - b[0])) h = fnv(fnv(fnv(h, pg), pte.pfn), +pte.writable + (pte.page ? 4 : 0) + (pte.huge ? 8 : 0));
      for (const r of vma.pteTables) h = fnv(h, r);
    }
    for (const sem of [ip.iolock, ip.mmaplock, k.journalFlagSem, k.mmapSem] as RwSem[]) {
      h = fnv(h, sem.writer ? sem.writer.pid : 0);
      for (const r of sem.readers) h = fnv(h, r.pid);
      for (const w of sem.waiters) h = fnv(h, w.t.pid + (w.write ? 1 << 20 : 0));
    }
    let s = h.toString(36);
    this.tasks.forEach((t, i) => (s += `|${t.done ? 'd' : this.paths[i].toString(36)}`));
    return s;
  }
}
