/** `huddle version` and `huddle completion bash|zsh|fish`. */
import type { Command } from 'commander';
import { VERSION } from '../version.js';
import { json, out } from '../format.js';
import { usageError } from '../errors.js';

/** Every command path ("task claim") with its options, from the fully registered program. */
async function commandTree(): Promise<{ path: string[]; options: string[] }[]> {
  const { programFor } = await import('../program.js');
  const program = await programFor([]);
  const rows: { path: string[]; options: string[] }[] = [];
  const walk = (cmd: Command, path: string[]) => {
    for (const sub of cmd.commands) {
      const p = [...path, sub.name()];
      rows.push({ path: p, options: sub.options.map((o) => o.long).filter((x): x is string => Boolean(x)) });
      walk(sub, p);
    }
  };
  walk(program, []);
  rows.unshift({ path: [], options: program.options.map((o) => o.long).filter((x): x is string => Boolean(x)) });
  return rows;
}

function bash(tree: Awaited<ReturnType<typeof commandTree>>): string {
  const cases = tree.map((r) => {
    const subs = tree.filter((s) => s.path.length === r.path.length + 1 && r.path.every((p, i) => s.path[i] === p)).map((s) => s.path.at(-1));
    return `    "${r.path.join(' ')}") words="${[...subs, ...r.options].join(' ')}" ;;`;
  });
  return `# huddle completion for bash: source <(huddle completion bash)
_huddle() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path="" w words
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) [ -n "$path" ] && path="$path $w" || path="$w" ;; esac
  done
  case "$path" in
${cases.join('\n')}
    *) words="" ;;
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -o default -F _huddle huddle
`;
}

function zsh(tree: Awaited<ReturnType<typeof commandTree>>): string {
  return `#compdef huddle
# huddle completion for zsh: huddle completion zsh > "\${fpath[1]}/_huddle"
${bash(tree).replace('# huddle completion for bash: source <(huddle completion bash)\n', '')}`.replace(
    'complete -o default -F _huddle huddle',
    'autoload -U +X bashcompinit && bashcompinit\ncomplete -o default -F _huddle huddle',
  );
}

function fish(tree: Awaited<ReturnType<typeof commandTree>>): string {
  const lines = ['# huddle completion for fish: huddle completion fish > ~/.config/fish/completions/huddle.fish', 'complete -c huddle -f'];
  for (const r of tree) {
    const cond = r.path.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${r.path.at(-1)}`;
    const subs = tree.filter((s) => s.path.length === r.path.length + 1 && r.path.every((p, i) => s.path[i] === p));
    for (const s of subs) lines.push(`complete -c huddle -n '${cond}' -a ${s.path.at(-1)}`);
    if (r.path.length > 0) for (const o of r.options) lines.push(`complete -c huddle -n '${cond}' -l ${o.slice(2)}`);
  }
  return lines.join('\n') + '\n';
}

export function registerMeta(program: Command): void {
  program
    .command('version')
    .description('Print the version of huddle and of Node.')
    .option('--json', 'print {version, node} as JSON')
    .addHelpText('after', '\nExamples:\n  $ huddle version\n  $ huddle version --json')
    .action((opts: { json?: boolean }) => {
      if (opts.json) return json({ version: VERSION, node: process.version });
      out(`huddle ${VERSION} (node ${process.version})`);
    });

  program
    .command('completion')
    .description('Print a shell completion script for bash, zsh or fish.')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText('after', `
Examples:
  $ source <(huddle completion bash)
  $ huddle completion zsh > "\${fpath[1]}/_huddle"
  $ huddle completion fish > ~/.config/fish/completions/huddle.fish`)
    .action(async (shell: string) => {
      const gen = { bash, zsh, fish }[shell];
      if (!gen) throw usageError(`completion: unknown shell "${shell}" (bash, zsh or fish)`);
      out(gen(await commandTree()));
    });
}
