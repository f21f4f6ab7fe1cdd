import { describe, expect, it } from 'vitest';
import { newId } from '../src/model/ids.js';
import { shortId } from '../src/model/inject.js';

describe('ids in injected text', () => {
  it('ids made in the same millisecond get different short forms', () => {
    const ids = Array.from({ length: 20 }, () => newId('m'));
    expect(new Set(ids.map(shortId)).size).toBe(20);
    expect(shortId(ids[0])).toMatch(/^m-[0-9a-f]{6}$/);
    // Foreign ids (a Claude Code session UUID) are cut, not mangled.
    expect(shortId('0b7c2a52-93f1-4d8e-a1c6-2a1f0d6e9b11')).toBe('0b7c2a52');
  });
});
