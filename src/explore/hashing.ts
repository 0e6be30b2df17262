import type { FsxEngine } from '../fsx/engine.js';
import { DaxEntry, HOLE, type Kernel } from '../kernel/core.js';
import type { Strategy } from '../sched/strategy.js';
import type { Task } from '../sched/task.js';

function fnv(h: number, x: number): number {
  return Math.imul(h ^ x, 0x01000193) >>> 0;
}

function hashBytes(h: number, b: Uint8Array): number {
  const w = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
  for (let i = 0; i < w.length; i++) h = fnv(h, w[i]);
  return h;
}

/**
 * Wraps a strategy and keeps, for each task, a hash of where it is in its
 * own code: the frames it passed and the values it read from the model
 * (IS_DAX, sizes; without them two runs that took different branches look
 * alike and the pruning is unsound). `key()` is the state: the model's
 * data and every task's position, for explore's "seen with as much budget".
 */
export class StateHashing implements Strategy {
  readonly everyStep = true;
  private readonly paths: number[];
  private ran: Task | null = null;
  inner: Strategy | undefined;

  constructor(
    private readonly k: Kernel,
    private readonly engine: FsxEngine,
    private readonly tasks: readonly Task[],
  ) {
    this.paths = tasks.map(() => 0x811c9dc5);
    // the model reports each value a task reads (a tracepoint); fold it into that task's path
    k.observer = (t, v) => {
      const i = this.tasks.indexOf(t ?? this.ran ?? tasks[0]);
      if (i >= 0) this.paths[i] = fnv(fnv(this.paths[i], 0x5eed), v);
    };
  }

  get name(): string {
    return this.inner?.name ?? 'hashing';
  }

  pick(runnable: readonly Task[], n: number, step: number): Task {
    const cur = this.ran;
    if (cur) {
      const i = this.tasks.indexOf(cur);
      const top = cur.stack[cur.stack.length - 1] ?? '';
      let h = fnv(this.paths[i], cur.stack.length);
      for (let c = 0; c < top.length; c++) h = fnv(h, top.charCodeAt(c));
      this.paths[i] = h;
    }
    const t = this.inner!.pick(runnable, n, step);
    this.ran = t;
    return t;
  }

  /** Everything that decides what happens next: the model's state and where each task is. */
  key(): string {
    const k = this.k;
    const ip = k.inode;
    let h = 0x811c9dc5;
    for (const v of [ip.i_size, +ip.diskDax, +ip.sDax, +ip.dontcache, ip.refs, +ip.evicted, k.flips, this.engine.fileSize]) h = fnv(h, v);
    for (let b = 0; b < ip.blocks.length; b++) {
      const p = ip.blocks[b];
      if (p === HOLE) continue;
      h = fnv(fnv(h, b), ip.unwritten[b]);
      if (!ip.unwritten[b]) h = hashBytes(h, k.media.block(p));
    }
    const entries = [...ip.mapping.entries.entries()].sort((a, b) => a[0] - b[0]);
    for (const [i, e] of entries) {
      h = fnv(h, i);
      if (e instanceof DaxEntry) h = fnv(h, e.dirty ? 3 : 2);
      else {
        h = fnv(fnv(fnv(h, +e.dirty), +e.uptodate), e.mapcount);
        h = fnv(h, e.locker ? e.locker.pid : 0);
        h = hashBytes(h, e.data);
      }
    }
    for (const vma of ip.mapping.i_mmap) {
      h = fnv(fnv(fnv(h, vma.pgoff), vma.vm_flags), vma.vm_ops?.name.length ?? 0);
      for (const [pg, pte] of vma.ptes) h = fnv(fnv(fnv(h, pg), pte.pfn), +pte.writable + (pte.page ? 4 : 0));
    }
    for (const sem of [ip.iolock, ip.mmaplock, k.mmapSem]) {
      h = fnv(h, sem.writer ? sem.writer.pid : 0);
      for (const r of sem.readers) h = fnv(h, r.pid);
      for (const w of sem.waiters) h = fnv(h, w.t.pid + (w.write ? 1 << 20 : 0));
    }
    let s = h.toString(36);
    this.tasks.forEach((t, i) => (s += `|${t.done ? 'd' : this.paths[i].toString(36)}`));
    return s;
  }
}
