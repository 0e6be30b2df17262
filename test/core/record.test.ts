import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/core/config.js';
import { readRecord, recordLines } from '../../src/replay/recording.js';
import { RwSem } from '../../src/kernel/locks.js';
import { Task } from '../../src/sched/task.js';
import { cli, tmp } from '../helpers.js';

/** A locked run that hits the VM_MIXEDMAP BUG, recorded. */
async function lockedBug(d: string): Promise<{ f: string; text: string }> {
  const f = join(d, 'run');
  const r = await cli(['-q', '-S', '7', '-N', '20000', '--kernel', 'locked', f]);
  expect(r.code).toBe(50);
  expect(r.stderr).toMatch(/bug in vm_insert_mixed/);
  return { f, text: readFileSync(`${f}.fsxops`, 'utf8') };
}

const withoutRecord = (text: string): string => text.split('\n').filter((l) => !l.startsWith('# daxfsx-record:')).join('\n');

describe('a recording decides its replay, or the replay does not run (defect 1)', () => {
  it('replays the recorded design, with no design on the command line', async () => {
    const d = tmp();
    const { f } = await lockedBug(d);
    const r = await cli([`--replay-ops=${f}.fsxops`, join(d, 'again')]);
    expect(r.code).toBe(50);
    expect(r.stderr).toMatch(/bug in vm_insert_mixed/);
  });

  const damaged: [string, (t: string) => string, RegExp][] = [
    ['its record lines deleted', withoutRecord, /run\.fsxops:1: daxfsx lines but no '# daxfsx-record:' line/],
    ['a record part missing (truncated)', (t) => t.replace(/^# daxfsx-record: v2 2\/.*\n/m, ''), /record part 3\/\d+ where part 2\/\d+ was expected|truncated/],
    ['its last part missing', (t) => t.split('\n').filter((l, i, all) => !(l.startsWith('# daxfsx-record:') && !all[i + 1]?.startsWith('# daxfsx-record:'))).join('\n'), /truncated/],
    ['a byte of its data changed', (t) => t.replace('"refuseWhileMapped":false', '"refuseWhileMapped":true '), /checksum does not match/],
    ['an unknown format version', (t) => t.replace(/# daxfsx-record: v2 /g, '# daxfsx-record: v9 '), /record format v9, which this version of daxfsx does not know/],
    ['a damaged record line', (t) => t.replace(/# daxfsx-record: v2 1\/(\d+) [0-9a-f]{8}/, '# daxfsx-record: v2 1/$1 zz'), /damaged/],
  ];
  for (const [what, edit, why] of damaged) {
    it(`refuses a recording with ${what}: one line naming the file, exit 100, nothing run`, async () => {
      const d = tmp();
      const { text } = await lockedBug(d);
      const bad = join(d, 'run.fsxops');
      writeFileSync(bad, edit(text));
      const g = join(d, 'g');
      const r = await cli([`--replay-ops=${bad}`, g]);
      expect(r.code).toBe(100);
      expect(r.stderr).toMatch(why);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(bad);
      expect(existsSync(g)).toBe(false);
      expect(r.stdout).toBe('');
    });
  }

  it('refuses a command line that contradicts the recording, and says which option', async () => {
    const d = tmp();
    const { f } = await lockedBug(d);
    const r = await cli(['--kernel', 'immediate', `--replay-ops=${f}.fsxops`, join(d, 'g')]);
    expect(r.code).toBe(100);
    expect(r.stderr).toMatch(/contradicts the recording: model\.kernel "immediate" \(recorded: "locked"\)/);
    // agreeing with it, or changing only what is printed, is fine
    const ok = await cli(['--kernel', 'locked', '-d', `--replay-ops=${f}.fsxops`, join(d, 'h')]);
    expect(ok.code).toBe(50);
  });

  it("a file with no daxfsx lines is fsx's: its op lines replay under the command line, and it says so", async () => {
    const d = tmp();
    const { text } = await lockedBug(d);
    const plain = join(d, 'plain.fsxops');
    writeFileSync(plain, text.split('\n').filter((l) => !l.startsWith('#')).join('\n'));
    const r = await cli(['-S', '7', '--kernel', 'locked', `--replay-ops=${plain}`, join(d, 'g')]);
    expect(r.stderr).toMatch(/plain\.fsxops has no daxfsx record: replaying its op lines as fsx would/);
  });
});

describe('output options are never recorded (defect 2)', () => {
  it('--report, --summary, --shrink, --log-json do not reach the record, and a replay writes none of them', async () => {
    const d = tmp();
    const f = join(d, 'demo');
    const r = await cli(['-q', '-S', '1', '-N', '20000', '--report', join(d, 'demo.html'), '--summary', join(d, 's.json'), '--log-json', join(d, 'l.json'), '--shrink', f]);
    expect(r.code).toBe(50);
    const text = readFileSync(`${f}.fsxops`, 'utf8');
    expect(text).not.toMatch(/demo\.html|s\.json|l\.json|shrink/);
    const rec = readRecord(readFileSync(`${f}.min.fsxops`, 'utf8'), 'min')!;
    expect(Object.keys(rec.config)).toEqual(['fsx', 'model']);
    const html = readFileSync(join(d, 'demo.html'), 'utf8');
    const again = await cli([`--replay-ops=${f}.min.fsxops`, join(d, 'x')]);
    expect(again.code).toBe(50);
    expect(readFileSync(join(d, 'demo.html'), 'utf8')).toBe(html);
    expect(again.stderr).not.toMatch(/shrinking/);
  });

  it('a replay never writes over the outputs of the run it replays', async () => {
    const d = tmp();
    const f = join(d, 'demo');
    await cli(['-q', '-S', '1', '-N', '20000', f]);
    const before = ['', '.fsxops', '.fsxlog', '.dmesg', '.fsxgood'].map((x) => readFileSync(`${f}${x}`));
    const r = await cli([`--replay-ops=${f}.fsxops`, f]);
    expect(r.code).toBe(50);
    expect(r.stderr).toMatch(/this replay writes .*demo\.replay/);
    ['', '.fsxops', '.fsxlog', '.dmesg', '.fsxgood'].forEach((x, i) => expect(readFileSync(`${f}${x}`).equals(before[i])).toBe(true));
    expect(existsSync(`${f}.replay.dmesg`)).toBe(true);
  });
});

describe('crafted records cannot steer a replay (defect 6)', () => {
  const craft = (obj: unknown): string => {
    const lines = recordLines({ origin: { kind: 'generated', firstOp: 1 }, config: defaultConfig(), schedule: [] }, 'crafted');
    // re-sign a crafted payload the way the writer signs a real one
    const json = JSON.stringify(obj);
    let h = 0x811c9dc5;
    for (let i = 0; i < json.length; i++) h = Math.imul(h ^ json.charCodeAt(i), 0x01000193);
    const sum = (h >>> 0).toString(16).padStart(8, '0');
    return [lines[0], `# daxfsx-record: v2 1/1 ${sum} ${json}`, 'write 0x0 0x10 0x0 *'].join('\n') + '\n';
  };
  const payloads: [string, (d: string) => unknown][] = [
    ['an output path in the config', (d) => ({ origin: { kind: 'generated', firstOp: 1 }, config: { ...defaultConfig(), report: join(d, 'evil.html') }, schedule: [] })],
    ['an output path among fsx options', (d) => ({ origin: { kind: 'generated', firstOp: 1 }, config: { fsx: { ...defaultConfig().fsx, logJson: join(d, 'evil.html') }, model: defaultConfig().model }, schedule: [] })],
    ['an extra top-level field', (d) => ({ origin: { kind: 'generated', firstOp: 1 }, config: defaultConfig(), schedule: [], outputs: { report: join(d, 'evil.html') } })],
    ['an argv of options', (d) => ({ origin: { kind: 'generated', firstOp: 1 }, args: ['--report', join(d, 'evil.html')], config: defaultConfig(), schedule: [] })],
    ['a value out of range', () => ({ origin: { kind: 'generated', firstOp: 1 }, config: { ...defaultConfig(), fsx: { ...defaultConfig().fsx, maxfilelen: 1e12 } }, schedule: [] })],
  ];
  for (const [what, payload] of payloads) {
    it(`refuses ${what}, writing nothing`, async () => {
      const d = tmp();
      const file = join(d, 'evil.fsxops');
      writeFileSync(file, craft(payload(d)));
      const r = await cli([`--replay-ops=${file}`, join(d, 'g')]);
      expect(r.code).toBe(100);
      expect(r.stderr).toMatch(/evil\.fsxops:2: the record's /);
      expect(existsSync(join(d, 'evil.html'))).toBe(false);
      expect(existsSync(join(d, 'g'))).toBe(false);
    });
  }

  it('refuses the old argv header, whatever it names', async () => {
    const d = tmp();
    const file = join(d, 'old.fsxops');
    writeFileSync(file, `# daxfsx-args: ["--report","${join(d, 'evil.html')}","--log-json","${join(d, 'l')}"]\nwrite 0x0 0x10 0x0 *\n`);
    const r = await cli([`--replay-ops=${file}`, join(d, 'g')]);
    expect(r.code).toBe(100);
    expect(r.stderr).toMatch(/record format v0/);
    expect(existsSync(join(d, 'evil.html'))).toBe(false);
    expect(existsSync(join(d, 'l'))).toBe(false);
  });
});

describe('what the reports say', () => {
  it('a parse error in a plain op file advertises no replay of a file that was not written (defect 3)', async () => {
    const d = tmp();
    const file = join(d, 'bad.fsxops');
    writeFileSync(file, 'write 0x0 0x10 0x0 *\nfrobnicate 0x0\n');
    const r = await cli(['-q', '--no-flip', `--replay-ops=${file}`, join(d, 'g')]);
    expect(r.code).toBe(100);
    expect(r.stderr).not.toMatch(/Replay: .*g\.fsxops/);
  });

  it('a waiter on a lock nobody holds is told who is queued first, never an empty holder (defect 4)', () => {
    const sem = new RwSem('MMAPLOCK');
    const a = new Task(1, 'xfs_io', 0);
    const b = new Task(2, 'fsx', 1);
    sem.waiters.push({ t: a, write: true }, { t: b, write: false });
    expect(sem.holderText(b)).toBe('held by nobody, but xfs_io:1 (write) queued first');
    expect(sem.describe(b)).not.toMatch(/held for read by $/);
    sem.readers.push(a);
    expect(sem.holderText(b)).toBe('held for read by xfs_io:1');
  });

  it("the locked BUG is explained by the IS_DAX read at mmap time, the seed's oops by the two reads of one fault (defect 4)", async () => {
    const d = tmp();
    const bug = await cli(['-q', '-S', '7', '-N', '20000', '--kernel', 'locked', join(d, 'a')]);
    expect(bug.stderr).toMatch(/In short: the VMA was set up for one mode and faulted in the other:\n\s+IS_DAX\(\) read false at step \d+ \(xfs_file_mmap\).* and true at step \d+ \(xfs_filemap_fault\); in between, xfs_io:6060 changed it/);
    const oops = await cli(['-q', '-S', '4', '-N', '20000', join(d, 'b')]);
    expect(oops.stderr).toMatch(/In short: S_DAX changed while the operation was in flight.*\n\s+IS_DAX\(\) read true at step \d+ \(xfs_filemap_fault\) and false at step \d+ \(xfs_filemap_page_mkwrite\)/);
  });

  it('a shrink says why its counts differ from the run it shrinks (defect 5)', async () => {
    const d = tmp();
    const f = join(d, 'demo');
    await cli(['-q', '-S', '1', '-N', '20000', f]);
    const r = await cli(['shrink', `${f}.fsxops`]);
    const m = /: (\d+) ops \(the run made (\d+) ops, (\d+) of them skipped by fsx, which a script leaves out\)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![1]) + Number(m![3])).toBe(Number(m![2]));
  });
});
