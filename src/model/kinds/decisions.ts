/** Decisions: Y.Map<id, Decision>, versioned. */
import type { Decision } from '../records.js';
import { plainMap, type RecordKind } from './kind.js';

export const decisions: RecordKind<Decision> = {
  section: 'decisions',
  singular: 'decision',
  plural: 'decisions',
  versioned: true,
  timeline: 'decision',
  watch: 'decision',
  ...plainMap<Decision>('decisions'),
};
