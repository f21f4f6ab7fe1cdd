/**
 * Delivery between tool calls (issue 16): which new items go out after a tool
 * call, and when. Pure: callers pass the candidates (already filtered to what
 * this session was not shown), the time and when it last got an injection.
 *
 * Non-urgent items wait out a short per-session gap; urgent ones (a request
 * addressed to this session, a lost lock on a file it edits) go at once.
 * The text is compact: a few lines, then counts and the command for the rest.
 */
import type { Decision, Message } from './context.js';
import type { LockView } from './view.js';
import { deltaText, shortId, type Me } from './inject.js';

/** Minimum gap between two non-urgent post-tool injections of one session. */
export const DELIVER_GAP_MS = 5000;
/** Post-tool injections are compact (the prompt-time delta may be longer). */
export const DELIVER_MAX = 600;

export interface LockChange {
  path: string;
  now: LockView | null;
  before: string | null;
  /** The session held this lock itself and no longer does (lost or force-released). */
  lostMine?: boolean;
}

export interface DeliverInput {
  me: Me;
  messages: Message[];
  decisions: Decision[];
  lockChanges: LockChange[];
  now: number;
  /** When this session last got a post-tool injection (0: never). */
  lastAt: number;
  gapMs?: number;
}

/** A message that asks this very session (not its role or everyone) for an answer. */
export function isUrgentMessage(m: Message, me: Me): boolean {
  return m.needsReply && (m.to === me.id || m.to === me.name);
}

export function isUrgent(input: Pick<DeliverInput, 'me' | 'messages' | 'lockChanges'>): boolean {
  return input.messages.some((m) => isUrgentMessage(m, input.me)) || input.lockChanges.some((c) => c.lostMine || (c.now !== null && c.now.mode === 'exclusive'));
}

/**
 * What to deliver now: `null` when nothing is new or the gap has not passed
 * (the items stay new for the next call); else the text and the items it shows.
 */
export function selectDelivery(input: DeliverInput): { text: string; messages: Message[]; urgent: boolean } | null {
  const { messages, decisions, lockChanges } = input;
  if (messages.length + decisions.length + lockChanges.length === 0) return null;
  const urgent = isUrgent(input);
  const gap = input.gapMs ?? DELIVER_GAP_MS;
  if (!urgent && input.lastAt > 0 && input.now - input.lastAt < gap && input.now >= input.lastAt) return null;
  // Urgent messages first, so that they survive the size cut.
  const ordered = messages.slice().sort((a, b) => Number(isUrgentMessage(b, input.me)) - Number(isUrgentMessage(a, input.me)));
  const shownMsgs = ordered.slice(0, 3);
  const shownDecisions = decisions.slice(0, 2);
  const extra = messages.length - shownMsgs.length + (decisions.length - shownDecisions.length);
  let text = deltaText({ messages: shownMsgs, decisions: shownDecisions, lockChanges: lockChanges.slice(0, 3), now: input.now }, DELIVER_MAX);
  if (!text) return null;
  if (extra > 0 || lockChanges.length > 3) text += `\n(${extra} more message${extra === 1 ? '' : 's'}/decisions; \`huddle inbox\` shows them.)`;
  return { text, messages: shownMsgs.filter((m) => text.includes(`id ${shortId(m.id)})`)), urgent };
}

/** The unanswered request addressed to this session that a stop should be held for, once each. */
export function stopRequest(open: Message[], me: Me, alreadyHeld: Set<string>): Message | null {
  return open.find((m) => isUrgentMessage(m, me) && m.by !== me.id && !alreadyHeld.has(m.id)) ?? null;
}
