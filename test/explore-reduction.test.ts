import { describe, expect, it } from 'vitest';
import { defaultConfig, withSeed, type RunConfig } from '../src/core/config.js';
import { recordRun, type Script } from '../src/core/scripted.js';
import { explore, exploreRuns, programRunner, type ExploreOptions, type ExploreResult, type Runner } from '../src/explore/explore.js';
import { StepLog } from '../src/explore/steps.js';
import type { Mapping } from '../src/fsx/file.js';
import { parseOps } from '../src/fsx/fsxops.js';
import { OBJ, SLOTS, SLOT_BITS, instrumentModel, objName, slotOf } from '../src/kernel/access.js';
import { add_to_page_cache_lru } from '../src/kernel/mm/filemap.js';
import { DaxEntry, Page, type Kernel } from '../src/kernel/core.js';
import { DESIGNS, type DesignName } from '../src/kernel/designs.js';
import { buildMachine, flipperTaskFor, type Machine } from '../src/kernel/machine.js';
import type { Waitable } from '../src/sched/task.js';
import { runAsExplore } from './explore-plan.js';
import { ext4OldVmaStore } from './kernel/play.js';

/**
 * Partial-order reduction loses nothing: on the hand-built failing plans
 * (test/kernel/interleavings.test.ts, dax-versions.test.ts) and on
 * generated programs across designs, seeds and both file systems, the
 * reduced exploration finds the same failure signatures and the same set
 * of final outcomes (verdict, signature, the file's final contents, and for
 * a plan what fsx read back) as --no-reduction, in fewer runs.
 */

type Body = (m: Machine, seen: number[]) => Generator<unknown, void, unknown>;

interface Setup {
  fs?: 'xfs' | 'ext4';
  kernel?: DesignName;
  initialDax?: boolean;
  panicOnWarn?: boolean;
}

const filled = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

/**
 * A plan's program as explore sees it: fsx opens the file and runs `body`
 * (which notes what it reads in `seen`), the flipper waits idle and then
 * makes one chattr to `flipTo`; every interleaving of the two within the
 * bounds is a run.
 */
function planRunner(setup: Setup, body: Body, flipTo: boolean, o: ExploreOptions, newLog: (m: Machine) => StepLog = () => new StepLog()): Runner {
  return (prefix, record, ctl) => {
    const m = buildMachine({ ...setup, trace: false });
    const flipper = flipperTaskFor(0);
    const idle: Waitable = { ready: () => true, describe: () => 'between flips' };
    const seen: number[] = [];
    m.sched.add(
      m.fsx,
      (function* () {
        yield* m.file.open({ direct: false });
        yield* body(m, seen);
      })(),
    );
    m.sched.add(
      flipper,
      (function* () {
        yield idle;
        yield* m.k.fs.chattr(m.k, flipper, flipTo);
      })(),
    );
    return runAsExplore(m, [m.fsx, flipper], idle, prefix, record, ctl, o, () => seen.join(','), () => newLog(m));
  };
}

const OPTS: ExploreOptions = { maxFlips: 1, preemptions: 2, maxSteps: 200_000, budgetMs: 60_000, outcomes: true };

/** Both explorations, exhausted, with the same failures and outcomes; the reduced one no bigger. */
function expectSame(off: ExploreResult, on: ExploreResult): void {
  expect(off.exhausted).toBe(true);
  expect(on.exhausted).toBe(true);
  expect(on.reduction.on).toBe(true);
  expect(off.reduction.on).toBe(false);
  expect([...on.failures.keys()].sort()).toEqual([...off.failures.keys()].sort());
  expect([...on.outcomes!].sort()).toEqual([...off.outcomes!].sort());
  expect(on.interleavings).toBeLessThanOrEqual(off.interleavings);
  expect(off.pruned.reduction + off.pruned.sleepSet).toBe(0);
}

async function both(runner: Runner, o: ExploreOptions = OPTS): Promise<{ off: ExploreResult; on: ExploreResult }> {
  return { off: await exploreRuns(runner, { ...o, reduction: false }), on: await exploreRuns(runner, { ...o, reduction: true }) };
}

/** Write 8 KiB, map it, store into the first page (the seed's NULL dereference; vm_insert_mixed's BUG). */
const mapWriteBody: Body = function* (m, seen) {
  const f = m.file;
  yield* f.pwrite(filled(8192, 1), 0, 8192, 0, 0);
  const map = (yield* f.mmap(0, 8192, true)) as Mapping;
  seen.push(yield* f.mapWrite(map, 0, filled(16, 7), 0, 16));
  yield* f.munmap(map);
};

/** Two buffered writes and a read back: a write into the page cache of a DAX inode is lost to the read. */
const lostWriteBody: Body = function* (m, seen) {
  const f = m.file;
  const got = new Uint8Array(4096);
  yield* f.pwrite(filled(4096, 1), 0, 4096, 0, 0);
  yield* f.pwrite(filled(4096, 2), 0, 4096, 0, 0);
  yield* f.pread(got, 0, 4096, 0, 0);
  seen.push(got[0]);
};

/** A buffered write, then a store through a mapping: the page a racing flip strands is replaced (WARN) or written back (EIO). */
const strandBody: Body = function* (m, seen) {
  const f = m.file;
  const got = new Uint8Array(4096);
  yield* f.pwrite(filled(4096, 3), 0, 4096, 0, 0);
  const map = (yield* f.mmap(0, 4096, true)) as Mapping;
  seen.push(yield* f.mapWrite(map, 0, filled(16, 7), 0, 16));
  seen.push(yield* f.msync(map, true));
  yield* f.munmap(map);
  yield* f.pread(got, 0, 4096, 0, 0);
  seen.push(got[0], got[100]);
};

/** ext4 4.13: a store through an old DAX VMA beneath a cached page (chattr +j clears S_DAX). */
const ext4Body: Body = function* (m, seen) {
  const got = new Uint8Array(16);
  yield* ext4OldVmaStore(m, got);
  seen.push(got[0]);
};

describe('explore with reduction finds what --no-reduction finds: the hand-built failing plans', () => {
  it("the seed's NULL dereference (immediate): iomap_page_mkwrite, every outcome", async () => {
    const { off, on } = await both(planRunner({ kernel: 'immediate' }, mapWriteBody, false, OPTS));
    expectSame(off, on);
    expect([...on.failures.keys()]).toContain('iomap_page_mkwrite');
    expect(on.interleavings * 2).toBeLessThan(off.interleavings);
  });

  for (const kernel of ['immediate', 'locked', 'refuse-mapped'] as const) {
    it(`vm_insert_mixed's BUG on a VMA set up before the flag was set (${kernel})`, async () => {
      const { off, on } = await both(planRunner({ kernel, initialDax: false }, mapWriteBody, true, OPTS));
      expectSame(off, on);
      expect([...on.failures.keys()]).toContain('vm_insert_mixed');
    });
  }

  it('a buffered write lost to a DAX read (immediate): the same values read back', async () => {
    const { off, on } = await both(planRunner({ kernel: 'immediate', initialDax: false }, lostWriteBody, true, OPTS));
    expectSame(off, on);
    expect(off.outcomes!.size).toBeGreaterThan(1);
  });

  it('a stranded page: the WARNING with panic_on_warn, and EIO from msync without (immediate)', async () => {
    const warn = await both(planRunner({ kernel: 'immediate', initialDax: false, panicOnWarn: true }, strandBody, true, OPTS));
    expectSame(warn.off, warn.on);
    expect([...warn.on.failures.keys()]).toContain('__delete_from_page_cache');
    const eio = await both(planRunner({ kernel: 'immediate', initialDax: false }, strandBody, true, OPTS));
    expectSame(eio.off, eio.on);
    expect(eio.off.outcomes!.size).toBeGreaterThan(2);
  });

  it('ext4 4.13: chattr +j under a DAX mapping', async () => {
    const { off, on } = await both(planRunner({ fs: 'ext4', kernel: 'immediate' }, ext4Body, false, OPTS));
    expectSame(off, on);
    expect(off.outcomes!.size).toBeGreaterThan(1);
  });

  it('with three preemptions: the NULL dereference plan', async () => {
    const o = { ...OPTS, preemptions: 3 };
    const { off, on } = await both(planRunner({ kernel: 'immediate' }, mapWriteBody, false, o), o);
    expectSame(off, on);
  });

  for (const kernel of ['ignored', 'deferred'] as const) {
    it(`${kernel}: the plans stay clean, reduced or not`, async () => {
      const { off, on } = await both(planRunner({ kernel, initialDax: false }, strandBody, true, OPTS));
      expectSame(off, on);
      expect(on.failures.size).toBe(0);
    });
  }
});

/** The first n ops of a seed's stream under a design, as explore --ops n builds them, or the given op lines. */
function program(fs: 'xfs' | 'ext4', kernel: DesignName, seed: number, n: number | string, initialDax = true): { config: RunConfig; prog: Script } {
  const base = withSeed(defaultConfig(), seed);
  const config: RunConfig = { fsx: base.fsx, model: { ...base.model, fs, kernel: DESIGNS[kernel], flip: true, initialDax } };
  if (typeof n === 'string') return { config, prog: { ops: parseOps(n, 'p.fsxops').ops, flips: [] } };
  const gen = recordRun({ fsx: { ...config.fsx, numops: n * 20 }, model: { ...config.model, flip: false } });
  return { config, prog: { ops: gen.script.ops.slice(0, n).map((op, i) => ({ ...op, line: i + 1 })), flips: [] } };
}

describe('explore with reduction finds what --no-reduction finds: programs across designs, seeds and file systems', () => {
  // [fs, design, seed, the first n ops of its stream or op lines, flips, the file DAX at first]
  const cases: ['xfs' | 'ext4', DesignName, number, number | string, number, boolean][] = [
    ['xfs', 'immediate', 7, 1, 1, true],
    ['xfs', 'immediate', 1, 'write 0x0 0x2000 0x0\nzero_range 0x0 0x1000 0x2000\nread 0x0 0x2000 0x2000\n', 1, false],
    ['xfs', 'locked', 1, 'mapwrite 0x0 0x2000 0x0\n', 1, false],
    ['xfs', 'fault-locked', 7, 1, 1, true],
    ['xfs', 'refuse-mapped', 3, 2, 2, true],
    ['xfs', 'ignored', 1, 'write 0x0 0x2000 0x0\nmapwrite 0x0 0x1000 0x2000\n', 2, true],
    ['xfs', 'deferred', 3, 2, 2, true],
    ['xfs', 'deferred-5.8', 1, 'write 0x0 0x2000 0x0 close_open\nwrite 0x0 0x1000 0x2000 close_open\nread 0x0 0x2000 0x2000\n', 2, true],
    ['ext4', 'immediate', 1, 'write 0x0 0x2000 0x0\nmapwrite 0x1000 0x1000 0x2000\n', 1, true],
    ['ext4', 'locked', 9, 1, 2, true],
    ['ext4', 'deferred', 1, 'write 0x0 0x2000 0x0 close_open\nmapwrite 0x0 0x1000 0x2000 close_open\n', 2, true],
  ];
  it('with one preemption (the bound binds harder): xfs immediate, seed 5, 2 ops, 2 flips', async () => {
    const { config, prog } = program('xfs', 'immediate', 5, 2);
    const o = { ...OPTS, maxFlips: 2, preemptions: 1 };
    expectSame(await explore(config, prog, { ...o, reduction: false }), await explore(config, prog, { ...o, reduction: true }));
  });

  it("a run's replayed steps keep the run before's records: recording them again changes nothing", async () => {
    const { config, prog } = program('xfs', 'immediate', 7, 1);
    const o = { ...OPTS, maxFlips: 2 };
    const { runner } = programRunner(config, prog, o);
    const replayed = await exploreRuns(runner, o);
    const recorded = await exploreRuns((prefix, record, ctl) => runner(prefix, record, ctl && { ...ctl, replay: undefined }), o);
    const sum = (r: ExploreResult): unknown => [r.interleavings, r.states, r.pruned, [...r.failures.keys()].sort(), [...r.outcomes!].sort()];
    expect(sum(replayed)).toEqual(sum(recorded));
    expect(replayed.interleavings).toBeGreaterThan(300);
  });

  it('a flip that takes mmap_sem under MMAPLOCK (updateVmas under-locks): the ABBA deadlock with a fault is found, with those two locks in every order', async () => {
    const { config, prog } = program('xfs', 'locked', 1, 'mapwrite 0x0 0x2000 0x0\nmapwrite 0x1000 0x1000 0x2000\n', true);
    const uv: RunConfig = { ...config, model: { ...config.model, kernel: { ...DESIGNS.locked, name: 'uv', updateVmas: 'under-locks' } } };
    const o = { ...OPTS, maxFlips: 1 };
    const off = await explore(uv, prog, { ...o, reduction: false });
    const on = await explore(uv, prog, { ...o, reduction: true });
    expectSame(off, on);
    expect([...on.failures.keys()]).toContain('deadlock in xfs_ilock');
    expect(on.reduction.eagerLocks).toEqual(['MMAPLOCK', 'MMAPSEM']);
  });

  for (const [fs, kernel, seed, n, flips, dax] of cases) {
    it(`${fs} ${kernel}, seed ${seed}, ${typeof n === 'number' ? `${n} op(s)` : n.trim().split('\n').length + ' op(s) given'}, ${flips} flip(s)${dax ? '' : ', not DAX at first'}`, async () => {
      const { config, prog } = program(fs, kernel, seed, n, dax);
      const o = { ...OPTS, maxFlips: flips };
      const off = await explore(config, prog, { ...o, reduction: false });
      const on = await explore(config, prog, { ...o, reduction: true });
      expectSame(off, on);
    });
  }
});

describe('the state hash prunes nothing that matters: explorations with and without it find the same failures and outcomes', () => {
  // [fs, design, seed, the first n ops of its stream or op lines, flips, preemptions]: programs whose whole tree can be run without hashing
  const cases: ['xfs' | 'ext4', DesignName, number, number | string, number, number][] = [
    ['xfs', 'immediate', 5, 2, 1, 1],
    ['xfs', 'immediate', 1, 'mapwrite 0x0 0x2000 0x0\nread 0x0 0x2000 0x2000\n', 2, 1],
    ['xfs', 'immediate', 1, 'write 0x0 0x2000 0x0\nmapwrite 0x0 0x1000 0x2000\n', 1, 2],
    // a load through a mapping that spans three pages, with two flips: runs whose copy met the pages differently meet again
    ['xfs', 'immediate', 1, 'write 0x0 0x3000 0x0\nmapread 0x1000 0x2000 0x3000\n', 2, 2],
    ['xfs', 'fault-locked', 7, 1, 2, 1],
    ['xfs', 'deferred-5.8', 1, 'write 0x0 0x2000 0x0 close_open\nread 0x0 0x2000 0x2000\n', 2, 1],
    ['ext4', 'locked', 9, 1, 2, 1],
  ];
  for (const [fs, kernel, seed, n, flips, preemptions] of cases) {
    it(`${fs} ${kernel}, seed ${seed}, ${typeof n === 'number' ? `${n} op(s)` : n.trim().split('\n').length + ' op(s) given'}, ${flips} flip(s), ${preemptions} preemption(s)`, async () => {
      const { config, prog } = program(fs, kernel, seed, n, true);
      const o = { ...OPTS, maxFlips: flips, preemptions };
      const full = await explore(config, prog, { ...o, reduction: false, stateHashing: false });
      expect(full.exhausted).toBe(true);
      expect(full.stateHashing).toBe(false);
      expect(full.pruned.stateHash).toBe(0);
      let pruned = 0;
      for (const reduction of [false, true]) {
        const hashed = await explore(config, prog, { ...o, reduction });
        expect(hashed.exhausted).toBe(true);
        expect([...hashed.failures.keys()].sort()).toEqual([...full.failures.keys()].sort());
        expect([...hashed.outcomes!].sort()).toEqual([...full.outcomes!].sort());
        expect(hashed.interleavings).toBeLessThanOrEqual(full.interleavings);
        pruned += hashed.pruned.stateHash;
      }
      // the hash did prune here: the comparison is not between two identical explorations
      expect(pruned).toBeGreaterThan(0);
    });
  }
});

/**
 * The shared state, object by object (OBJ), read straight from the model:
 * an oracle the access records are checked against.
 */
function shared(m: Machine): Map<number, string> {
  const k: Kernel = m.k;
  const ip = k.inode;
  const ids = ((m as unknown as { ids?: { of: WeakMap<object, number>; next: number } }).ids ??= { of: new WeakMap(), next: 1 });
  const id = (o: object | null | undefined): number => {
    if (!o) return 0;
    let n = ids.of.get(o);
    if (n === undefined) ids.of.set(o, (n = ids.next++));
    return n;
  };
  const sem = (s: typeof ip.iolock): string => `${s.writer?.pid ?? 0}|${s.readers.map((t) => t.pid)}|${s.waiters.map((w) => `${w.t.pid}${w.write}`)}`;
  const hash = (b: Uint8Array): number => {
    let h = 0x811c9dc5;
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193) >>> 0;
    return h;
  };
  const entries = [...ip.mapping.entries.entries()];
  const distinct = [...new Set(entries.map(([, e]) => e))];
  const vmas = [...ip.mapping.i_mmap];
  const media = k.media as unknown as { free: number[]; used: number };
  // the files the other tasks can reach: those of the VMAs in the mapping (fsx's own struct file is its own)
  const files = vmas.map((v) => v.file).filter((f) => f);
  const out = new Map<number, string>();
  out.set(OBJ.SDAX, `${ip.sDax}`);
  out.set(OBJ.DISK, `${ip.diskDax},${ip.journalData},${k.flips}`);
  out.set(OBJ.ISIZE, `${ip.i_size}`);
  out.set(OBJ.IOLOCK, sem(ip.iolock));
  out.set(OBJ.MMAPLOCK, sem(ip.mmaplock));
  out.set(OBJ.JSEM, sem(k.journalFlagSem));
  out.set(OBJ.INODE, `${ip.refs},${ip.evicted},${ip.freeing},${ip.willFree},${ip.sync},${ip.onLru},${ip.loads},${ip.dontcache}`);
  out.set(OBJ.CACHE, `${ip.mapping.nrpages},${ip.mapping.nrexceptional}`);
  // per object (by id): compared where the object is there before and after (its coming and going is its slot's)
  const each = (f: (e: Page | DaxEntry) => unknown): string => distinct.map((e) => `${id(e)}=${String(f(e))}`).join(';');
  out.set(OBJ.PAGELOCK, each((e) => e.locker?.pid ?? 0));
  // each page slot: which entry is at each of its indices, that entry's state and bytes, and the PTEs at those offsets
  const state = (e: Page | DaxEntry): string => (e instanceof Page ? `${e.uptodate}${e.dirty}${id(e.mapping)}${e.count}/${e.mapcount}#${hash(e.data)}` : `${e.kind}${e.pfn}${e.dirty}`);
  for (const b of SLOT_BITS) {
    const here = entries.filter(([i]) => slotOf(i) === b).map(([i, e]) => `${i}:${id(e)}:${state(e)}`);
    const ptes = vmas.flatMap((v) => [...v.ptes].filter(([i]) => slotOf(i) === b).map(([i, p]) => `${id(v)}/${i}=${id(p.page)}/${p.pfn}/${p.writable}/${p.huge}`));
    out.set(b, `${here}|${ptes}`);
  }
  out.set(OBJ.MM, vmas.map((v) => `${id(v)}:${v.vm_flags},${v.vm_ops?.name},${v.linked},${v.vstart},${id(v.file)},${[...v.pteTables]}`).join(';'));
  let bm = `${ip.blocks.join()}|${ip.unwritten.join()}|${media.free.join()}|${media.used}`;
  for (let b = 0; b < ip.blocks.length; b++) if (ip.blocks[b] >= 0) bm += `,${hash(k.media.block(ip.blocks[b]))}`;
  out.set(OBJ.BMAP, bm);
  out.set(OBJ.WARN, `${k.warnings.length}`);
  out.set(OBJ.FILE, files.map((f) => `${id(f)}=${f!.f_count}`).join(';'));
  const d = k.dentry;
  out.set(OBJ.DENTRY, d ? `${id(d)}:${d.count},${d.lru},${d.referenced},${d.dontcache}` : '-');
  out.set(OBJ.FREE, `${k.lastFree?.seq ?? 0},${k.freeSeq}`);
  return out;
}

const PER_OBJECT = OBJ.PAGELOCK | OBJ.FILE;

/** Whether an object's state differs; for the per-object ones, on the objects there both times. */
function changed(bit: number, a: string, b: string): boolean {
  if (!(bit & PER_OBJECT)) return a !== b;
  const m = new Map(a.split(';').map((x) => x.split('=') as [string, string]));
  return b.split(';').some((x) => {
    const [i, v] = x.split('=');
    return m.has(i) && m.get(i) !== v;
  });
}

/** A machine whose model records from the start, and `step(f)`: run f as one step of task 0, what it read and wrote. */
function recordedMachine(): { m: Machine; step: (f: () => void) => { r: number; w: number } } {
  const m = buildMachine({ trace: false });
  const log = new StepLog();
  log.attach(instrumentModel(m.k, log));
  const step = (f: () => void): { r: number; w: number } => {
    log.begin(0);
    f();
    log.end(0, 0);
    const j = log.length - 1;
    return { r: log.reads[j], w: log.writes[j] };
  };
  return { m, step };
}

/** A step log that checks every step's recorded writes against the oracle: what changed was recorded as written. */
class CheckedLog extends StepLog {
  private before: Map<number, string> | null = null;
  readonly missed: string[] = [];
  constructor(private readonly m: Machine) {
    super();
  }
  override begin(task: number): void {
    this.before = shared(this.m);
    super.begin(task);
  }
  override end(task: number, how: number): void {
    super.end(task, how);
    const after = shared(this.m);
    // a lock's takes and releases are its writes (as the sleep sets count them)
    const w = this.writesWithLocks(this.writes.length - 1);
    for (const [bit, v] of after) {
      if (changed(bit, this.before!.get(bit)!, v) && !(w & bit)) {
        const name = objName(bit);
        this.missed.push(`step ${this.length - 1} of task ${task} (${this.m.sched.tasks[task]?.stack.join('>')}) changed ${name} but did not record it`);
      }
    }
  }
}

describe('the access records', () => {
  const plans: [string, Setup, Body, boolean][] = [
    ['mapwrite, immediate', { kernel: 'immediate' }, mapWriteBody, false],
    ['mapwrite onto a VMA set up before the flag, locked', { kernel: 'locked', initialDax: false }, mapWriteBody, true],
    ['a stranded page, immediate', { kernel: 'immediate', initialDax: false }, strandBody, true],
    ['a stranded page, deferred', { kernel: 'deferred', initialDax: false }, strandBody, true],
    ['ext4 4.13, chattr +j', { fs: 'ext4', kernel: 'immediate' }, ext4Body, false],
  ];

  it('every change to a shared object, in every step of every reduced run (and of the first unreduced ones), is recorded as a write of that object', async () => {
    const missed: string[] = [];
    let steps = 0;
    for (const [, setup, body, flipTo] of plans) {
      const runner = planRunner(setup, body, flipTo, OPTS, (m) => {
        const l = new CheckedLog(m);
        const end = l.end.bind(l);
        l.end = (t, h, threw) => {
          end(t, h, threw);
          steps++;
          missed.push(...l.missed.splice(0));
        };
        return l;
      });
      await exploreRuns(runner, { ...OPTS, budgetMs: 3000 });
      // the unreduced search's runs place the flip everywhere, each recorded from its first step
      await exploreRuns((prefix, _record, ctl) => runner(prefix, true, ctl), { ...OPTS, reduction: false, maxInterleavings: 20 });
    }
    expect(missed.slice(0, 5)).toEqual([]);
    expect(steps).toBeGreaterThan(10_000);
  });

  it("one page's entry, state, bytes and PTEs are its slot's: another page's are independent of them, a walk of the cache reads every slot", () => {
    const { m, step } = recordedMachine();
    const k = m.k;
    const t = m.fsx;
    const mapping = k.inode.mapping;
    const [p0, p5] = [0, 5].map((i) => step(() => add_to_page_cache_lru(k, t, i)));
    const pages = [0, 5].map((i) => mapping.entries.get(i) as Page);
    const dirty0 = step(() => (pages[0].dirty = true));
    const bytes5 = step(() => (pages[1].data[7] = 1));
    const drop5 = step(() => mapping.entries.delete(5));
    const walk = step(() => [...mapping.entries.values()]);
    const conflict = (a: { r: number; w: number }, b: { r: number; w: number }): number => (a.w & (b.r | b.w)) | (a.r & b.w);
    expect(slotOf(0)).not.toBe(slotOf(5));
    expect(dirty0.w).toBe(slotOf(0));
    expect(bytes5.w).toBe(slotOf(5));
    // page 0's slot and page 5's touch nothing in common (but the cache's counts, which an insert changes)
    expect(conflict(dirty0, bytes5)).toBe(0);
    expect(conflict(dirty0, drop5)).toBe(0);
    expect(conflict(p0, p5) & ~OBJ.CACHE).toBe(0);
    // a walk reads every slot: it conflicts with a change to any page
    expect(walk.r & SLOTS).toBe(SLOTS);
    expect(conflict(walk, dirty0)).toBe(slotOf(0));
    expect(conflict(walk, drop5)).toBe(slotOf(5));
    // page 14 shares page 0's slot (a dependency too many, never one too few)
    expect(slotOf(14)).toBe(slotOf(0));
  });

  it('a page made while recording reports nothing until another task can find it, then reports its slot; constants cannot be assigned', () => {
    const { m, step } = recordedMachine();
    const k = m.k;
    const mapping = k.inode.mapping;
    let page: Page | undefined;
    const made = step(() => {
      page = mapping.objects.page(mapping, 3);
      page.dirty = true;
      page.count = 1;
    });
    const p = page!;
    expect(p).toBeInstanceOf(Page);
    // not in the cache yet: no other task can see it, and its fields report nothing
    expect(made).toEqual({ r: 0, w: 0 });
    expect(step(() => mapping.entries.set(3, p)).w).toBe(slotOf(3));
    expect(step(() => (p.dirty = false))).toEqual({ r: 0, w: slotOf(3) });
    expect(step(() => p.uptodate)).toEqual({ r: slotOf(3), w: 0 });
    // storing the value already there is a read
    expect(step(() => (p.count = 1))).toEqual({ r: slotOf(3), w: 0 });
    expect([p.dirty, p.count, p.index, p.mapping]).toEqual([false, 1, 3, mapping]);
    expect(() => ((p as { index: number }).index = 4)).toThrow(TypeError);
    // a plain object's constants (the roots', instrumented field by field) are read-only too
    expect(() => ((k.inode as { ino: number }).ino = 9)).toThrow(TypeError);
  });

  it('the check can fail: a change the records do not show is reported', () => {
    const m = buildMachine({ trace: false });
    // a log on a model that is not instrumented records nothing
    const log = new CheckedLog(m);
    log.begin(0);
    m.k.inode.sDax = !m.k.inode.sDax;
    m.k.inode.i_size = 4096;
    log.end(0, 0);
    expect(log.missed.map((x) => x.replace(/.* changed /, ''))).toEqual(['SDAX but did not record it', 'ISIZE but did not record it']);
  });

  it('two steps the records call independent commute: run in either order they reach the same state', async () => {
    let pairs = 0;
    const bad: string[] = [];
    for (const [name, setup, body, flipTo] of plans) {
      const o = { ...OPTS, budgetMs: 4000 };
      const runner = planRunner(setup, body, flipTo, o);
      const runs: { prefix: readonly number[]; r: ReturnType<Runner> }[] = [];
      // the runs of the unreduced search (each recorded), which place the flip everywhere
      await exploreRuns(
        (prefix, _record, ctl) => {
          const r = runner(prefix, true, ctl);
          if (runs.length < 40 && !r.blocked && !r.cut) runs.push({ prefix: prefix.slice(), r });
          return r;
        },
        { ...o, reduction: false },
      );
      for (const { r } of runs) {
        const log = r.log!;
        const pts = r.points;
        for (let k = 0; k + 1 < pts.length && pairs < 400; k++) {
          const a = pts[k];
          const b = pts[k + 1];
          if (b.step !== a.step + 1 || a.chosen === b.chosen || !a.runnable.includes(b.chosen)) continue;
          const i = a.step;
          const j = b.step;
          const dependent = (log.writesWithLocks(i) & (log.reads[j] | log.writesWithLocks(j))) | (log.reads[i] & log.writesWithLocks(j));
          if (dependent) continue;
          const choices = pts.map((p) => p.chosen);
          const straight = runner(choices.slice(0, k + 2), true);
          const swapped = runner([...choices.slice(0, k), b.chosen, a.chosen], true);
          // the state after both steps, where both runs make their next choice
          const at = (x: ReturnType<Runner>): string | undefined => {
            const p = x.points[k + 2];
            if (x.points[k + 1]?.step !== i + 1 || p?.step !== i + 2) return undefined;
            return p.hash.slice(0, p.hash.lastIndexOf('|'));
          };
          const s1 = at(straight);
          const s2 = at(swapped);
          if (s1 === undefined || s2 === undefined) continue;
          pairs++;
          if (s1 !== s2) bad.push(`${name}: steps ${i} (task ${a.chosen}) and ${j} (task ${b.chosen})`);
        }
      }
    }
    expect(bad).toEqual([]);
    expect(pairs).toBeGreaterThan(100);
  });
});
