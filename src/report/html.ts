import type { TimelineRow } from './timeline.js';

/** Everything the page shows. */
export interface ReportData {
  title: string;
  verdict: string;
  command: string;
  replay: string;
  rows: TimelineRow[];
  /** The last operations, as .fsxops lines. */
  ops: string[];
  kernelText: string;
  explanation: string[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Bar {
  task: string;
  lock: string;
  from: number;
  to: number;
  excl: boolean;
  wait: boolean;
}

/** Lock holdings (and waits) as intervals over row indices, per task and lock. */
function bars(rows: TimelineRow[]): Bar[] {
  const out: Bar[] = [];
  const open = new Map<string, Bar>();
  rows.forEach((r, i) => {
    let m: RegExpExecArray | null;
    if ((m = /^waits (\S+) (excl|shared)/.exec(r.text))) {
      const b = { task: r.task, lock: m[1], from: i, to: rows.length - 1, excl: m[2] === 'excl', wait: true };
      open.set(`w|${r.task}|${m[1]}`, b);
      out.push(b);
    } else if ((m = /^\+(\S+) (excl|shared)/.exec(r.text))) {
      const w = open.get(`w|${r.task}|${m[1]}`);
      if (w) {
        w.to = i;
        open.delete(`w|${r.task}|${m[1]}`);
      }
      const b = { task: r.task, lock: m[1], from: i, to: rows.length - 1, excl: m[2] === 'excl', wait: false };
      open.set(`${r.task}|${m[1]}`, b);
      out.push(b);
    } else if ((m = /^-(\S+)/.exec(r.text))) {
      const b = open.get(`${r.task}|${m[1]}`);
      if (b) {
        b.to = i;
        open.delete(`${r.task}|${m[1]}`);
      }
    }
  });
  return out;
}

/**
 * A single self-contained page: the timeline as an SVG drawing (a lane per
 * task, lock holdings as bars, IS_DAX reads as marks, the flip, the failure
 * highlighted; every mark's tooltip is its call stack), then the op list, the
 * kernel's text and the replay command. No network, no scripts from elsewhere.
 */
export function renderHtml(d: ReportData): string {
  const rows = d.rows;
  const tasks = [...new Set(rows.map((r) => r.task))].sort((a, b) => (a.startsWith('fsx') ? -1 : b.startsWith('fsx') ? 1 : a.localeCompare(b)));
  const locks = [...new Set(bars(rows).map((b) => b.lock))].sort();
  const dx = 22;
  const left = 120;
  const laneH = 34 + locks.length * 10;
  const top = 30;
  const width = left + Math.max(1, rows.length) * dx + 40;
  const height = top + tasks.length * laneH + 30;
  const x = (i: number): number => left + i * dx + dx / 2;
  const laneY = (task: string): number => top + tasks.indexOf(task) * laneH;
  const parts: string[] = [];
  tasks.forEach((t, i) => {
    const y = laneY(t);
    parts.push(`<rect class="lane" x="0" y="${y}" width="${width}" height="${laneH}" fill="${i % 2 ? '#f6f7fb' : '#ffffff'}"/>`);
    parts.push(`<text class="lane-name" x="8" y="${y + 18}">${esc(t)}</text>`);
  });
  // step ticks
  rows.forEach((r, i) => {
    if (i % 5 === 0) parts.push(`<text class="tick" x="${x(i)}" y="${top - 8}" text-anchor="middle">${r.step}</text>`);
  });
  // lock bars
  for (const b of bars(rows)) {
    const y = laneY(b.task) + 24 + locks.indexOf(b.lock) * 10;
    const cls = b.wait ? 'bar wait' : b.excl ? 'bar excl' : 'bar shared';
    parts.push(
      `<rect class="${cls}" data-lock="${esc(b.lock)}" x="${x(b.from) - 4}" y="${y}" width="${Math.max(8, (b.to - b.from) * dx + 8)}" height="7"><title>${esc(`${b.task} ${b.wait ? 'waits for' : 'holds'} ${b.lock} (${b.excl ? 'exclusive' : 'shared'}), steps ${rows[b.from].step}..${rows[b.to].step}`)}</title></rect>`,
    );
  }
  // marks
  rows.forEach((r, i) => {
    const cx = x(i);
    const cy = laneY(r.task) + 13;
    const tip = esc(`step ${r.step}  ${r.task}\n${r.text}\n\n${r.stack.split(' > ').reverse().join('\n')}`);
    let shape: string;
    if (r.kind === 'fail') shape = `<g class="mark fail"><circle cx="${cx}" cy="${cy}" r="9"/><text x="${cx}" y="${cy + 4}" text-anchor="middle">!</text></g>`;
    else if (r.kind === 'isdax') shape = `<circle class="mark isdax ${r.value ? 'dax-on' : 'dax-off'}" cx="${cx}" cy="${cy}" r="6"/>`;
    else if (r.kind === 'flip') shape = `<rect class="mark flip" x="${cx - 6}" y="${cy - 6}" width="12" height="12" transform="rotate(45 ${cx} ${cy})"/>`;
    else if (r.kind === 'vma') shape = `<rect class="mark vma" x="${cx - 5}" y="${cy - 5}" width="10" height="10"/>`;
    else shape = `<circle class="mark other" cx="${cx}" cy="${cy}" r="3"/>`;
    parts.push(`<g class="step" data-step="${r.step}" data-kind="${r.kind}">${shape}<title>${tip}</title></g>`);
  });
  const legend = locks.map((l, i) => `<span class="key"><span class="sw bar-${i}"></span>${esc(l)}</span>`).join('');
  const failRow = rows.find((r) => r.kind === 'fail');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(d.title)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1d2330; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; background: ${failRow ? '#fde2e1' : '#ddf4e4'}; color: ${failRow ? '#a3140e' : '#14632f'}; }
code, pre { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f4f5f9; border: 1px solid #e1e4ee; border-radius: 6px; padding: 10px 12px; overflow: auto; max-height: 420px; }
.timeline { overflow-x: auto; border: 1px solid #e1e4ee; border-radius: 6px; }
svg text { font: 11px ui-monospace, Menlo, Consolas, monospace; fill: #5b6275; }
svg .lane-name { font-weight: 600; fill: #1d2330; font-size: 12px; }
.bar.excl { fill: #c0392b; opacity: .75; }
.bar.shared { fill: #2e86de; opacity: .6; }
.bar.wait { fill: none; stroke: #888; stroke-dasharray: 3 2; }
.mark.isdax.dax-on { fill: #27ae60; }
.mark.isdax.dax-off { fill: #e67e22; }
.mark.flip { fill: #8e44ad; }
.mark.vma { fill: #16a085; }
.mark.other { fill: #b4b9c7; }
.mark.fail circle { fill: #d62b1f; stroke: #7a0f09; stroke-width: 2; }
.mark.fail text { fill: #fff; font-weight: 700; font-size: 12px; }
.step:hover circle, .step:hover rect { stroke: #1d2330; stroke-width: 2; }
.legend { margin: 8px 0; color: #5b6275; }
.legend .key { margin-right: 14px; white-space: nowrap; }
.sw { display: inline-block; width: 12px; height: 12px; border-radius: 3px; vertical-align: -2px; margin-right: 4px; }
.grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 20px; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<h1>${esc(d.title)}</h1>
<p><span class="verdict" id="verdict">${esc(d.verdict)}</span></p>
<p>Command: <code>${esc(d.command)}</code><br>Replay: <code id="replay">${esc(d.replay)}</code></p>
<h2>Timeline</h2>
<div class="legend">
<span class="key"><span class="sw" style="background:#27ae60;border-radius:6px"></span>IS_DAX() read true</span>
<span class="key"><span class="sw" style="background:#e67e22;border-radius:6px"></span>IS_DAX() read false</span>
<span class="key"><span class="sw" style="background:#8e44ad"></span>flag change</span>
<span class="key"><span class="sw" style="background:#16a085"></span>VMA set up / linked</span>
<span class="key"><span class="sw" style="background:#c0392b;opacity:.75"></span>lock held exclusive</span>
<span class="key"><span class="sw" style="background:#2e86de;opacity:.6"></span>lock held shared</span>
<span class="key"><span class="sw" style="border:1px dashed #888"></span>waiting for a lock</span>
<span class="key"><span class="sw" style="background:#d62b1f;border-radius:6px"></span>the failure</span>
${legend ? `<br>Lock rows, top to bottom in each lane: ${locks.map(esc).join(', ')}` : ''}
</div>
<div class="timeline"><svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
${parts.join('\n')}
</svg></div>
<p class="legend">Hover a mark for its step, what happened and the task's call stack (innermost first).</p>
<div class="grid">
<div><h2>What happened</h2><pre id="explanation">${esc(d.explanation.join('\n') || '(no flag change during this window)')}</pre></div>
<div><h2>Operations (last ${d.ops.length})</h2><pre id="ops">${esc(d.ops.join('\n'))}</pre></div>
</div>
<h2>Kernel log</h2>
<pre id="kernel">${esc(d.kernelText || '(no kernel failure)')}</pre>
</body>
</html>
`;
}
