/**
 * Delivery between tool calls (issue 16): which new items go out after a tool
 * call, and when. Pure: callers pass the candidates (already filtered to what
 * this session was not shown), the time and when it last got an injection.
 *
 * Non-urgent items wait out a short per-session gap; urgent ones (a request
 * addressed to this session, a lock it held that was lost or force-released,
 * a rival's exclusive lock on a file it edits) go at once, together with
 * whatever non-urgent items were held back.
 * The text is compact: a few lines, then counts and the command for the rest.
 */
import type { Decision, InterfaceDecl, Message } from './context.js';
import type { LockView } from './view.js';
import { deltaText, shortId, type LostLock, type Me } from './inject.js';

/** Minimum gap between two non-urgent post-tool injections of one session. */
export const DELIVER_GAP_MS = 5000;
/** Post-tool injections are compact (the prompt-time delta may be longer). */
export const DELIVER_MAX = 600;

export interface LockChange {
  path: string;
  now: LockView | null;
  before: string | null;
  /** The session held this lock itself and no longer does (force-released, or ordered after a rival). */
  lost?: LostLock;
}

export interface DeliverInput {
  me: Me;
  messages: Message[];
  decisions: Decision[];
  lockChanges: LockChange[];
  /** Interfaces declared or changed by others on files this session edits. */
  interfaces?: InterfaceDecl[];
  /** Files this session edits (decisions naming one are marked). */
  editing?: string[];
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
  return input.messages.some((m) => isUrgentMessage(m, input.me)) || input.lockChanges.some((c) => c.lost !== undefined || (c.now !== null && c.now.mode === 'exclusive'));
}

/**
 * What to deliver now: `null` when nothing is new or the gap has not passed
 * (the items stay new for the next call); else the text and the items it shows.
 */
export function selectDelivery(input: DeliverInput): { text: string; messages: Message[]; urgent: boolean } | null {
  const { messages, decisions, lockChanges } = input;
  const interfaces = input.interfaces ?? [];
  if (messages.length + decisions.length + lockChanges.length + interfaces.length === 0) return null;
  const urgent = isUrgent(input);
  const gap = input.gapMs ?? DELIVER_GAP_MS;
  if (!urgent && input.lastAt > 0 && input.now - input.lastAt < gap && input.now >= input.lastAt) return null;
  // Urgent messages first, so that they survive the size cut.
  const ordered = messages.slice().sort((a, b) => Number(isUrgentMessage(b, input.me)) - Number(isUrgentMessage(a, input.me)));
  const shownMsgs = ordered.slice(0, 3);
  const shownDecisions = decisions.slice(0, 2);
  const shownIfaces = interfaces.slice(0, 2);
  // Lost locks of this session are never cut for room.
  const lost = lockChanges.filter((c) => c.lost);
  const shownLocks = [...lost, ...lockChanges.filter((c) => !c.lost).slice(0, Math.max(0, 3 - lost.length))];
  const extra = messages.length - shownMsgs.length + (decisions.length - shownDecisions.length) + (interfaces.length - shownIfaces.length);
  const extraLocks = lockChanges.length - shownLocks.length;
  let text = deltaText({ messages: shownMsgs, decisions: shownDecisions, lockChanges: shownLocks, interfaces: shownIfaces, editing: input.editing, now: input.now }, DELIVER_MAX);
  if (!text) return null;
  if (extra > 0 || extraLocks > 0) {
    const parts = [extra > 0 ? `${extra} more message${extra === 1 ? '' : 's'}/decisions/interfaces` : '', extraLocks > 0 ? `${extraLocks} more lock change${extraLocks === 1 ? '' : 's'}` : ''].filter(Boolean);
    text += `\n(${parts.join(', ')}: \`huddle inbox\`, \`huddle peek\` show them.)`;
  }
  return { text, messages: shownMsgs.filter((m) => text.includes(`id ${shortId(m.id)})`)), urgent };
}

/** The unanswered request addressed to this session that a stop should be held for, once each. */
export function stopRequest(open: Message[], me: Me, alreadyHeld: Set<string>): Message | null {
  return open.find((m) => isUrgentMessage(m, me) && m.by !== me.id && !alreadyHeld.has(m.id)) ?? null;
}
