import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESIGNS, DESIGN_NAMES, KNOBS, knobsOf } from '../src/kernel/designs.js';
import { costsLess, minimalByCost, userCost } from '../src/search/cost.js';
import type { DesignResult } from '../src/search/search.js';
import { builtinEqual, designSpace, parseKnobList, searchName } from '../src/search/space.js';
import { cli, tmp } from './helpers.js';

const all = KNOBS.map((k) => k.name);

describe('the design space', () => {
  it('has every combination of the knobs each base reads, and every built-in design in it', () => {
    const space = designSpace(all, DESIGNS.immediate);
    // 4.13 reads 6 two-valued knobs and a three-valued one, 4.14 four two-valued, 5.8 and 5.11 two each
    expect(space.length).toBe(192 + 16 + 4 + 4);
    expect(new Set(space.map((d) => d.name)).size).toBe(space.length);
    expect(new Set(space.map((d) => JSON.stringify(knobsOf(d)))).size).toBe(space.length);
    for (const n of DESIGN_NAMES) expect(space.filter((d) => builtinEqual(d) === n).length, n).toBe(1);
  });

  it('keeps the knobs not varied as --kernel has them', () => {
    const space = designSpace(['refuseWhileMapped'], DESIGNS.locked);
    expect(space.map((d) => d.refuseWhileMapped)).toEqual([false, true]);
    expect(space.every((d) => d.readIsDax === 'locked' && d.faultWriteIsDax === 'locked' && d.base === '4.13')).toBe(true);
    expect(builtinEqual(space[1])).toBe('refuse-mapped');
  });

  it('puts a knob its base never reads at its default (no contradictory design)', () => {
    const space = designSpace(['base'], DESIGNS['faults-locked']);
    expect(space.map((d) => d.base)).toEqual(['4.13', '4.14', '5.8', '5.11']);
    expect(space[0].faultWriteIsDax).toBe('locked');
    expect(space.slice(1).every((d) => d.faultWriteIsDax === 'unlocked' && d.hugeFaultIsDax === 'unlocked')).toBe(true);
  });

  it('names a design by its knobs, and refuses an unknown knob', () => {
    expect(searchName(DESIGNS['refuse-mapped'])).toBe('4.13-rL-wL-fwL-hfL-rm1-ro0-uvN');
    expect(searchName(DESIGNS.deferred)).toBe('5.11-rU-wU');
    expect(() => parseKnobList('base,nope')).toThrow(/unknown knob "nope"/);
  });
});

describe('what a design costs users', () => {
  it('reads the cost off the knobs', () => {
    expect(userCost(DESIGNS.immediate)).toEqual([]);
    expect(userCost(DESIGNS.locked)).toEqual([]);
    expect(userCost(DESIGNS['refuse-mapped'])).toEqual(['refused while mapped']);
    expect(userCost(DESIGNS.ignored)).toEqual(['no runtime change']);
    expect(userCost(DESIGNS.deferred)).toEqual(['at the last close']);
    expect(userCost({ ...DESIGNS.ignored, refuseWhileMapped: true })).toEqual(['no runtime change', 'refused while mapped']);
  });

  it('orders costs by inclusion only', () => {
    expect(costsLess([], ['x'])).toBe(true);
    expect(costsLess(['x'], ['x', 'y'])).toBe(true);
    expect(costsLess(['x'], ['y'])).toBe(false);
    expect(costsLess(['x'], ['x'])).toBe(false);
    expect(minimalByCost([['a'], ['b'], ['a', 'b'], ['a']], (c) => c)).toEqual([['a'], ['b'], ['a']]);
    expect(minimalByCost([['a'], [], ['b']], (c) => c)).toEqual([[]]);
  });
});

describe('daxfsx designs search', () => {
  // small bounds: four designs, two seeds, a two-op program, one flip
  const small = (d: string, more: string[] = []): string[] => [
    'designs', 'search', '--knobs', 'base', '--seeds', '1..2', '-N', '1500', '--max-flips', '1', '--preemptions', '1',
    '--program', join(d, 'p.fsxops'), '--save', join(d, 'save'), ...more,
  ];
  const program = (d: string): void => writeFileSync(join(d, 'p.fsxops'), 'mapwrite 0x0 0x1000 0x0\nread 0x0 0x1000 0x1000\n');
  const lines = (f: string): DesignResult[] => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DesignResult);

  it('finds immediate and 5.8 unsafe, 4.14 and 5.11 safe and minimal, each unsafe one with a reproducer that replays its failure', async () => {
    const d = tmp();
    program(d);
    const r = await cli(small(d, ['--out', join(d, 'a.ndjson'), '--jobs', '2']));
    expect(r.code, r.stderr).toBe(0);
    const res = lines(join(d, 'a.ndjson'));
    expect(res.map((x) => [x.equals, x.safe, x.minimal])).toEqual([
      ['immediate', false, false],
      ['ignored', true, true],
      ['deferred-5.8', false, false],
      ['deferred', true, true],
    ]);
    expect(r.stdout).toMatch(/Minimal safe designs[^\n]*\n[^\n]*\n  4\.14-rU-wU-rm0-ro0 +ignored +no runtime change[^\n]*\n {2}5\.11-rU-wU +deferred +at the last close/);
    for (const x of res.filter((y) => !y.safe)) {
      expect(x.first).not.toBeNull();
      expect(x.reproduce).toMatch(/^daxfsx --replay-ops=/);
      const [opsArg, file] = x.reproduce!.split(' ').slice(1);
      const replay = await cli([opsArg, file]);
      expect(replay.code, `${x.design}: ${replay.stderr.slice(-400)}`).toBe(x.first!.exitCode);
      expect(replay.stderr + replay.stdout).toContain(x.first!.signature);
    }
    // every design has a file that runs it again
    const f = join(d, 'save', 'designs', `${res[3].design}.json`);
    const again = await cli(['sweep', '--seeds', '1..1', '-N', '500', '--kernel', f]);
    expect(again.code, again.stderr).toBe(0);

    // the same search with one thread, and in two shards merged: the same NDJSON
    const one = await cli(small(d, ['--out', join(d, 'b.ndjson'), '--jobs', '1']));
    expect(one.code).toBe(0);
    expect(readFileSync(join(d, 'b.ndjson'), 'utf8')).toBe(readFileSync(join(d, 'a.ndjson'), 'utf8'));
    for (const k of [1, 2]) expect((await cli(small(d, ['--shard', `${k}/2`, '--out', join(d, `s${k}.ndjson`)]))).code).toBe(0);
    const m = await cli(['designs', 'search', 'merge', '--out', join(d, 'm.ndjson'), join(d, 's1.ndjson'), join(d, 's2.ndjson')]);
    expect(m.code, m.stderr).toBe(0);
    const merged = lines(join(d, 'm.ndjson')).sort((x, y) => x.design.localeCompare(y.design));
    expect(merged).toEqual([...res].sort((x, y) => x.design.localeCompare(y.design)));
    const nd = await cli(['designs', 'search', 'merge', '--ndjson', join(d, 's1.ndjson'), join(d, 's2.ndjson')]);
    expect(nd.stdout.trim().split('\n').map((l) => (JSON.parse(l) as DesignResult).equals)).toEqual(['ignored', 'deferred']);
  }, 180_000);

  it('says what is wrong with its options in one line', async () => {
    const d = tmp();
    const bad = async (args: string[], code: number, msg: RegExp): Promise<void> => {
      const r = await cli(['designs', 'search', ...args]);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    };
    await bad(['--knobs', 'base,colour'], 90, /--knobs: unknown knob "colour"/);
    await bad(['--seeds', '5..1'], 90, /seeds/);
    await bad(['--program', join(d, 'missing.fsxops')], 93, /missing\.fsxops/);
    await bad(['--no-flip'], 90, /about the flag changing/);
    await bad(['--max-interleavings', '0'], 90, /--max-interleavings/);
    await bad(['file'], 90, /takes no file/);
    // outputs that cannot be written are found before the search runs, not after it
    await bad(['--out', join(d, 'no', 'such', 'dir', 'x.ndjson')], 94, /x\.ndjson: No such file or directory/);
    await bad(['--out', join(d, 'x.ndjson'), '--save', '/dev/null/sub'], 94, /\/dev\/null\/sub: Not a directory/);
  });
});
