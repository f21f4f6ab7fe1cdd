/**
 * The closed lists of the shared context, defined once (no Yjs here, so the
 * command's start-up, the MCP schemas and the dashboard can import them cheaply).
 */

export const MESSAGE_KINDS = ['fyi', 'need-input', 'interface-ready', 'request', 'response', 'handoff'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export const TASK_STATUSES = ['open', 'claimed', 'done', 'blocked'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const INTERFACE_STATUSES = ['draft', 'ready', 'changed'] as const;
export type InterfaceStatus = (typeof INTERFACE_STATUSES)[number];

/** The message a session gets when another one forces its lock free. */
export function forcedReleaseNotice(path: string, byName: string, reason?: string): string {
  return `Your lock on ${path} was released by ${byName}${reason ? `: ${reason}` : ''}.`;
}
