import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOps } from '../src/fsx/fsxops.js';
import { decidingArgs, headerLines, readRecording } from '../src/replay/recording.js';
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

describe('the recording lines', () => {
  it('keep only the options that decide a run', () => {
    expect(decidingArgs(['-q', '-S', '3', '--record-ops', '--summary', 's.json', '--log-json=l', '-P', 'dir', '--kernel', 'locked', 'f'], 'f')).toEqual(['-q', '-S', '3', '--kernel', 'locked']);
  });

  it('round-trip, split into fsx-sized lines', () => {
    const args = Array.from({ length: 60 }, (_, i) => `--opt-${i}=${'x'.repeat(i % 7)}`);
    const lines = headerLines(args, { kind: 'generated', seed: 9, firstOp: 10001 }, 'v');
    expect(lines.every((l) => l.length < 255)).toBe(true);
    expect(readRecording(lines.join('\n'))).toEqual({ args, origin: { kind: 'generated', seed: 9, firstOp: 10001 } });
  });
});
