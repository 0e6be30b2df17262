import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../src/cli/scenario.js';
import { parseShard, shardSeeds } from '../src/sweep/seeds.js';
import { summarize } from '../src/sweep/summary.js';
import { cli, tmp } from './helpers.js';

describe('daxfsx sweep', () => {
  it("runs its workers from an installation whose path has a space in it (the worker's path is a file path, not a URL's)", () => {
    const root = resolve('.');
    const d = join(tmp(), 'with space');
    for (const x of ['bin', 'dist', 'designs', 'package.json']) cpSync(join(root, x), join(d, x), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(d, 'node_modules'));
    const r = spawnSync(process.execPath, [join(d, 'bin', 'daxfsx'), 'sweep', '--seeds', '1..4', '-N', '500', '--jobs', '2', '--expect', 'any'], { cwd: tmp(), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^4 seeds \(1\.\.4\), 2 job\(s\)/);
  });

  it('writes the same NDJSON, in seed order, whatever --jobs is, and summarizes by signature', async () => {
    const d = tmp();
    const a = await cli(['sweep', '--seeds', '1..12', '-N', '3000', '--jobs', '1', '--expect', 'any', '--out', join(d, 'a.ndjson')]);
    const b = await cli(['sweep', '--seeds', '1..12', '-N', '3000', '--jobs', '2', '--expect', 'any', '--out', join(d, 'b.ndjson')]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const text = readFileSync(join(d, 'a.ndjson'), 'utf8');
    expect(readFileSync(join(d, 'b.ndjson'), 'utf8')).toBe(text);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seed)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Object.keys(lines[0]).sort()).toEqual(['exitCode', 'flips', 'fs', 'kernel', 'ops', 'seed', 'signature', 'steps', 'verdict']);
    expect(a.stdout).toMatch(/signature\s+seeds\s+first seed\s+median ops/);
    expect(a.stdout).toMatch(/iomap_page_mkwrite\s+\d+\s+2\s+\d+/);
    expect(a.stdout).toMatch(/vm_insert_mixed\s+\d+\s+1\s+\d+/);
  });

  it('shards cover the range once and merge back into the whole', async () => {
    const d = tmp();
    for (const k of [1, 2, 3]) await cli(['sweep', '--seeds', '1..10', '--shard', `${k}/3`, '-N', '2000', '--out', join(d, `s${k}.ndjson`)]);
    await cli(['sweep', '--seeds', '1..10', '-N', '2000', '--out', join(d, 'all.ndjson')]);
    const m = await cli(['sweep', 'merge', '--out', join(d, 'm.ndjson'), join(d, 's1.ndjson'), join(d, 's2.ndjson'), join(d, 's3.ndjson')]);
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/^10 seeds from 3 file\(s\)/);
    expect(readFileSync(join(d, 'm.ndjson'), 'utf8')).toBe(readFileSync(join(d, 'all.ndjson'), 'utf8'));
  });

  it('takes K from JOB_COMPLETION_INDEX with index/N, and refuses bad ranges', () => {
    expect(parseShard('index/4', { JOB_COMPLETION_INDEX: '0' })).toEqual([1, 4]);
    expect(parseShard('2/4', {})).toEqual([2, 4]);
    expect(() => parseShard('5/4', {})).toThrow(/1 <= K <= N/);
    expect(() => parseShard('index/4', {})).toThrow(/JOB_COMPLETION_INDEX/);
    const all = [1, 2, 3, 4].flatMap((k) => shardSeeds([1, 9], [k, 4])).sort((x, y) => x - y);
    expect(all).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('medians and first seeds in the summary', () => {
    const r = (seed: number, signature: string, ops: number) => ({ seed, signature, ops, verdict: 'x', exitCode: 1, steps: 1, flips: 1 });
    expect(summarize([r(3, 'a', 10), r(1, 'a', 30), r(2, 'a', 20), r(4, '', 5)])).toEqual([
      { signature: 'a', count: 3, firstSeed: 1, medianOps: 20 },
      { signature: 'clean', count: 1, firstSeed: 4, medianOps: 5 },
    ]);
  });
});

describe('scenarios', () => {
  it('the shipped scenarios come out as expected, with JUnit XML for CI', async () => {
    const d = tmp();
    const r = await cli(['scenario', 'run', 'scenarios', '--junit', join(d, 'j.xml')]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\d+ passed, 0 failed/);
    const xml = readFileSync(join(d, 'j.xml'), 'utf8');
    expect(xml).toMatch(/<testsuite name="daxfsx scenarios" tests="\d+" failures="0"/);
  });

  it('a scenario that falls short fails the run and shows in the JUnit file', async () => {
    const d = tmp();
    writeFileSync(join(d, 'x.json'), JSON.stringify({ name: 'immediate is clean (it is not)', kernel: 'immediate', seeds: '1..3', ops: 3000, expect: { clean: true } }));
    const r = await cli(['scenario', 'run', join(d, 'x.json'), '--junit', join(d, 'j.xml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+immediate is clean/);
    expect(readFileSync(join(d, 'j.xml'), 'utf8')).toContain('<failure message="expected clean, got ');
  });

  it('bad scenario files name the file, the field and why', () => {
    const d = tmp();
    const cases: [object, RegExp][] = [
      [{ name: 'x', seeds: '1..2', expect: { clean: true }, kernal: 'x' }, /field 'kernal': unknown field/],
      [{ name: 'x', seeds: '2..1', expect: { clean: true } }, /field 'seeds'/],
      [{ name: 'x', seeds: '1..2', kernel: 'nope', expect: { clean: true } }, /field 'kernel': must be one of/],
      [{ name: 'x', seeds: '1..2', expect: {} }, /field 'expect': needs a verdict or a signature/],
      [{ name: 'x', seeds: '1..2', expect: { signature: 'a', atLeast: 3 } }, /field 'expect.atLeast'/],
      [{ name: 'x', seeds: '1..2', args: ['-l', 'zz'], expect: { clean: true } }, /field 'args': option -l/],
      [{ seeds: '1..2', expect: { clean: true } }, /field 'name'/],
    ];
    for (const [obj, why] of cases) {
      const f = join(d, 'bad.json');
      writeFileSync(f, JSON.stringify(obj));
      expect(() => loadScenario(f)).toThrow(why);
      expect(() => loadScenario(f)).toThrow(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    }
  });
});

describe('daxfsx matrix', () => {
  it('prints designs x file systems as Markdown', async () => {
    const r = await cli(['matrix', '--markdown', '--seeds', '1..3', '--ops', '2000']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\| design \(seeds 1\.\.3, up to 2000 ops each\) \| XFS \| ext4 \|\n\|---\|---\|---\|\n/);
    expect(r.stdout).toMatch(/\| `deferred` \| clean 3 \| clean 3 \|/);
    expect(r.stdout).toMatch(/\| `locked` \| [^|]*vm_insert_mixed/);
  });
});
