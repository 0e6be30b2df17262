import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmp } from './helpers.js';

const bin = join(__dirname, '..', 'bin', 'daxfsx');

function runUntilSignal(args: string[], signal: NodeJS.Signals, afterMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    setTimeout(() => p.kill(signal), afterMs);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('interrupted runs lose nothing', () => {
  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
    it(`${sig}: stops at the next step, prints testcalls like fsx, writes the log and .fsxops, exits ${n}`, async () => {
      const d = tmp();
      const f = join(d, 'f');
      const r = await runUntilSignal(['-q', '--kernel', 'deferred', f], sig, 1500);
      expect(r.code).toBe(n);
      expect(r.stdout).toMatch(new RegExp(`signal ${n}\\ntestcalls = \\d+\\nLOG DUMP \\(\\d+ total operations\\):`));
      expect(existsSync(`${f}.fsxops`)).toBe(true);
      expect(readFileSync(`${f}.fsxlog`, 'utf8')).toContain(`signal ${n}\n`);
      expect(readFileSync(`${f}.fsxops`, 'utf8')).toMatch(/^# daxfsx-record: v2 1\/\d+ /m);
    });
  }

  // a sweep interrupted early, in the middle and late, several times each: the summary and --out always come,
  // and long seeds in flight do not hold the exit up (they are abandoned)
  for (const [when, ms] of [['early', 1200], ['mid-run', 3000], ['late', 5000]] as const) {
    it(`a sweep interrupted ${when} stops within a second, prints the summary and writes --out for the seeds that finished (3 tries)`, async () => {
      for (let i = 0; i < 3; i++) {
        const d = tmp();
        const out = join(d, 'o.ndjson');
        const t0 = Date.now();
        const r = await runUntilSignal(['sweep', '--seeds', '1..100000', '-N', '3000000', '--kernel', 'deferred', '--jobs', '2', '--out', out], 'SIGINT', ms);
        const after = Date.now() - t0 - ms;
        expect(r.code, r.stderr).toBe(2);
        expect(after).toBeLessThan(1500);
        expect(r.stdout).toMatch(/^\d+ seeds \(1\.\.100000\), stopped by a signal/);
        expect(existsSync(out)).toBe(true);
      }
    });
  }

  it('an exploration interrupted stops at its next run, prints its summary and writes what it found, exits 2', async () => {
    const d = tmp();
    const t0 = Date.now();
    const r = await runUntilSignal(['explore', '--ops', '6', '--max-flips', '2', '-S', '5', '--kernel', 'immediate', '--out-dir', d, '--summary', join(d, 's.json')], 'SIGINT', 2500);
    expect(Date.now() - t0 - 2500).toBeLessThan(1500);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/^ {2}exhausted {6}no: stopped by a signal$/m);
    const s = JSON.parse(readFileSync(join(d, 's.json'), 'utf8'));
    expect(s.stopped).toBe(true);
    expect(s.exhausted).toBe(false);
    expect(s.interleavings).toBeGreaterThan(0);
    // what it found is saved, as at the end of a whole exploration
    for (const sig of Object.keys(s.failures)) expect(existsSync(join(d, `explore-${sig}.fsxops`))).toBe(true);
  });

  it('a sweep of short seeds interrupted keeps every seed that finished, in order', async () => {
    const d = tmp();
    const r = await runUntilSignal(['sweep', '--seeds', '1..100000', '-N', '2000', '--kernel', 'ignored', '--jobs', '2', '--out', join(d, 'o.ndjson')], 'SIGTERM', 4000);
    expect(r.code).toBe(15);
    const m = /^(\d+) seeds/.exec(r.stdout);
    expect(Number(m?.[1])).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/clean\s+\d+\s+1\s+2000/);
    const seeds = readFileSync(join(d, 'o.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).seed as number);
    expect(seeds.length).toBe(Number(m?.[1]));
    expect([...seeds].sort((a, b) => a - b)).toEqual(seeds);
  });
});
