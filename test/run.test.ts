import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers.js';

const noHash = (s: string): string =>
  s
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');

describe('the seed, end to end', () => {
  // seed 4 is the first whose run ends in the 2017 oops (seed 1, the default, now ends in lost data: KERNEL-HISTORY's 4.13 paths)
  it('daxfsx -S 4 ./demo ends with the seed oops and its explanation', async () => {
    const d = tmp();
    const f = join(d, 'demo');
    const r = await cli(['-S', '4', f]);
    expect(r.code).toBe(50);
    expect(r.stderr).toContain('BUG: unable to handle kernel NULL pointer dereference at 0000000000000020');
    expect(r.stderr).toContain('IP: iomap_page_mkwrite+0x17/0xf0');
    expect(r.stderr).toMatch(/CPU: \d PID: 6052 Comm: fsx Not tainted \S+ #1/);
    expect(r.stderr).toMatch(/Call Trace:\n xfs_filemap_page_mkwrite\+0x[0-9a-f]+\/0x[0-9a-f]+\n xfs_filemap_fault\+/);
    expect(r.stderr).toMatch(/IS_DAX\(\) read true at step \d+ \(xfs_filemap_fault\) and false at step \d+ \(xfs_filemap_page_mkwrite\); in between, xfs_io:6060 changed it/);
    expect(r.stderr).toContain(`Replay: daxfsx --replay-ops=${f}.fsxops ${f}`);
    // fsx's own failure output on stdout, and its files
    expect(r.stdout).toMatch(/\nLOG DUMP \(\d+ total operations\):/);
    for (const ext of ['fsxlog', 'fsxops', 'fsxgood', 'dmesg']) expect(existsSync(`${f}.${ext}`), ext).toBe(true);
    const dmesg = readFileSync(`${f}.dmesg`, 'utf8');
    expect(dmesg).toMatch(/^\[ {2}300\.000000\] XFS \(pmem0\): Mounting V5 Filesystem/);
    expect(dmesg).toMatch(/\[ *\d+\.\d{6}\] BUG: unable to handle kernel NULL pointer dereference at 0000000000000020\n/);
    expect(dmesg).toContain('---[ end trace ');
  });

  it('the summary carries the verdict and the run figures', async () => {
    const d = tmp();
    const r = await cli(['-q', '-S', '4', '--summary', join(d, 's.json'), join(d, 'f')]);
    const s = JSON.parse(readFileSync(join(d, 's.json'), 'utf8'));
    expect(Object.keys(s).sort()).toEqual(['elapsedMs', 'exitCode', 'flips', 'fs', 'kernel', 'ops', 'seed', 'signature', 'steps', 'verdict'].sort());
    expect(s).toMatchObject({ verdict: 'oops', signature: 'iomap_page_mkwrite', exitCode: r.code, seed: 4, kernel: 'immediate', fs: 'xfs' });
    expect(s.ops).toBeGreaterThan(0);
    expect(s.steps).toBeGreaterThan(0);
    expect(s.flips).toBeGreaterThan(0);
  });
});

describe('designs whose flips must change nothing', () => {
  for (const fs of ['xfs', 'ext4']) {
    for (const kernel of ['ignored', 'deferred']) {
      it(`${fs} ${kernel}: same .fsxops and final file as --no-flip`, async () => {
        const d = tmp();
        for (const seed of [1, 2, 3, 4, 5]) {
          const common = ['-q', '-S', String(seed), '-N', '3000', '-c', '50', '--fs', fs];
          const a = await cli([...common, '--no-flip', `--record-ops=${join(d, 'a.ops')}`, join(d, 'a')]);
          const b = await cli([...common, '--kernel', kernel, `--record-ops=${join(d, 'b.ops')}`, '--summary', join(d, 'b.json'), join(d, 'b')]);
          expect(a.code).toBe(0);
          expect(b.code, b.stderr).toBe(0);
          // ext4 4.14 refuses every chattr +j/-j under -o dax (EBUSY): nothing flips there
          if (!(fs === 'ext4' && kernel === 'ignored')) expect(JSON.parse(readFileSync(join(d, 'b.json'), 'utf8')).flips).toBeGreaterThan(0);
          expect(noHash(readFileSync(join(d, 'b.ops'), 'utf8'))).toBe(noHash(readFileSync(join(d, 'a.ops'), 'utf8')));
          expect(readFileSync(join(d, 'b'))).toEqual(readFileSync(join(d, 'a')));
          expect(b.stdout.replace(/saved to ".*"/, '')).toBe(a.stdout.replace(/saved to ".*"/, ''));
        }
      });
    }
  }
});

describe('the unsafe designs fail, each the way its mechanics allow', () => {
  it('immediate on XFS fails on most seeds; locked never dereferences NULL', async () => {
    const d = tmp();
    const sig = async (args: string[]): Promise<string> => {
      await cli(['-q', '-N', '5000', '--summary', join(d, 's.json'), ...args, join(d, 'f')]);
      return JSON.parse(readFileSync(join(d, 's.json'), 'utf8')).signature;
    };
    const imm: string[] = [];
    const locked: string[] = [];
    for (let s = 1; s <= 10; s++) {
      imm.push(await sig(['-S', String(s)]));
      locked.push(await sig(['-S', String(s), '--kernel', 'locked']));
    }
    expect(imm.filter((x) => x !== '').length).toBeGreaterThanOrEqual(9);
    expect(imm).toContain('iomap_page_mkwrite');
    expect(locked).not.toContain('iomap_page_mkwrite');
    expect(locked).toContain('vm_insert_mixed');
  });
});

describe('determinism', () => {
  it('the same command writes byte-identical files', async () => {
    const runs: Record<string, Buffer>[] = [];
    const d = tmp();
    for (let i = 0; i < 2; i++) {
      const f = join(d, 'f');
      await cli(['-S', '3', '-N', '3000', '--log-json', join(d, 'log.json'), '--record-ops', f]);
      const files: Record<string, Buffer> = {};
      for (const n of readdirSync(d)) files[n] = readFileSync(join(d, n));
      runs.push(files);
    }
    expect(Object.keys(runs[0]).sort()).toEqual(Object.keys(runs[1]).sort());
    for (const n of Object.keys(runs[0])) expect(runs[1][n].equals(runs[0][n]), n).toBe(true);
    expect(Object.keys(runs[0]).length).toBeGreaterThanOrEqual(6);
  });
});

describe('the fsx vectors', () => {
  const dir = join(__dirname, '..', '..', 'shared', 'vectors');
  const vectors = existsSync(dir) ? readdirSync(dir).filter((v) => existsSync(join(dir, v, 'args.txt'))) : [];
  it.runIf(vectors.length > 0)('every vector: same ops, file, stdout and exit, with and without safe flips', async () => {
    for (const v of vectors) {
      const args = readFileSync(join(dir, v, 'args.txt'), 'utf8').trim().split(/\s+/);
      for (const mode of [['--no-flip'], ['--kernel', 'deferred']]) {
        const d = tmp();
        const r = await cli([...args, ...mode, `--record-ops=${join(d, 'run.fsxops')}`, join(d, 'run')]);
        expect(r.code, v).toBe(Number(readFileSync(join(dir, v, 'exit.txt'), 'utf8')));
        expect(noHash(readFileSync(join(d, 'run.fsxops'), 'utf8')), v).toBe(readFileSync(join(dir, v, 'ops.fsxops'), 'utf8'));
        expect(readFileSync(join(d, 'run')).equals(readFileSync(join(dir, v, 'final.img'))), v).toBe(true);
        const norm = (s: string): string => s.replace(/^Log of operations saved to ".*"; /m, 'Log of operations saved to "OPS"; ');
        expect(norm(r.stdout), v).toBe(norm(readFileSync(join(dir, v, 'stdout.txt'), 'utf8')));
      }
    }
  });
});
