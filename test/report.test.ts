import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTimeline, timelineRows } from '../src/report/timeline.js';
import { cli, tmp } from './helpers.js';

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

describe('the picture of the race', () => {
  it('a failure shows a timeline in the terminal: a column per task, the flip, IS_DAX values, the failing step last', async () => {
    const d = tmp();
    const r = await cli(['-S', '4', join(d, 'demo')]);
    const tl = r.stderr.slice(r.stderr.indexOf('Timeline (the failing operation):'));
    const lines = tl.split('\n');
    expect(lines[1]).toMatch(/^step\s+fsx:6052\s+xfs_io:6060$/);
    expect(tl).toMatch(/\n\s*\d+\s+IS_DAX=1 xfs_filemap_fault/);
    expect(tl).toMatch(/\n\s*\d+\s{10,}flag cleared, S_DAX=0/);
    expect(tl).toMatch(/\n\s*\d+\s+IS_DAX=0 xfs_filemap_page_mkwrite\n\s*\d+\s+>> oops in iomap_page_mkwrite\n/);
  });

  it("the shrunk reproducer's timeline fits on one screen", async () => {
    const d = tmp();
    await cli(['-S', '2', join(d, 'demo')]);
    await cli(['shrink', join(d, 'demo.fsxops')]);
    const r = await cli([`--replay-ops=${join(d, 'demo.min.fsxops')}`, join(d, 'again')]);
    const tl = r.stderr.slice(r.stderr.indexOf('Timeline'));
    const rows = tl.slice(0, tl.indexOf('\n\nReplay:')).split('\n');
    expect(rows.length).toBeLessThanOrEqual(50);
    expect(rows.every((l) => l.length <= 100)).toBe(true);
  });

  it('rows are capped and coloured only when asked', () => {
    const ev = Array.from({ length: 100 }, (_, i) => ({ step: i, pid: 6052, comm: 'fsx', kind: 'isdax' as const, text: `IS_DAX() read ${i % 2 ? 'true' : 'false'} in f`, stack: 'a > f' }));
    const plain = renderTimeline(timelineRows(ev), 80, (_k, s) => s);
    expect(plain.length).toBeLessThanOrEqual(62);
    expect(plain.join('\n')).not.toMatch(/\x1b\[/);
    const painted = renderTimeline(timelineRows(ev), 80, (k, s) => `<${k}>${s}`);
    expect(painted.join('\n')).toContain('<good>');
  });

  it('--report writes one self-contained page', async () => {
    const d = tmp();
    await cli(['-S', '4', join(d, 'demo'), '--report', join(d, 'r.html')]);
    const html = readFileSync(join(d, 'r.html'), 'utf8');
    expect(html).not.toMatch(/<script[^>]*src=|<link[^>]*href=|url\(http|src="http/);
    expect(html).toContain('<svg id="timeline"');
    expect(html).toContain('BUG: unable to handle kernel NULL pointer dereference');
  });

  it.runIf(chromium)('renders in headless Chromium with lanes, lock bars, IS_DAX marks, the failure and its call stack', async () => {
    const d = tmp();
    await cli(['-S', '4', join(d, 'demo'), '--report', join(d, 'r.html')]);
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${join(d, 'profile')}`];
    const dom = execFileSync(chromium!, [...args, '--dump-dom', `file://${join(d, 'r.html')}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60000 });
    expect(dom).toMatch(/<text class="lane-name"[^>]*>fsx:6052<\/text>/);
    expect(dom).toMatch(/<text class="lane-name"[^>]*>xfs_io:6060<\/text>/);
    expect(dom).toMatch(/class="bar excl" data-lock="(IOLOCK|MMAPLOCK)"/);
    expect(dom).toMatch(/class="mark isdax dax-on"/);
    expect(dom).toMatch(/class="mark isdax dax-off"/);
    expect(dom).toMatch(/class="mark flip"/);
    expect(dom).toMatch(/<g class="mark fail">/);
    // the failing mark's tooltip is its call stack, innermost first
    expect(dom).toMatch(/oops in iomap_page_mkwrite\n\niomap_page_mkwrite\nxfs_filemap_page_mkwrite\nxfs_filemap_fault/);
    expect(dom).toContain('id="replay"');
    const shot = join(d, 'r.png');
    execFileSync(chromium!, [...args, '--window-size=1400,1000', `--screenshot=${shot}`, `file://${join(d, 'r.html')}`], { stdio: 'ignore', timeout: 60000 });
    expect(readFileSync(shot).length).toBeGreaterThan(10000);
  });
});
