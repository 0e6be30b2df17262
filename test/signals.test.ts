import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers.js';

const bin = join(__dirname, '..', 'bin', 'daxfsx');

/** Spawn daxfsx, send it `signal` after `afterMs`; one that has not ended 10 s later is killed (the test fails, it does not hang). */
function runUntilSignal(args: string[], signal: NodeJS.Signals, afterMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    setTimeout(() => p.kill(signal), afterMs);
    const giveUp = setTimeout(() => p.kill('SIGKILL'), afterMs + 10000);
    p.on('close', (code) => {
      clearTimeout(giveUp);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Whether a process still runs (a zombie, ended but not yet reaped by whoever inherited it, does not; Linux's /proc). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('interrupted runs lose nothing', () => {
  it('a second SIGINT ends a sweep at once (exit 130), and its worker processes, busy in long seeds, end with it', async () => {
    const p = spawn(process.execPath, [bin, 'sweep', '--seeds', '1..1000', '-N', '3000000', '--kernel', 'deferred', '--jobs', '2'], { stdio: 'ignore' });
    const ended = new Promise<number | null>((resolve) => p.on('close', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 2500));
    const { execFileSync } = await import('node:child_process');
    const workers = execFileSync('ps', ['-o', 'pid=', '--ppid', String(p.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
    try {
      expect(workers).toHaveLength(2);
      p.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 30));
      p.kill('SIGINT');
      expect(await ended).toBe(130);
      await new Promise((r) => setTimeout(r, 300));
      expect(workers.filter(alive)).toEqual([]);
    } finally {
      for (const w of workers) if (alive(w)) process.kill(w, 'SIGKILL');
    }
  });

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
    it(`a sweep interrupted ${when} stops within a fraction of a second (its workers' processes are killed, not waited for), prints the summary and writes --out for the seeds that finished (2 tries)`, async () => {
      for (let i = 0; i < 2; i++) {
        const d = tmp();
        const out = join(d, 'o.ndjson');
        const t0 = Date.now();
        const r = await runUntilSignal(['sweep', '--seeds', '1..100000', '-N', '3000000', '--kernel', 'deferred', '--jobs', '2', '--out', out], 'SIGINT', ms);
        const after = Date.now() - t0 - ms;
        expect(r.code, r.stderr).toBe(2);
        expect(after).toBeLessThan(700);
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

  // seed 12 of fault-locked ends in vm_insert_mixed's BUG after 96 ops of a script, with 16 flips; its shrink takes
  // 5-8 s here, so a signal 1.5 s in (the run before it takes a fraction of a second) finds it shrinking
  const slowShrink = ['-q', '-S', '12', '-N', '4000', '--kernel', 'fault-locked'];

  it('a shrink interrupted stops before its next candidate, writes the smallest failing run found so far and says so, exits 2', async () => {
    const d = tmp();
    const f = join(d, 'f');
    expect((await cli([...slowShrink, f])).code).toBe(50);
    const t0 = Date.now();
    const r = await runUntilSignal(['shrink', `${f}.fsxops`, '--summary', join(d, 's.json')], 'SIGINT', 1500);
    expect(Date.now() - t0 - 1500).toBeLessThan(1500);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/^Shrunk bug in vm_insert_mixed: 96 -> \d+ ops, .* s, stopped by a signal \(the smallest failing run found by then\)$/m);
    expect(r.stderr).toContain('daxfsx shrink: stopped by a signal: writing the smallest failing run found so far');
    const s = JSON.parse(readFileSync(join(d, 's.json'), 'utf8'));
    expect(s.stopped).toBe(true);
    expect(s.opsAfter).toBeLessThan(s.opsBefore);
    // what it wrote fails as the recorded run did
    expect(readFileSync(`${f}.min.fsxops`, 'utf8')).toMatch(/^# daxfsx \S+: minimal run for bug in vm_insert_mixed; the shrink was stopped by a signal; /);
    expect((await cli(['-q', `--replay-ops=${f}.min.fsxops`, join(d, 'again')])).code).toBe(50);
  });

  it("a run's --shrink interrupted writes F.min.fsxops so far and exits 15", async () => {
    const d = tmp();
    const f = join(d, 'f');
    const t0 = Date.now();
    const r = await runUntilSignal([...slowShrink, '--shrink', f], 'SIGTERM', 1500);
    expect(Date.now() - t0 - 1500).toBeLessThan(1500);
    expect(r.code, r.stderr).toBe(15);
    expect(r.stdout).toMatch(/^Shrunk bug in vm_insert_mixed: .*, stopped by a signal/m);
    expect(existsSync(`${f}.fsxops`)).toBe(true);
    expect(existsSync(`${f}.min.fsxops`)).toBe(true);
  });

  it('a sweep interrupted while it shrinks a saved failure writes what the shrink has, saves no more, exits 2', async () => {
    const d = tmp();
    const t0 = Date.now();
    // seeds 12..20 of fault-locked: vm_insert_mixed first (seed 12, the slow shrink above), then two more signatures
    const r = await runUntilSignal(['sweep', '--seeds', '12..20', '-N', '4000', '--kernel', 'fault-locked', '--jobs', '1', '--expect', 'any', '--save-failures', d, '--shrink'], 'SIGINT', 2500);
    expect(Date.now() - t0 - 2500).toBeLessThan(1500);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toContain(`shrunk: ${join(d, 'vm_insert_mixed-seed12.min.fsxops')} (stopped by a signal: the smallest failing run found by then)`);
    expect(r.stdout).toContain('stopped by a signal: the other failures were not saved');
    expect(existsSync(join(d, 'vm_insert_mixed-seed12.min.fsxops'))).toBe(true);
    expect(existsSync(join(d, 'READ_BAD_DATA-seed20.fsxops'))).toBe(false);
  });

  it('a scenario run interrupted prints the scenarios that finished, writes --junit for them, exits 2', async () => {
    const d = tmp();
    const scenario = (file: string, name: string, seeds: string, ops: number): void =>
      writeFileSync(join(d, file), JSON.stringify({ name, kernel: 'deferred', seeds, ops, expect: { clean: true } }));
    scenario('a.json', 'short', '1..2', 2000);
    scenario('b.json', 'long', '1..20', 50000); // 9 s
    scenario('c.json', 'after', '1..2', 2000);
    const t0 = Date.now();
    const r = await runUntilSignal(['scenario', 'run', d, '--jobs', '2', '--junit', join(d, 'j.xml')], 'SIGINT', 3000);
    expect(Date.now() - t0 - 3000).toBeLessThan(1500);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/^pass {2}short /m);
    expect(r.stdout).not.toMatch(/ (long|after) /);
    expect(r.stdout).toMatch(/^1 passed, 0 failed; stopped by a signal in 'long' \(\d+ of 20 seeds run, not judged\), 1 not run$/m);
    const xml = readFileSync(join(d, 'j.xml'), 'utf8');
    expect(xml).toContain('tests="1" failures="0"');
    expect(xml).toContain('name="short"');
  });

  it('a matrix interrupted prints the cells that finished (the others -), exits 15', async () => {
    const t0 = Date.now();
    const r = await runUntilSignal(['matrix', '--seeds', '1..2', '--ops', '500'], 'SIGTERM', 2500);
    expect(Date.now() - t0 - 2500).toBeLessThan(1500);
    expect(r.code, r.stderr).toBe(15);
    expect(r.stdout).toMatch(/^seeds 1\.\.2, up to 500 ops each, stopped by a signal \(- not finished\)$/m);
    expect(r.stdout).toMatch(/^immediate {6}xfs: {2}vm_insert_mixed 1 \(first seed 1\); iomap_page_mkwrite 1 \(first seed 2\)$/m);
    expect(r.stdout).toMatch(/^deferred {7}xfs: {2}-$/m);
  });
});
