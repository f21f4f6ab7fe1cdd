/**
 * The dashboard's sessions chart (web/report.ts): an hour label that falls at
 * the right edge of the chart ends there instead of running past it (the
 * layout test saw it overflow its card just after midnight, 06:00, 12:00, 18:00).
 */
import { describe, expect, it } from 'vitest';
import { chartSvg } from '../web/report.js';

const labels = (svg: string) => Array.from(svg.matchAll(/<text class="rt" x="([\d.]+)" y="[\d.]+"( text-anchor="end")?>([\d:]+)<\/text>/g)).map((m) => ({ x: Number(m[1]), end: Boolean(m[2]), text: m[3] }));

describe('sessions chart', () => {
  it('a label at the right edge is anchored at its end; the others start at their line', () => {
    const until = Date.UTC(2026, 11, 2, 0, 7);
    const svg = chartSvg({ since: until - 24 * 3600_000, until, sessions: [], timeline: [], oldest: null });
    const ls = labels(svg);
    expect(ls.map((l) => l.text)).toEqual(['06:00', '12:00', '18:00', '00:00']);
    expect(ls.map((l) => l.end)).toEqual([false, false, false, true]);
    expect(ls[3].x).toBeGreaterThan(560);
  });
});
