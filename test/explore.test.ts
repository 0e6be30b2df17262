import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers.js';

describe('daxfsx explore', () => {
  it('finds the NULL dereference in a one-mapwrite program under immediate, with a run that replays it', async () => {
    const d = tmp();
    writeFileSync(join(d, 'p.fsxops'), 'mapwrite 0x0 0x1000 0x0\n');
    const r = await cli(['explore', join(d, 'p.fsxops'), '--out-dir', d, '--summary', join(d, 's.json')]);
    expect(r.code).toBe(1);
    const s = JSON.parse(readFileSync(join(d, 's.json'), 'utf8'));
    expect(Object.keys(s).sort()).toEqual(['complete', 'exhausted', 'failures', 'interleavings', 'pruned', 'reduction', 'seconds', 'stateHashing', 'states']);
    // runs stopped at a state explored before are runs too, but not to the end
    expect(s.complete).toBeGreaterThan(0);
    expect(s.complete).toBeLessThanOrEqual(s.interleavings);
    expect(r.stdout).toMatch(new RegExp(`^ {2}interleavings {2}${s.interleavings}( \\(${s.complete} ran to the end, ${s.interleavings - s.complete} stopped where runs before cover the rest\\))?$`, 'm'));
    expect(s.reduction).toBe(true);
    expect(Object.keys(s.pruned).sort()).toEqual(['preemptionBound', 'reduction', 'sleepSet', 'stateHash']);
    expect(s.exhausted).toBe(true);
    expect(s.failures.iomap_page_mkwrite).toBeGreaterThan(0);
    expect(s.interleavings).toBeGreaterThan(10);
    const again = await cli([`--replay-ops=${join(d, 'explore-iomap_page_mkwrite.fsxops')}`, join(d, 'f')]);
    expect(again.code).toBe(50);
    expect(again.stderr).toContain('IP: iomap_page_mkwrite+0x17/0xf0');
  });

  for (const kernel of ['ignored', 'deferred']) {
    it(`${kernel}: exhausts 4 ops with 2 flips and finds nothing`, async () => {
      const d = tmp();
      const r = await cli(['explore', '--ops', '4', '--max-flips', '2', '-S', '5', '--kernel', kernel, '--out-dir', d, '--summary', join(d, 's.json')]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const s = JSON.parse(readFileSync(join(d, 's.json'), 'utf8'));
      expect(s.exhausted).toBe(true);
      expect(s.failures).toEqual({});
      // the reduction runs a few dozen (deferred's flip touches nothing fsx's ops do) to a few thousand (ignored)
      expect(s.interleavings).toBeGreaterThan(10);
      expect(s.pruned.reduction).toBeGreaterThan(s.interleavings);
    }, 180_000); // 4.14 flushes and invalidates on every other flip: more interleavings to exhaust
  }

  it('the same program under immediate fails within the same bounds', async () => {
    const d = tmp();
    // within one preemption, which the default two include (exhausting those takes the bench's 10 s)
    const r = await cli(['explore', '--ops', '4', '--max-flips', '2', '-S', '5', '--preemptions', '1', '--out-dir', d, '--summary', join(d, 's.json')]);
    expect(r.code).toBe(1);
    const s = JSON.parse(readFileSync(join(d, 's.json'), 'utf8'));
    expect(s.exhausted).toBe(true);
    expect(Object.keys(s.failures)).toContain('iomap_page_mkwrite');
  });

  it('--max-interleavings cuts an exploration short at the same run on any machine: the same summary and failing runs, and says so', async () => {
    const outs: { summary: Record<string, unknown>; files: string[] }[] = [];
    for (let i = 0; i < 2; i++) {
      const d = tmp();
      const r = await cli(['explore', '--ops', '4', '--max-flips', '2', '-S', '5', '--max-interleavings', '400', '--out-dir', d, '--summary', join(d, 's.json')]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^ {2}exhausted {6}no: --max-interleavings \(400\) reached$/m);
      const { seconds, ...summary } = JSON.parse(readFileSync(join(d, 's.json'), 'utf8'));
      expect(seconds).toBeGreaterThan(0);
      expect(summary).toMatchObject({ interleavings: 400, exhausted: false, cut: 'interleavings' });
      const files = readdirSync(d).filter((f) => f.startsWith('explore-')).sort();
      expect(files.length).toBeGreaterThan(0);
      outs.push({ summary, files: files.map((f) => readFileSync(join(d, f), 'utf8')) });
    }
    expect(outs[1].summary).toEqual(outs[0].summary);
    expect(outs[1].files).toEqual(outs[0].files);
  });
});
