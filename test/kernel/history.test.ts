import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from '../helpers.js';

/**
 * The history, found (KERNEL-HISTORY.md): each bug is found under the
 * design and release it belongs to -- the first seed of 1..12 that shows
 * it, with the options it needs -- and the same seeds run clean on the
 * release that fixed it. Nothing here names a design in the model: the
 * verdicts come out of the paths each release runs.
 */

interface Bug {
  name: string;
  fs: 'xfs' | 'ext4';
  /** The design (release) and options that have the bug. */
  found: string[];
  /** The release that fixed it, same options. */
  fixed: string[];
  /** What the failure's signature must match. */
  signature: RegExp;
}

const HISTORY: Bug[] = [
  {
    name: 'Aug 2017: NULL pointer dereference in iomap_page_mkwrite (the seed), fixed by 4.14 disabling the switch',
    fs: 'xfs',
    found: ['--kernel', 'immediate'],
    fixed: ['--kernel', 'ignored'],
    signature: /^iomap_page_mkwrite$/,
  },
  {
    name: "Jan Kara's VM_MIXEDMAP BUG in vm_insert_mixed, still there with every decision under the lock (locked); gone in 4.14",
    fs: 'xfs',
    found: ['--kernel', 'locked'],
    fixed: ['--kernel', 'ignored'],
    signature: /^vm_insert_mixed$/,
  },
  {
    name: 'ext4 4.13: S_DAX switched at runtime by chattr +j/-j under -o dax; 4.14 refuses it with EBUSY (e9072d859df3)',
    fs: 'ext4',
    found: ['--kernel', 'immediate'],
    fixed: ['--kernel', 'ignored'],
    signature: /^(READ BAD DATA|fallocate failed|msync failed|non-zero data past EOF)$/,
  },
  {
    name: '5.8: fast_dput keeps a DCACHE_REFERENCED dentry, S_DAX does not change after the last close; fixed in 5.11 (77573fa310d9)',
    fs: 'xfs',
    found: ['--kernel', 'deferred-5.8', '-c', '10', '--closeopen-drop', '0'],
    fixed: ['--kernel', 'deferred', '-c', '10', '--closeopen-drop', '0'],
    signature: /^S_DAX stale after last close$/,
  },
  {
    name: '5.8: iput_final evicts an I_DONTCACHE inode without writeback, dirty data is lost; fixed in 5.11 (88149082bb8e)',
    fs: 'xfs',
    found: ['--kernel', 'deferred-5.8', '-c', '10'],
    fixed: ['--kernel', 'deferred', '-c', '10'],
    signature: /^READ BAD DATA$/,
  },
];

async function verdictOf(d: string, fs: string, seed: number, args: string[]): Promise<{ verdict: string; signature: string; exitCode: number }> {
  const s = join(d, 's.json');
  await cli(['-q', '-S', String(seed), '-N', '3000', '--fs', fs, ...args, '--summary', s, join(d, 'f')]);
  return JSON.parse(readFileSync(s, 'utf8'));
}

describe('the history, found', () => {
  for (const bug of HISTORY) {
    it(bug.name, async () => {
      const d = tmp();
      let first = 0;
      for (let seed = 1; seed <= 12 && !first; seed++) {
        const r = await verdictOf(d, bug.fs, seed, bug.found);
        if (bug.signature.test(r.signature)) first = seed;
      }
      expect(first, `not found in seeds 1..12 with ${bug.found.join(' ')}`).toBeGreaterThan(0);
      for (let seed = 1; seed <= first; seed++) {
        const r = await verdictOf(d, bug.fs, seed, bug.fixed);
        expect(r.exitCode, `seed ${seed} with ${bug.fixed.join(' ')}: ${r.signature}`).toBe(0);
      }
    });
  }
});

describe("the thread's open question: does Dave Chinner's first fix still panic?", () => {
  it('fault-locked never dereferences a NULL vmf->page, but still hits the vm_insert_mixed BUG', async () => {
    const { runSeeds } = await import('../../src/sweep/pool.js');
    const { configFromArgv } = await import('../../src/cli/program.js');
    const seeds = Array.from({ length: 60 }, (_, i) => i + 1);
    const { results } = await runSeeds(configFromArgv(['-q', '-N', '20000', '--kernel', 'fault-locked']), seeds, 2);
    const sigs = new Set(results.map((r) => r.signature));
    expect(sigs.has('iomap_page_mkwrite')).toBe(false);
    expect(results.filter((r) => r.signature === 'vm_insert_mixed').length).toBeGreaterThan(40);
    // the same seeds under 4.13 as it was: the NULL dereference is among them
    const { results: before } = await runSeeds(configFromArgv(['-q', '-N', '20000', '--kernel', 'immediate']), seeds, 2);
    expect(before.some((r) => r.signature === 'iomap_page_mkwrite')).toBe(true);
  }, 120_000);

  it('the shrunk reproducer (one mapped write, two flips) panics: the VMA set up non-DAX, faulted DAX', async () => {
    const d = tmp();
    const r = await cli([`--replay-ops=${join(__dirname, '..', 'fixtures', 'fault-locked-vm_insert_mixed.fsxops')}`, join(d, 'f')]);
    expect(r.code).toBe(50);
    expect(r.stdout + r.stderr).toContain('bug in vm_insert_mixed: 1 ops, 2 flag changes');
    expect(r.stderr).toMatch(/IS_DAX\(\) read false at step \d+ \(xfs_file_mmap\), which fixed the VMA's flags and vm_ops for good, and true at step \d+ \(xfs_filemap_fault\)/);
    expect(readFileSync(join(d, 'f.dmesg'), 'utf8')).toMatch(/kernel BUG at mm\/memory\.c:1780![\s\S]*Hardware name: daxfsx model of xfs on pmem, design fault-locked/);
  });
});

describe('designs no release had: the flip updates the VMAs (updateVmas)', () => {
  const design = (d: string, uv: string): string => {
    const f = join(d, `uv-${uv}.json`);
    const locked = JSON.parse(readFileSync(join(__dirname, '..', '..', 'designs', 'locked.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(f, JSON.stringify({ ...locked, name: `uv-${uv}`, updateVmas: uv }));
    return f;
  };

  it('under the flip\'s locks: an ABBA deadlock with a fault (mmap_sem -> MMAPLOCK against MMAPLOCK -> mmap_sem)', async () => {
    const d = tmp();
    const r = await cli(['-S', '1', '-N', '5000', '--kernel', design(d, 'under-locks'), join(d, 'f')]);
    expect(r.code).toBe(51);
    expect(r.stderr).toMatch(/hung: deadlock in xfs_ilock/);
    const dmesg = readFileSync(join(d, 'f.dmesg'), 'utf8');
    // fsx holds mmap_sem (its fault) and waits for MMAPLOCK; the flip holds MMAPLOCK and waits in dax_update_vmas for mmap_sem
    expect(dmesg).toMatch(/2 locks held by fsx\/\d+:\n.*#0: +\(&mm->mmap_sem\).*__do_page_fault.*\n.*#1: +\(&\(&ip->i_mmaplock\)->mr_lock\)/);
    expect(dmesg).toMatch(/rwsem_down_write_failed[\s\S]*dax_update_vmas\+0x[0-9a-f]+\/0x[0-9a-f]+\n.*xfs_ioctl_setattr/);
    expect(dmesg).toMatch(/locks held by xfs_io\/\d+:[\s\S]*i_mmaplock/);
  });

  it('after dropping MMAPLOCK: the VMA race stays (vm_insert_mixed BUG)', async () => {
    const d = tmp();
    const r = await cli(['-S', '1', '-N', '5000', '--kernel', design(d, 'after-mmaplock'), join(d, 'f')]);
    expect(r.code).toBe(50);
    expect(r.stderr + r.stdout).toMatch(/bug in vm_insert_mixed/);
  });

  it('a design file without the knob is the same design as with "no"', async () => {
    const d = tmp();
    const a = await cli(['sweep', '--seeds', '1..6', '-N', '2000', '--kernel', 'locked', '--expect', 'any', '--out', join(d, 'a.nd')]);
    const b = await cli(['sweep', '--seeds', '1..6', '-N', '2000', '--kernel', design(d, 'no'), '--expect', 'any', '--out', join(d, 'b.nd')]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(readFileSync(join(d, 'b.nd'), 'utf8').replaceAll('"uv-no"', '"locked"')).toBe(readFileSync(join(d, 'a.nd'), 'utf8'));
  });
});
