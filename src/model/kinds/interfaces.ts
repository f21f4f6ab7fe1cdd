/** Declared interfaces: Y.Map<name, InterfaceDecl>, versioned. */
import type { InterfaceDecl } from '../records.js';
import { plainMap, type RecordKind } from './kind.js';

export const interfaces: RecordKind<InterfaceDecl> = {
  section: 'interfaces',
  singular: 'interface',
  plural: 'interfaces',
  versioned: true,
  timeline: 'interface',
  watch: 'interface',
  ...plainMap<InterfaceDecl>('interfaces'),
};
