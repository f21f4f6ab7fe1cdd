/** The shared context: decide/decisions, declare/interfaces, send/inbox, note. */
import type { Command } from 'commander';
import { contextOf, readOp, storedNote, writeOp } from '../common.js';
import { usageError } from '../errors.js';
import { ago, c, clip, clock, heading, json, out, short, shortIds, statusColor, table } from '../format.js';
import { INTERFACE_STATUSES, MESSAGE_KINDS, type InterfaceStatus, type MessageKind } from '../../src/model/enums.js';

const KINDS: readonly string[] = MESSAGE_KINDS;
const IFACE_STATUSES: readonly string[] = INTERFACE_STATUSES;

function offlineNote(offline: number | null): string {
  return offline ? c.red(`OFFLINE, as of ${clock(offline)} (${ago(offline)})\n`) : '';
}

export function registerContext(program: Command): void {
  program
    .command('decide')
    .description('Record a decision, with its rationale, for every session to see.')
    .argument('<text>', 'what was decided')
    .option('--why <rationale>', 'why')
    .option('--supersedes <id>', 'the decision this one replaces (id or prefix)')
    .option('--json', 'print the stored decision as JSON')
    .addHelpText('after', `
Examples:
  $ huddle decide "Dates are ISO 8601 strings in the API" --why "the mobile client parses them"
  $ huddle decide "Use zod 4" --supersedes d-3f2a`)
    .action(async (text: string, opts: { why?: string; supersedes?: string; json?: boolean }, cmd: Command) => {
      if (!text.trim()) throw usageError('a decision needs text');
      const ctx = contextOf(cmd);
      if (opts.supersedes) {
        // Superseding a decision that is already superseded forks the history: say so (it is still stored).
        const { result: all } = await readOp(ctx, 'decisions', { all: true });
        const target = all.filter((d) => d.id.startsWith(opts.supersedes!) || short(d.id) === opts.supersedes);
        if (target.length === 1 && target[0].supersededBy) {
          process.stderr.write(`huddle: warning: ${short(target[0].id)} was already superseded by ${short(target[0].supersededBy)}; both now replace it (supersede ${short(target[0].supersededBy)} instead?)\n`);
        }
      }
      const { result, local } = await writeOp(ctx, 'decide', { text, rationale: opts.why, supersedes: opts.supersedes });
      if (opts.json) return json(result);
      out(`decision ${short(result.id)} ${storedNote(local)}`);
    });

  program
    .command('decisions')
    .description('The decisions in force (latest last); --all includes superseded ones.')
    .option('--all', 'include superseded decisions')
    .option('--json', 'print them as a JSON array')
    .addHelpText('after', `
Examples:
  $ huddle decisions
  $ huddle decisions --all --json`)
    .action(async (opts: { all?: boolean; json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result, offline } = await readOp(ctx, 'decisions', { all: Boolean(opts.all) });
      if (opts.json) return json(result);
      if (!result.length) return out(offlineNote(offline) + 'no decisions yet');
      out(offlineNote(offline) + table(result.map((d) => [
        short(d.id),
        ago(d.at),
        d.byName,
        (d.supersededBy ? c.dim(`(superseded by ${short(d.supersededBy)}) `) : '') + d.text + (d.rationale ? c.dim(` - because ${d.rationale}`) : ''),
      ]), '', ['ID', 'WHEN', 'BY', 'DECISION']));
    });

  program
    .command('declare')
    .description('Declare (or update) an interface other sessions depend on.')
    .argument('<name>', 'the interface name, e.g. UserApi')
    .requiredOption('--file <file>', 'where it is defined')
    .option('--desc <text>', 'what it is, briefly')
    .option('--status <status>', `one of ${IFACE_STATUSES.join(', ')} (default draft; re-declaring a ready one marks it changed)`)
    .option('--json', 'print the stored declaration as JSON')
    .addHelpText('after', `
Examples:
  $ huddle declare UserApi --file src/api/users.ts --desc "GET/POST /users" --status ready`)
    .action(async (name: string, opts: { file: string; desc?: string; status?: string; json?: boolean }, cmd: Command) => {
      if (opts.status && !IFACE_STATUSES.includes(opts.status)) throw usageError(`--status must be one of ${IFACE_STATUSES.join(', ')}`);
      const ctx = contextOf(cmd);
      const { result, local } = await writeOp(ctx, 'declare', { name, file: opts.file, description: opts.desc, status: opts.status as InterfaceStatus | undefined });
      if (opts.json) return json(result);
      out(`interface ${result.name} (${result.status}) in ${result.file} ${storedNote(local)}`);
    });

  program
    .command('interfaces')
    .description('Declared interfaces: name, file, status, owner.')
    .option('--json', 'print them as a JSON array')
    .addHelpText('after', `
Examples:
  $ huddle interfaces`)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result, offline } = await readOp(ctx, 'interfaces');
      if (opts.json) return json(result);
      if (!result.length) return out(offlineNote(offline) + 'no interfaces declared');
      out(offlineNote(offline) + table(result.map((i) => [i.name, i.file, statusColor(i.status), i.ownerName, ago(i.at), clip(i.description, 50)]), '', ['NAME', 'FILE', 'STATUS', 'OWNER', 'UPDATED', 'DESCRIPTION']));
    });

  program
    .command('send')
    .description('Send a message to a session, a role (role:NAME) or everyone (all).')
    .argument('<to>', 'a session id, role:NAME, or all')
    .argument('<text>', 'the message')
    .option('--kind <kind>', `one of ${KINDS.join(', ')} (default fyi)`)
    .option('--reply-to <id>', 'the message this answers')
    .option('--needs-reply', 'ask for an answer (listed as an open request until answered)')
    .option('--json', 'print the stored message as JSON')
    .addHelpText('after', `
Examples:
  $ huddle send role:frontend "UserApi is ready" --kind interface-ready
  $ huddle send all "Freezing main for the release in 10 min"
  $ huddle send backend-1 "Which status code for a duplicate email?" --needs-reply`)
    .action(async (to: string, text: string, opts: { kind?: string; replyTo?: string; needsReply?: boolean; json?: boolean }, cmd: Command) => {
      if (opts.kind && !KINDS.includes(opts.kind)) throw usageError(`--kind must be one of ${KINDS.join(', ')}`);
      if (!text.trim()) throw usageError('empty message');
      const ctx = contextOf(cmd);
      const { result, local } = await writeOp(ctx, 'send', { to, text, kind: opts.kind as MessageKind | undefined, replyTo: opts.replyTo, needsReply: opts.needsReply });
      const warning = (result as { warning?: unknown }).warning;
      if (typeof warning === 'string') process.stderr.write(`huddle send: warning: ${warning}\n`);
      if (opts.json) return json(result);
      out(`message ${short(result.id)} to ${result.to} ${storedNote(local)}`);
    });

  program
    .command('inbox')
    .description('Your unread messages (to you, your role, or all); shown ones are marked read.')
    .option('--all', 'include messages already read')
    .option('--peek', 'do not mark them read')
    .option('--json', 'print them as a JSON array')
    .addHelpText('after', `
Examples:
  $ huddle inbox
  $ huddle inbox --all --session backend-1`)
    .action(async (opts: { all?: boolean; peek?: boolean; json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result } = await writeOp(ctx, 'inbox', { all: Boolean(opts.all), markRead: !opts.peek });
      if (opts.json) return json(result);
      if (!result.length) return out(opts.all ? 'no messages' : 'nothing unread');
      out(table(result.map((m) => [
        short(m.id),
        m.read ? c.dim('read') : c.bold('new'),
        m.kind + (m.needsReply && !m.answered ? c.yellow(' (needs reply)') : ''),
        `${m.byName} -> ${m.to}`,
        ago(m.at),
        shortIds(m.text),
      ]), '', ['ID', 'STATE', 'KIND', 'FROM -> TO', 'WHEN', 'TEXT']));
    });

  const note = program
    .command('note')
    .description('Shared notes: small named values every session can read (set, get, list, delete).')
    .addHelpText('after', `
Examples:
  $ huddle note set staging-url https://staging.example.com
  $ huddle note get staging-url
  $ huddle note list --json`)
    .action(() => note.help()); // bare `huddle note` lists its subcommands and exits 0

  note
    .command('set')
    .description('Set a note.')
    .argument('<key>')
    .argument('<value>')
    .option('--json', 'print the stored note as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle note set db-schema "v7, migrated on staging"`)
    .action(async (key: string, value: string, opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result, local } = await writeOp(ctx, 'note.set', { key, value });
      if (opts.json) return json(result);
      out(`note ${result.key} ${storedNote(local)}`);
    });

  note
    .command('get')
    .description('Print a note\'s value.')
    .argument('<key>')
    .option('--json', 'print the note as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle note get db-schema`)
    .action(async (key: string, opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result } = await readOp(ctx, 'note.get', { key });
      if (opts.json) return json(result);
      out(result.value);
    });

  note
    .command('list')
    .description('Every note.')
    .option('--json', 'print them as a JSON array')
    .addHelpText('after', `\nExample:\n  $ huddle note list`)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result, offline } = await readOp(ctx, 'note.list');
      if (opts.json) return json(result);
      if (!result.length) return out(offlineNote(offline) + 'no notes');
      out(offlineNote(offline) + heading('Notes', result.length) + table(result.map((n) => [n.key, clip(n.value, 60), c.dim(`${n.byName}, ${ago(n.at)}`)]), '  ', ['KEY', 'VALUE', 'SET BY']));
    });

  note
    .command('delete')
    .description('Delete a note.')
    .argument('<key>')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle note delete db-schema`)
    .action(async (key: string, opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result, local } = await writeOp(ctx, 'note.delete', { key });
      if (opts.json) return json(result);
      out(`note ${key} deleted; ${storedNote(local)}`);
    });
}
