import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOps } from '../src/fsx/fsxops.js';
import { defaultConfig } from '../src/core/config.js';
import { readRecord, recordLines } from '../src/replay/recording.js';
import { cli, tmp } from './helpers.js';

describe('exact replay from a recorded .fsxops', () => {
  it('reproduces the run: same verdict, kernel log and final file', async () => {
    const d = tmp();
    const f = join(d, 'demo');
    const first = await cli(['-S', '5', '--kernel', 'locked', f]);
    expect(first.code).toBe(50);
    const dmesg = readFileSync(`${f}.dmesg`, 'utf8');
    const file = readFileSync(f);
    copyFileSync(`${f}.fsxops`, join(d, 'rec.fsxops'));
    // the file carries the options: no -S, no --kernel on the replay's command line
    const again = await cli([`--replay-ops=${join(d, 'rec.fsxops')}`, f]);
    expect(again.code).toBe(50);
    expect(readFileSync(`${f}.dmesg`, 'utf8')).toBe(dmesg.replace(`${f}.fsxops`, `${f}.fsxops`));
    expect(readFileSync(f).equals(file)).toBe(true);
    const verdictLine = (s: string): string[] => s.split('\n').filter((l) => l.startsWith('daxfsx: bug')).map((l) => l.replace(/, [\d.]+ s /, ' '));
    expect(verdictLine(again.stderr)).toEqual(verdictLine(first.stderr));
    expect(verdictLine(first.stderr).length).toBe(1);
  });

  it('stops with a clear message where an edited file diverges', async () => {
    const d = tmp();
    const f = join(d, 'f');
    await cli(['-q', '-S', '2', '-N', '200', '--no-flip', '--record-ops', f]);
    const lines = readFileSync(`${f}.fsxops`, 'utf8').split('\n');
    const firstOp = lines.findIndex((l) => l && !l.startsWith('#'));
    lines.splice(firstOp + 3, 1);
    writeFileSync(join(d, 'e.fsxops'), lines.join('\n'));
    const r = await cli([`--replay-ops=${join(d, 'e.fsxops')}`, join(d, 'g')]);
    expect(r.code).toBe(100);
    expect(r.stderr).toMatch(new RegExp(`e\\.fsxops:${firstOp + 4}: the run diverged from its recording at op 4`));
  });

  it('the op lines alone replay as fsx replays them, parse cleanly, and keep fsx-sized lines', async () => {
    const d = tmp();
    const f = join(d, 'f');
    await cli(['-q', '-S', '2', '-N', '300', '--kernel', 'deferred', '--record-ops', f]);
    const text = readFileSync(`${f}.fsxops`, 'utf8');
    expect(text.split('\n').every((l) => l.length < 255)).toBe(true);
    const p = parseOps(text, 'x');
    expect(p.error).toBeUndefined();
    expect(p.ops.length).toBe(300);
    const plain = text.split('\n').filter((l) => !l.startsWith('#')).join('\n');
    writeFileSync(join(d, 'plain.fsxops'), plain);
    const r = await cli(['-q', '-S', '2', '--no-flip', `--replay-ops=${join(d, 'plain.fsxops')}`, join(d, 'g')]);
    expect(r.code).toBe(0);
  });
});

describe('the record', () => {
  it('round-trips, split into fsx-sized lines, with the version, the part and a checksum on each', () => {
    const config = defaultConfig();
    config.fsx.logid = 'x'.repeat(200);
    const lines = recordLines({ origin: { kind: 'generated', firstOp: 10001 }, config, schedule: [{ op: 3, tick: 4, choices: 'f0f' }] }, 'v');
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.every((l) => l.length < 255)).toBe(true);
    expect(lines.slice(1).every((l) => /^# daxfsx-record: v2 \d+\/\d+ [0-9a-f]{8} /.test(l))).toBe(true);
    expect(readRecord(lines.join('\n'), 'f')).toEqual({ origin: { kind: 'generated', firstOp: 10001 }, config, schedule: [{ op: 3, tick: 4, choices: 'f0f' }] });
  });

  it('a file without daxfsx lines is fsx\'s own: no record', () => {
    expect(readRecord('write 0x0 0x10 0x0 *\n', 'f')).toBeNull();
  });
});
