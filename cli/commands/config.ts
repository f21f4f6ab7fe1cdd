/** `huddle config`: the resolved configuration and where each value came from. */
import type { Command } from 'commander';
import { contextOf } from '../common.js';
import { c, json, out, table } from '../format.js';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('Show the resolved configuration and where each value came from (flag, env, config, default).')
    .option('--json', 'print it as JSON')
    .addHelpText('after', `
Examples:
  $ huddle config
  $ HUDDLE_URL=ws://10.0.0.5:4321 huddle config --json

Precedence: flags (--url, --project, --token, --session, --role), then the environment
(HUDDLE_URL, HUDDLE_PROJECT, HUDDLE_TOKEN, HUDDLE_SESSION or CLAUDE_CODE_SESSION_ID, HUDDLE_ROLE),
then .huddle/config.json (found walking up from here), then defaults.`)
    .action((opts: { json?: boolean }, cmd: Command) => {
      const { cfg } = contextOf(cmd);
      const token = cfg.token ? `${cfg.token.slice(0, 2)}…(${cfg.token.length} chars)` : null;
      const values = {
        url: { value: cfg.url, source: cfg.sources.url },
        project: { value: cfg.project, source: cfg.sources.project, ...(cfg.sources.project === 'default' ? { derivedFrom: cfg.projectFrom.source, identity: cfg.projectFrom.from } : {}) },
        token: { value: token, source: cfg.sources.token },
        session: { value: cfg.session.id, source: cfg.sources.session },
        role: { value: cfg.session.role ?? null, source: cfg.sources.role },
        enforce: { value: cfg.enforce, source: cfg.sources.enforce },
        autoLock: { value: cfg.autoLock, source: cfg.sources.autoLock },
      };
      if (opts.json) return json({ ...values, httpUrl: cfg.httpUrl, name: cfg.session.name, root: cfg.root, configFile: cfg.configFile });
      const from = (v: { source: string; derivedFrom?: string; identity?: string }) => (v.derivedFrom ? `${v.source}: ${v.derivedFrom} ${v.identity}` : v.source);
      let o = table(Object.entries(values).map(([k, v]) => [k, String(v.value ?? c.dim('(none)')), c.dim(from(v))]), '');
      o += table([['name', cfg.session.name ?? ''], ['root', cfg.root], ['config file', cfg.configFile ?? c.dim('(none found)')]], '');
      out(o);
    });
}
