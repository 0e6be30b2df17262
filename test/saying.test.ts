import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/core/config.js';
import { headline, headlineOf } from '../src/core/outcome.js';
import { recordLines } from '../src/replay/recording.js';
import { cli, tmp } from './helpers.js';

/** The lines daxfsx prints for flag changes under -d (fsx's debug style, on standard error). */
const flipLines = (stderr: string): string[] => stderr.split('\n').filter((l) => /^(\S+: )?\d+ (chattr [+-]x|inode load)\t/.test(l));

/**
 * A two-op script on ext4, immediate, starting without DAX: the flipper sets
 * the flag at op 1's first preemption point, right after the write tested
 * IS_DAX() (false) and before it took i_rwsem, so the write goes into the
 * page cache of what is a DAX inode by then; op 2 reads media.
 */
function staleWriteScript(dir: string): string {
  const config = defaultConfig();
  config.fsx.seed = 1;
  config.fsx.numops = 2;
  config.model.fs = 'ext4';
  config.model.initialDax = false;
  const lines = [
    ...recordLines({ origin: { kind: 'script', firstOp: 1 }, config, schedule: [{ op: 1, tick: 0, choices: '' }] }, 'test: a write that tested IS_DAX() before the flip'),
    'write 0x0 0x1000 0x0',
    'read 0x0 0x1000 0x1000',
  ];
  const f = join(dir, 'stale.fsxops');
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

describe('-d shows flag changes', () => {
  it('each flip is a line in fsx debug style on standard error, with the op in flight; standard output stays fsx’s', async () => {
    const d = tmp();
    const args = ['-d', '-S', '1', '-N', '60', '-c', '5'];
    const flips = await cli([...args, '--kernel', 'deferred', join(d, 'a')]);
    const none = await cli([...args, '--no-flip', join(d, 'b')]);
    expect(flips.code).toBe(0);
    // deferred changes nothing fsx sees: fsx's output is the same as without flips, byte for byte
    expect(flips.stdout.replaceAll(join(d, 'a'), 'F')).toBe(none.stdout.replaceAll(join(d, 'b'), 'F'));
    expect(flips.stdout).not.toMatch(/chattr|S_DAX/);
    const lines = flipLines(flips.stderr);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines).toContain('42 chattr -x\t(xfs_io:6060)\ton-disk DAX flag cleared, S_DAX stays 1 until the inode is next loaded\tstep 637');
    expect(lines).toContain('42 inode load\t(fsx:6052)\tS_DAX 1 -> 0 from the on-disk flag\tstep 666');
    // in order with fsx's own -d lines when both streams go to one place: each comes after the op it happened in began
    const opOf = (l: string): number => Number(/^(\d+)/.exec(l)![1]);
    for (let i = 1; i < lines.length; i++) expect(opOf(lines[i])).toBeGreaterThanOrEqual(opOf(lines[i - 1]));
    expect(flipLines(none.stderr)).toEqual([]);
    // deterministic
    const again = await cli([...args, '--kernel', 'deferred', join(d, 'a')]);
    expect(flipLines(again.stderr)).toEqual(lines);
  });

  it('S_DAX changing at once, and refusals, say so; nothing without -d; -D from its op on; -j prefixes', async () => {
    const d = tmp();
    // seed 1's first flip is at op 42 and its next at op 46: 45 ops see exactly one
    const imm = flipLines((await cli(['-d', '-q', '-S', '1', '-N', '45', join(d, 'i')])).stderr);
    expect(imm).toEqual([expect.stringMatching(/^42 chattr -x\t\(xfs_io:6060\)\ton-disk DAX flag cleared, S_DAX 1 -> 0\tstep \d+$/)]);
    const refused = flipLines((await cli(['-d', '-q', '-S', '1', '-N', '60', '--kernel', 'refuse-mapped', join(d, 'r')])).stderr);
    expect(refused[0]).toMatch(/^\d+ chattr -x\t\(xfs_io:6060\)\trefused \(EBUSY: the file is mapped\): on-disk DAX flag stays set, S_DAX stays 1\tstep \d+$/);
    expect(flipLines((await cli(['-q', '-S', '1', '-N', '60', '--kernel', 'deferred', join(d, 'q')])).stderr)).toEqual([]);
    const all = flipLines((await cli(['-d', '-S', '1', '-N', '60', '--kernel', 'deferred', join(d, 'all')])).stderr);
    const fromD = flipLines((await cli(['-D', '45', '-S', '1', '-N', '60', '--kernel', 'deferred', join(d, 'from')])).stderr);
    expect(fromD.length).toBeGreaterThan(0);
    expect(fromD).toEqual(all.filter((l) => Number(/^(\d+)/.exec(l)![1]) >= 45));
    const j = flipLines((await cli(['-d', '-j', 'w1', '-S', '1', '-N', '60', '--kernel', 'deferred', join(d, 'j')])).stderr);
    expect(j[0]).toMatch(/^w1: \d+ chattr -x\t\(xfs_io:6060\)\t/);
  });
});

describe('--log-json says what happened, in order', () => {
  interface Ev {
    event: string;
    step: number;
    testcall?: number;
    op?: number | string | null;
    failing?: boolean;
    task?: string;
    dax?: boolean;
    sdax?: boolean;
    flips?: number;
    ops?: number;
    verdict?: string;
    signature?: string;
  }
  const read = (p: string): Ev[] =>
    readFileSync(p, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev);

  it("the seed's oops: op 18 done, the flip during op 19, then op 19 marked failing, then the end", async () => {
    const d = tmp();
    const r = await cli(['-q', '-S', '4', '-N', '20000', '--log-json', join(d, 'l.json'), join(d, 'f')]);
    expect(r.code).toBe(50);
    const ev = read(join(d, 'l.json'));
    expect(ev[0].event).toBe('start');
    const end = ev[ev.length - 1];
    expect(end.event).toBe('end');
    expect(end.ops).toBe(19);
    expect(end).toMatchObject({ verdict: 'oops', signature: 'iomap_page_mkwrite' });
    const tail = ev.slice(-4).map((e) => `${e.event} ${e.event === 'op' ? e.testcall : e.event === 'flip' ? e.op : ''}${e.failing ? ' failing' : ''}`.trim());
    expect(tail).toEqual(['op 18', 'flip 19', 'op 19 failing', 'end']);
    const flip = ev[ev.length - 3];
    expect(flip).toMatchObject({ task: 'xfs_io:6060', dax: false, sdax: false, op: 19 });
    // no wall-clock or process fields: the same run writes the same log
    for (const e of ev) expect(Object.keys(e).some((k) => /time|pid|hostname/.test(k))).toBe(false);
  });

  it('every flip is its own event, interleaved with the ops by step; the failing op is the one in flight', async () => {
    const d = tmp();
    const r = await cli(['-q', '-S', '2', '-N', '20000', '--fs', 'ext4', '--log-json', join(d, 'l.json'), join(d, 'f')]);
    expect(r.code).toBe(110);
    const ev = read(join(d, 'l.json'));
    const body = ev.slice(1, -1);
    const end = ev[ev.length - 1];
    const flips = body.filter((e) => e.event === 'flip');
    expect(flips.length).toBe(end.flips);
    // by step, in the order they happened; each flip names the op in flight, which ends after it
    for (let i = 1; i < body.length; i++) expect(body[i].step).toBeGreaterThanOrEqual(body[i - 1].step);
    let lastOp = 0;
    for (const e of body) {
      if (e.event === 'op') {
        expect(e.testcall).toBe(lastOp + 1);
        lastOp = e.testcall!;
      } else if (e.event === 'flip') expect(e.op).toBe(lastOp + 1);
    }
    const failing = body.filter((e) => e.failing);
    expect(failing.length).toBe(1);
    expect(failing[0]).toBe(body[body.length - 1]);
    expect(failing[0].testcall).toBe(end.ops);
  });

  it('a clean run logs no failing op, and its flips add up', async () => {
    const d = tmp();
    const r = await cli(['-q', '-S', '3', '-N', '500', '--kernel', 'deferred', '--log-json', join(d, 'l.json'), join(d, 'f')]);
    expect(r.code).toBe(0);
    const ev = read(join(d, 'l.json'));
    expect(ev.filter((e) => e.failing)).toEqual([]);
    expect(ev.filter((e) => e.event === 'flip').length).toBe(ev[ev.length - 1].flips);
    expect(ev.filter((e) => e.event === 'op').length).toBe(500);
  });
});

describe('READ BAD DATA in plain words', () => {
  it('names the op whose bytes are missing, its IS_DAX() test and path, the flag change, and the read’s path', async () => {
    const d = tmp();
    const r = await cli(['-q', `--replay-ops=${staleWriteScript(d)}`, join(d, 'f')]);
    expect(r.code).toBe(110);
    const story = r.stderr.slice(r.stderr.indexOf('In short:'), r.stderr.indexOf('The flag changed'));
    expect(story.trim().split('\n')).toEqual([
      'In short: op 2 (read 0x0 thru 0xfff) did not read what op 1 (write 0x0 thru 0xfff) wrote at 0x0 (4086 bytes differ, 0x0 thru 0xfff):',
      '  op 1 (write 0x0 thru 0xfff) tested IS_DAX() false in ext4_file_write_iter at step 19, and copied its data into the page cache;',
      '  xfs_io:6060 cleared the journal flag (chattr -j) at step 26 (S_DAX=1 at once);',
      '  op 2 (read 0x0 thru 0xfff) tested IS_DAX() true in ext4_dax_read_iter at step 36 and read media through DAX, which never got the data (DAX reads bypass the page cache).',
    ]);
    // the picture goes from the write to the read, with where the bytes went
    const tl = r.stderr.slice(r.stderr.indexOf('Timeline (from the op that wrote the bytes to the failing read):'));
    expect(tl).toMatch(/\n\s+31\s+-> page cache 0x0\+0x1000\n/);
    expect(tl).toMatch(/\n\s+37\s+<- media \(DAX\) 0x0\+0x1000\n/);
    expect(readFileSync(join(d, 'f.dmesg'), 'utf8')).toContain('did not read what op 1 (write 0x0 thru 0xfff) wrote');
    expect(r.stderr + r.stdout).not.toContain('READ BAD DATA in READ BAD DATA');
  });

  it('follows the bytes back through the ops that moved them, and names the drop of the dirty pages that held them', async () => {
    // 4.13's DAX write-back fails with EIO on a dirty page-cache page (it no longer skips it quietly);
    // here the pages are dropped unwritten by the invalidation of a later op instead
    const d = tmp();
    const r = await cli(['-q', '-S', '7', '-N', '20000', '--fs', 'ext4', join(d, 'f')]);
    expect(r.code).toBe(110);
    const story = r.stderr.slice(r.stderr.indexOf('In short:'), r.stderr.indexOf('The flag changed'));
    expect(story).toMatch(/^In short: op 115 \(mapread 0x3f9b thru 0x949e\) did not read what op 49 \(mapwrite 0x3df7 thru 0x10274\) wrote at 0xe000 \(since moved to 0x4000\)/);
    const lines = story.trim().split('\n');
    const at = (s: string): number => {
      const i = lines.findIndex((l) => l.includes(s));
      expect(i, s).toBeGreaterThan(0);
      return i;
    };
    // in the order it happened
    const order = [
      at('op 49 (mapwrite 0x3df7 thru 0x10274) tested IS_DAX() false in ext4_file_mmap at step 812 (which fixed the mode of its mapping), and its stores through the mapping went into page-cache pages;'),
      at('xfs_io:6060 cleared the journal flag (chattr -j) at step 834 (S_DAX=1 at once);'),
      at("at step 1050 (fsx's op 57, collapse_range) the dirty page-cache pages 14..18 were dropped without being written back: their bytes are gone;"),
      at('op 57 (collapse_range 0x0 thru 0xafff) moved what media held at 0xe000 to 0x3000;'),
      at('op 112 (insert_range 0x3000 thru 0x3fff) moved what media held at 0x3000 to 0x4000;'),
      at('op 115 (mapread 0x3f9b thru 0x949e) tested IS_DAX() true in ext4_file_mmap at step 2162 (which fixed the mode of its mapping) and loaded through the mapping straight from media (DAX pfns), which never got the data'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // the steps are the model's: the same every time
    const again = await cli(['-q', '-S', '7', '-N', '20000', '--fs', 'ext4', join(d, 'g')]);
    expect(again.stderr.slice(again.stderr.indexOf('In short:'), again.stderr.indexOf('The flag changed'))).toBe(story);
  });

  it('names the eviction that dropped the dirty pages (5.8: I_DONTCACHE evicts without write-back)', async () => {
    const d = tmp();
    const r = await cli(['-q', '-S', '1', '-N', '5000', '-c', '20', '--kernel', 'deferred-5.8', join(d, 'f')]);
    expect(r.code).toBe(110);
    const story = r.stderr.slice(r.stderr.indexOf('In short:'), r.stderr.indexOf('The flag changed'));
    expect(story.trim().split('\n')).toEqual([
      'In short: op 103 (read 0x12a6 thru 0x7eca) did not read what op 92 (write 0x104 thru 0x8510) wrote at 0x12a6 (23859 bytes differ, 0x12a6 thru 0x6fff):',
      '  op 92 (write 0x104 thru 0x8510) tested IS_DAX() false in xfs_file_write_iter at step 1750, and copied its data into the page cache;',
      "  at step 2055 (fsx's op 102, truncate) the dirty page-cache pages 1..6 were dropped without being written back: their bytes are gone;",
      '  fsx:6052 loaded the inode at step 2060: S_DAX=0;',
      '  op 103 (read 0x12a6 thru 0x7eca) tested IS_DAX() false in xfs_file_read_iter at step 2063 and read the page cache, whose dropped pages were read in again from media, which never got the data.',
    ]);
  });

  it('a shrunk READ BAD DATA says the same, and never "READ BAD DATA in READ BAD DATA"', async () => {
    const d = tmp();
    const r = await cli(['shrink', '--budget', '3', staleWriteScript(d)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Shrunk READ BAD DATA: /);
    expect(r.stdout + r.stderr).not.toContain('READ BAD DATA in READ BAD DATA');
    expect(r.stdout).toMatch(/In short: op 2 \(read 0x0 thru 0x[0-9a-f]+\) did not read what op 1 \(write 0x0 thru 0x[0-9a-f]+\) wrote at 0x0/);
    expect(r.stdout).toMatch(/op 1 \(write [^)]*\) tested IS_DAX\(\) false in ext4_file_write_iter at step \d+, and copied its data into the page cache;/);
    expect(r.stdout).toMatch(/xfs_io:6060 cleared the journal flag \(chattr -j\) at step \d+ \(S_DAX=1 at once\);/);
    expect(r.stdout).toMatch(/op 2 \(read [^)]*\) tested IS_DAX\(\) true in ext4_dax_read_iter at step \d+ and read media through DAX, which never got the data \(DAX reads bypass the page cache\)\./);
    // the shrink's own "In short" about one operation is not printed beside it
    expect(r.stdout).not.toContain('the VMA was set up for one mode');
  });

  it('headlines: a check that is its own signature is said once', () => {
    expect(headlineOf('READ BAD DATA', 'READ BAD DATA')).toBe('READ BAD DATA');
    expect(headlineOf('oops', 'iomap_page_mkwrite')).toBe('oops in iomap_page_mkwrite');
    expect(headlineOf('hung', 'deadlock in xfs_ilock')).toBe('hung: deadlock in xfs_ilock');
    expect(headlineOf('ok', '')).toBe('ok');
    expect(headline({ kind: 'fsx', check: 'READ BAD DATA', status: 110 })).toBe('READ BAD DATA');
  });
});
