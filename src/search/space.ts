import { DESIGNS, DESIGN_NAMES, KNOBS, checkDesign, knobsOf, type Design, type KnobDoc, type Knobs } from '../kernel/designs.js';

/** How a knob's value shows in a searched design's name: `r` + U|L, `rm` + 0|1 (the legend `designs search` prints). */
const TAGS: Readonly<Record<keyof Knobs, string>> = {
  base: '',
  readIsDax: 'r',
  writeIsDax: 'w',
  faultWriteIsDax: 'fw',
  hugeFaultIsDax: 'hf',
  refuseWhileMapped: 'rm',
  refuseWhileOpen: 'ro',
  updateVmas: 'uv',
};

/** A value as one character: 0/1, or the initial (U unlocked, L locked; N no, U under-locks, A after-mmaplock). */
function valueCode(v: string | boolean): string {
  return typeof v === 'boolean' ? (v ? '1' : '0') : v[0].toUpperCase();
}

/** The name a searched design gets: its base, then each knob its base reads, e.g. 4.13-rU-wU-fwL-hfU-rm0. */
export function searchName(k: Knobs): string {
  const parts: string[] = [k.base];
  for (const doc of KNOBS) if (doc.name !== 'base' && doc.readOn.includes(k.base)) parts.push(TAGS[doc.name] + valueCode(k[doc.name]));
  return parts.join('-');
}

/** The legend of searchName's codes. */
export function nameLegend(): string {
  return KNOBS.filter((d) => d.name !== 'base')
    .map((d) => `${TAGS[d.name]}=${d.name} (${d.choices.map((c) => `${valueCode(c)} ${String(c)}`).join(', ')})`)
    .join('; ');
}

/** The built-in design with the same knobs, if there is one. */
export function builtinEqual(k: Knobs): string | null {
  const key = JSON.stringify(knobsOf(k));
  return DESIGN_NAMES.find((n) => JSON.stringify(knobsOf(DESIGNS[n])) === key) ?? null;
}

/** Knob names as the command line gives them; throws with the known names for an unknown one. */
export function parseKnobList(s: string): (keyof Knobs)[] {
  const names = KNOBS.map((k) => k.name) as string[];
  const out = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const x of out) if (!names.includes(x)) throw new Error(`unknown knob "${x}" (knobs: ${names.join(', ')})`);
  if (!out.length) throw new Error(`no knobs (knobs: ${names.join(', ')})`);
  return [...new Set(out)] as (keyof Knobs)[];
}

/**
 * Every combination of the varied knobs' values, the others kept as in
 * `from`. A knob the base's paths never read stays at its default (a design
 * with it elsewhere would contradict its base), so each base contributes the
 * combinations of the knobs it reads. In KNOBS order, deterministic.
 */
export function designSpace(vary: readonly (keyof Knobs)[], from: Knobs): Design[] {
  const base = KNOBS.find((k) => k.name === 'base')!;
  const bases = (vary.includes('base') ? base.choices : [from.base]) as Knobs['base'][];
  const out: Design[] = [];
  for (const b of bases) {
    const docs = KNOBS.filter((d) => d.name !== 'base');
    const fixed = (d: KnobDoc): string | boolean => (d.readOn.includes(b) ? from[d.name] : d.choices[0]);
    const varied = docs.filter((d) => vary.includes(d.name) && d.readOn.includes(b));
    const n = varied.reduce((p, d) => p * d.choices.length, 1);
    for (let i = 0; i < n; i++) {
      const o: Record<string, unknown> = { base: b };
      for (const d of docs) o[d.name] = fixed(d);
      let rest = i;
      for (let j = varied.length - 1; j >= 0; j--) {
        const d = varied[j];
        o[d.name] = d.choices[rest % d.choices.length];
        rest = Math.floor(rest / d.choices.length);
      }
      const k = o as unknown as Knobs;
      const equal = builtinEqual(k);
      out.push(
        checkDesign({
          ...o,
          name: searchName(k),
          summary: `searched: ${equal ? `the knobs of ${equal}` : 'a combination of knobs'}`,
          source: 'hypothetical: daxfsx designs search',
        }),
      );
    }
  }
  return out;
}
