import { describe, expect, it } from 'vitest';
import { ANOMALY_COUNTS, checkHistory, reportHtml, reportJson, sampleHistory } from '../src/index.ts';

describe('report', () => {
  const planted = checkHistory(sampleHistory({ seed: 7, durationMs: 120_000, plant: true }), { unavailabilityThresholdMs: 3000 });

  it('the sample run finds exactly the planted anomalies', () => {
    expect(planted.valid).toBe(false);
    expect(planted.counts).toMatchObject({ lostWrites: 1, duplicates: 1, skips: 1, inconsistentOffsets: 0, nonmonotonicPolls: 0, unexpectedValues: 0, failedButRead: 0 });
    expect(planted.counts.faultWindows).toBe(5);
    expect(planted.counts.unavailabilityWindows).toBeGreaterThan(0);
    const clean = checkHistory(sampleHistory({ seed: 7, durationMs: 120_000 }));
    expect(clean.valid).toBe(true);
    for (const k of ANOMALY_COUNTS) expect(clean.counts[k]).toBe(0);
  });

  it('writes JSON with every count and every example list', () => {
    const json = JSON.parse(reportJson(planted, { seed: 7 })) as Record<string, unknown>;
    expect(json.meta).toEqual({ seed: 7 });
    expect(json.counts).toEqual(planted.counts);
    for (const k of ['lostWrites', 'unseenWrites', 'duplicates', 'inconsistentOffsets', 'nonmonotonicPolls', 'skips', 'unexpectedValues', 'failedButRead', 'unavailability', 'faults', 'series']) {
      expect(json).toHaveProperty(k);
    }
  });

  it('writes one self-contained HTML page: verdict, counts, timeline with shaded fault windows, examples', () => {
    const html = reportHtml(planted, { title: 'run <1>', seed: 7 });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    // Self-contained: no external asset, no script.
    expect(html).not.toMatch(/<script|<link|<img|\bsrc=|\bhref=|url\(|@import/i);
    expect(html).toContain('<title>run &lt;1&gt;</title>');
    expect(html).toContain('<span class="verdict invalid">INVALID</span>');
    for (const k of Object.keys(planted.counts)) {
      if (html.includes(`data-count="${k}"`)) expect(html).toMatch(new RegExp(`data-count="${k}"><span>[^<]+</span><b>${planted.counts[k as keyof typeof planted.counts]}</b>`));
    }
    for (const k of ANOMALY_COUNTS) expect(html).toContain(`data-count="${k}"`);
    expect(html).toMatch(/<div class="count-cell bad" data-count="lostWrites">/);
    const svgs = html.match(/<svg /g) ?? [];
    expect(svgs.length).toBe(3); // fault lane, throughput, latency
    expect((html.match(/class="fault-bar"/g) ?? []).length).toBe(planted.faults.length);
    expect((html.match(/class="fault" /g) ?? []).length).toBe(2 * planted.faults.length);
    expect((html.match(/class="unavailable"/g) ?? []).length).toBe(2 * planted.unavailability.length);
    expect((html.match(/class="series"/g) ?? []).length).toBe(7);
    for (const id of ['lost', 'duplicates', 'skips', 'unavailability', 'faults']) expect(html).toContain(`<section class="examples" id="${id}">`);
    expect(html).not.toContain('id="inconsistent"');
    expect(html).toContain(planted.lostWrites[0]!.value);
    // Every SVG path coordinate is a number: no NaN or Infinity leaks into the drawing.
    expect(html).not.toMatch(/NaN|Infinity/);
  });

  it('renders a clean run and an empty history', () => {
    const clean = reportHtml(checkHistory(sampleHistory({ seed: 3, durationMs: 60_000 })));
    expect(clean).toContain('<span class="verdict valid">VALID</span>');
    const empty = reportHtml(checkHistory([]));
    expect(empty).toContain('VALID');
    expect(empty).not.toMatch(/NaN|Infinity/);
  });
});
