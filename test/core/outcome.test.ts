import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromArgv } from '../../src/cli/program.js';
import { classify, exitCode, runRecord, signature, verdict } from '../../src/core/outcome.js';
import { FsxExit, ReplayDiverged } from '../../src/fsx/engine.js';
import { IOLOCK, MMAPLOCK, fs_lock } from '../../src/kernel/fs/generic.js';
import { buildMachine, flipperTaskFor } from '../../src/kernel/machine.js';
import { FaultLoop } from '../../src/kernel/mm/memory.js';
import { PlanStrategy } from '../../src/sched/plan.js';
import { runSeeds } from '../../src/sweep/pool.js';
import { cli, tmp } from '../helpers.js';

/** The same seed as a single run (--summary), in a sweep's NDJSON, and in a scenario. */
async function everywhere(args: string[], seed: number): Promise<{ single: Record<string, unknown>; sweep: Record<string, unknown>; scenario: string }> {
  const d = tmp();
  const f = join(d, 'f');
  await cli([...args, '-q', '-S', String(seed), '--summary', join(d, 's.json'), f]);
  const single = JSON.parse(readFileSync(join(d, 's.json'), 'utf8')) as Record<string, unknown>;
  await cli(['sweep', '--seeds', `${seed}..${seed}`, '--jobs', '1', '--out', join(d, 'o.ndjson'), ...args]);
  const sweep = JSON.parse(readFileSync(join(d, 'o.ndjson'), 'utf8').trim()) as Record<string, unknown>;
  const sc = join(d, 'sc.json');
  const kernel = args[args.indexOf('--kernel') + 1] ?? 'immediate';
  const fs = args.includes('--fs') ? args[args.indexOf('--fs') + 1] : 'xfs';
  const rest = args.filter((a, i) => !['--kernel', '--fs', '-N'].includes(a) && !['--kernel', '--fs', '-N'].includes(args[i - 1]));
  const ops = Number(args[args.indexOf('-N') + 1]);
  writeFileSync(sc, JSON.stringify({ name: 'x', fs, kernel, args: rest, seeds: `${seed}..${seed}`, ops, expect: { clean: true } }));
  const s = await cli(['scenario', 'run', sc]);
  return { single, sweep, scenario: s.stdout };
}

const same = (a: Record<string, unknown>, b: Record<string, unknown>): void => {
  for (const k of ['verdict', 'signature', 'exitCode', 'ops', 'steps', 'flips', 'seed', 'kernel', 'fs']) expect(b[k], k).toEqual(a[k]);
};

describe('one outcome everywhere: a run, a sweep, a scenario, explore', () => {
  const kinds: [string, string[], number, string, string, number][] = [
    ['a kernel oops', ['-N', '20000', '--kernel', 'immediate'], 4, 'oops', 'iomap_page_mkwrite', 50],
    ['a kernel BUG', ['-N', '20000', '--kernel', 'locked'], 7, 'bug', 'vm_insert_mixed', 50],
    ["fsx's check (READ BAD DATA)", ['-N', '20000', '--kernel', 'immediate', '--fs', 'ext4'], 2, 'READ BAD DATA', 'READ BAD DATA', 110],
    ['a clean run', ['-N', '3000', '--kernel', 'deferred'], 1, 'ok', '', 0],
  ];
  for (const [what, args, seed, v, sig, code] of kinds) {
    it(`${what}: same verdict, signature and exit code`, async () => {
      const e = await everywhere(args, seed);
      expect(e.single.verdict).toBe(v);
      expect(e.single.signature).toBe(sig);
      expect(e.single.exitCode).toBe(code);
      same(e.single, e.sweep);
      expect(e.scenario).toContain(sig ? `${sig} 1` : 'clean 1');
    });
  }

  it('explore reports a failure with the verdict, signature and exit code a run of its script gives', async () => {
    const d = tmp();
    writeFileSync(join(d, 'p.fsxops'), 'mapwrite 0x0 0x1000 0x0\n');
    const r = await cli(['explore', join(d, 'p.fsxops'), '--out-dir', d]);
    const m = /failure\s+(\w+) in (\w+) \(exit (\d+)\).*daxfsx --replay-ops=(\S+) (\S+)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const replay = await cli(['-q', '--summary', join(d, 's.json'), `--replay-ops=${m![4]}`, m![5]]);
    const s = JSON.parse(readFileSync(join(d, 's.json'), 'utf8'));
    expect([s.verdict, s.signature, String(s.exitCode)]).toEqual([m![1], m![2], m![3]]);
    expect(replay.code).toBe(Number(m![3]));
  });
});

describe('the one classifier', () => {
  const m = () => buildMachine({ trace: false, hungSteps: 300 });

  it('a deadlock built by hand: hung, "deadlock in <the lock helper>", exit 51, with the lock state', () => {
    const mm = m();
    const a = mm.fsx;
    const b = flipperTaskFor(0);
    mm.sched.strategy = new PlanStrategy(
      [
        { task: a, until: () => mm.k.inode.mmaplock.writer === a },
        { task: b, until: () => mm.k.inode.iolock.writer === b },
      ],
      [a, b],
    );
    const N = { iolock: 'xfs_ilock', mmaplock: 'xfs_ilock' } as Parameters<typeof fs_lock>[1];
    mm.sched.add(a, (function* () {
      yield* fs_lock(mm.k, N, a, MMAPLOCK, true);
      yield* fs_lock(mm.k, N, a, IOLOCK, true);
    })());
    mm.sched.add(b, (function* () {
      yield* fs_lock(mm.k, N, b, IOLOCK | MMAPLOCK, true);
    })());
    let o = null;
    try {
      mm.sched.run(a);
    } catch (e) {
      o = classify(e, mm.k);
    }
    expect(o?.kind).toBe('hung');
    expect(verdict(o!)).toBe('hung');
    expect(signature(o!)).toBe('deadlock in xfs_ilock');
    expect(exitCode(o!)).toBe(51);
    expect(o!.kind === 'hung' && o!.locks.join('; ')).toMatch(/xfs_io\/6060 holds IOLOCK for write; fsx\/6052 waits for IOLOCK \(write\); fsx\/6052 holds MMAPLOCK for write/);
    const rec = runRecord(configFromArgv([]), o!, { ops: 0, steps: 1, flips: 0 });
    expect([rec.verdict, rec.signature, rec.exitCode]).toEqual(['hung', 'deadlock in xfs_ilock', 51]);
  });

  it('a task blocked past the bound: hung, "blocked in <the lock helper>", exit 51', () => {
    const mm = m();
    const holder = flipperTaskFor(0);
    const N = { iolock: 'xfs_ilock', mmaplock: 'xfs_ilock' } as Parameters<typeof fs_lock>[1];
    mm.sched.add(holder, (function* () {
      yield* fs_lock(mm.k, N, holder, IOLOCK, true);
      for (;;) if (mm.k.tick()) yield;
    })());
    mm.sched.add(mm.fsx, (function* () {
      yield* fs_lock(mm.k, N, mm.fsx, IOLOCK, false);
    })());
    let o = null;
    try {
      mm.sched.run(mm.fsx);
    } catch (e) {
      o = classify(e, mm.k);
    }
    expect(signature(o!)).toBe('blocked in xfs_ilock');
    expect(exitCode(o!)).toBe(51);
  });

  it('a fault that never makes progress, an fsx check, a divergence: each its own words and exit', () => {
    const k = m().k;
    const t = flipperTaskFor(0);
    const loop = classify(new FaultLoop(t, ['page_fault', 'handle_mm_fault'], 0, 1000), k)!;
    expect([verdict(loop), signature(loop), exitCode(loop)]).toEqual(['hung', 'no progress in handle_mm_fault', 51]);
    const bad = classify(new FsxExit(110, 'READ BAD DATA'), k)!;
    expect([verdict(bad), signature(bad), exitCode(bad)]).toEqual(['READ BAD DATA', 'READ BAD DATA', 110]);
    const div = classify(new ReplayDiverged('f:3: diverged'), k)!;
    expect([verdict(div), exitCode(div)]).toEqual(['replay diverged', 100]);
    expect(classify(new Error('a daxfsx bug'), k)).toBeNull();
  });

  it('a sweep worker gets a config, never argv, and its records match', async () => {
    const config = configFromArgv(['-N', '20000', '--kernel', 'locked']);
    const { results } = await runSeeds(config, [7], 1);
    expect(results[0]).toMatchObject({ seed: 7, kernel: 'locked', verdict: 'bug', signature: 'vm_insert_mixed', exitCode: 50 });
  });
});
