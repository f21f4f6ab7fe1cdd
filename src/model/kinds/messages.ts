/** Messages: Y.Map<id, Message>; not versioned (a rollback never unsends). */
import type { Message } from '../records.js';
import { plainMap, type RecordKind } from './kind.js';

export const messages: RecordKind<Message> = {
  section: 'messages',
  singular: 'message',
  plural: 'messages',
  versioned: false,
  timeline: 'message',
  watch: 'message',
  ...plainMap<Message>('messages'),
};
