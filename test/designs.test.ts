import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESIGNS, DESIGN_NAMES, checkDesign, knobsOf } from '../src/kernel/designs.js';
import { cli, tmp } from './helpers.js';

/** A design file: a built-in's knobs under another name. */
function copyOf(d: string, name: keyof typeof DESIGNS, as: string, over: Record<string, unknown> = {}): string {
  const f = join(d, `${as}.json`);
  writeFileSync(f, JSON.stringify({ ...DESIGNS[name], name: as, source: 'hypothetical', ...over }, null, 2));
  return f;
}

describe('a design is a file', () => {
  it('the built-in designs load from designs/*.json, each with its source', () => {
    for (const n of DESIGN_NAMES) {
      expect(DESIGNS[n].name).toBe(n);
      expect(DESIGNS[n].source).toMatch(/^(commit|mail|hypothetical)/);
    }
    expect(knobsOf(DESIGNS['fault-locked'])).toMatchObject({ base: '4.13', faultWriteIsDax: 'locked', hugeFaultIsDax: 'unlocked', readIsDax: 'unlocked' });
    expect(knobsOf(DESIGNS['faults-locked'])).toMatchObject({ faultWriteIsDax: 'locked', hugeFaultIsDax: 'locked', readIsDax: 'unlocked', writeIsDax: 'unlocked' });
  });

  it('a file with the same knobs as a built-in gives the same sweep NDJSON but for the name', async () => {
    const d = tmp();
    const f = copyOf(d, 'locked', 'mine');
    const a = await cli(['sweep', '--seeds', '1..10', '-N', '3000', '--kernel', 'locked', '--out', join(d, 'a.ndjson'), '--expect', 'any']);
    const b = await cli(['sweep', '--seeds', '1..10', '-N', '3000', '--kernel', f, '--out', join(d, 'b.ndjson'), '--expect', 'any']);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const x = readFileSync(join(d, 'a.ndjson'), 'utf8');
    const y = readFileSync(join(d, 'b.ndjson'), 'utf8');
    expect(x.split('\n').filter(Boolean)).toHaveLength(10);
    expect(y.replaceAll('"kernel":"mine"', '"kernel":"locked"')).toBe(x);
    expect(y).toContain('"kernel":"mine"');
  }, 240000);

  const bad: [string, string, RegExp][] = [
    ['an unknown knob', JSON.stringify({ ...DESIGNS.immediate, pageMkwriteIsDax: 'locked' }), /bad\.json: pageMkwriteIsDax: unknown knob/],
    ['a knob of the wrong type', JSON.stringify({ ...DESIGNS.immediate, refuseWhileMapped: 'yes' }), /bad\.json: refuseWhileMapped: must be true or false/],
    ['contradictory knobs', JSON.stringify({ ...DESIGNS.deferred, faultWriteIsDax: 'locked' }), /bad\.json: faultWriteIsDax: contradicts base "5\.11"/],
    ['an unknown base version', JSON.stringify({ ...DESIGNS.immediate, base: '4.15' }), /bad\.json: base: must be one of "4\.13", "4\.14", "5\.8", "5\.11" \(got "4\.15"\)/],
    ['not JSON', '{ "base": "4.13", ', /bad\.json: \(file\): not JSON/],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what}: one line, exit 93`, async () => {
      const d = tmp();
      const f = join(d, 'bad.json');
      writeFileSync(f, text);
      const r = await cli(['-q', '-N', '10', '--kernel', f, join(d, 'x')]);
      expect(r.code).toBe(93);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      const s = await cli(['designs', 'show', f]);
      expect(s.code).toBe(93);
      expect(s.stderr).toMatch(message);
    });
  }

  it('refuseWhileMapped on a base whose flip never reads it contradicts base', () => {
    expect(() => checkDesign({ ...DESIGNS['deferred-5.8'], refuseWhileMapped: true })).toThrow(/refuseWhileMapped: contradicts base "5\.8"/);
  });

  it('designs list, show and knobs', async () => {
    const l = await cli(['designs', 'list']);
    expect(l.code).toBe(0);
    for (const n of DESIGN_NAMES) expect(l.stdout).toMatch(new RegExp(`^${n.replace('.', '\\.')} `, 'm'));
    const s = await cli(['designs', 'show', 'refuse-mapped']);
    expect(s.stdout).toMatch(/^refuseWhileMapped +true /m);
    expect(s.stdout).toMatch(/source: mail: /);
    const k = await cli(['designs', 'knobs']);
    for (const knob of ['base', 'readIsDax', 'writeIsDax', 'faultWriteIsDax', 'hugeFaultIsDax', 'refuseWhileMapped', 'refuseWhileOpen', 'updateVmas']) expect(k.stdout).toMatch(new RegExp(`^${knob}: `, 'm'));
  });
});

describe('recordings carry the design', () => {
  it('a run under a design file replays without the file', async () => {
    const d = tmp();
    const f = copyOf(d, 'locked', 'gone');
    const r = await cli(['-q', '-S', '7', '-N', '20000', '--kernel', f, join(d, 'run')]);
    expect(r.code).toBe(50);
    writeFileSync(f, 'not a design any more');
    const again = await cli(['-q', `--replay-ops=${join(d, 'run')}.fsxops`, join(d, 'again')]);
    expect(again.code).toBe(50);
    expect(again.stderr).toMatch(/bug in vm_insert_mixed/);
  });

  it('an old v1 record naming a built-in design still replays', async () => {
    const d = tmp();
    const run = join(d, 'run');
    expect((await cli(['-q', '-S', '7', '-N', '20000', '--kernel', 'locked', run])).code).toBe(50);
    const text = readFileSync(`${run}.fsxops`, 'utf8');
    const parts = text.split('\n').filter((l) => l.startsWith('# daxfsx-record: '));
    const json = parts.map((l) => l.replace(/^# daxfsx-record: v2 \d+\/\d+ [0-9a-f]{8} /, '')).join('');
    const rec = JSON.parse(json) as { config: { model: { kernel: unknown } } };
    rec.config.model.kernel = 'locked';
    const v1 = JSON.stringify(rec);
    let h = 0x811c9dc5;
    for (let i = 0; i < v1.length; i++) h = Math.imul(h ^ v1.charCodeAt(i), 0x01000193);
    const sum = (h >>> 0).toString(16).padStart(8, '0');
    const chunks: string[] = [];
    for (let i = 0; i < v1.length; i += 200) chunks.push(v1.slice(i, i + 200));
    const lines = chunks.map((c, i) => `# daxfsx-record: v1 ${i + 1}/${chunks.length} ${sum} ${c}`);
    const rest = text.split('\n').filter((l) => !l.startsWith('# daxfsx-record: '));
    writeFileSync(join(d, 'old.fsxops'), [rest[0], ...lines, ...rest.slice(1)].join('\n'));
    const r = await cli(['-q', `--replay-ops=${join(d, 'old.fsxops')}`, join(d, 'old')]);
    expect(r.code).toBe(50);
    expect(r.stderr).toMatch(/bug in vm_insert_mixed/);
  });
});
