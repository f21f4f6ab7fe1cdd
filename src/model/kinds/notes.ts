/** Shared notes: Y.Map<key, Note>, versioned. */
import type { Note } from '../records.js';
import { plainMap, type RecordKind } from './kind.js';

export const notes: RecordKind<Note> = {
  section: 'notes',
  singular: 'note',
  plural: 'notes',
  versioned: true,
  timeline: 'note',
  watch: 'note',
  ...plainMap<Note>('notes'),
};
