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
      expect(readFileSync(`${f}.fsxops`, 'utf8')).toMatch(/^# daxfsx-record: v1 1\/\d+ /m);
    });
  }

  it('a sweep stops its workers and still prints the summary of the seeds that finished', async () => {
    const d = tmp();
    const r = await runUntilSignal(['sweep', '--seeds', '1..100000', '-N', '20000', '--kernel', 'ignored', '--jobs', '2', '--out', join(d, 'o.ndjson')], 'SIGINT', 2500);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^\d+ seeds \(1\.\.100000\), stopped by a signal/);
    expect(r.stdout).toMatch(/clean\s+\d+\s+1\s+20000/);
    const lines = readFileSync(join(d, 'o.ndjson'), 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
  });
});
