/** The agent adapters by kind: adding an agent is one adapter here and one installer in cli/agents-install.ts (INSTALLERS). */
import type { AgentAdapter, AgentKind } from './event.js';
import { claudeCode } from './claude-code.js';
import { codex } from './codex.js';
import { cursor } from './cursor.js';
import { gemini } from './gemini.js';
import { opencode } from './opencode.js';

export const ADAPTERS: Record<AgentKind, AgentAdapter> = { 'claude-code': claudeCode, codex, cursor, gemini, opencode };

export * from './event.js';
