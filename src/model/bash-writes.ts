/**
 * Which files a shell command line is about to write, as far as a quick,
 * static look can tell. Used by the PreToolUse hook on Bash to refuse writes
 * to files another session holds locked. Pure: no file system, no processes.
 *
 * Detected (each simple command of a list/pipeline: `;` `&&` `||` `|` `&`, newlines, `( )`, `{ }`):
 *   - output redirections: `>`, `>>`, `>|`, `&>`, `&>>`, `N>`, `N>>` (not `/dev/*`, not `>&N`)
 *   - `tee [-a] FILE…`
 *   - in-place editors: `sed -i`/`--in-place`, `perl -i`, `ruby -i`
 *   - `cp`/`install`/`ln`/`rsync` destinations (last operand, or `-t DIR`), `mv` sources and destination
 *   - `rm`, `rmdir`, `unlink`, `shred`, `touch`, `truncate`, `mkdir`, `chmod`/`chown` operands, `dd of=FILE`
 *   - `git checkout [REV] -- PATH…` (and `git checkout PATH…`), `git restore PATH…`, `git rm`, `git mv`,
 *     and whole-tree writers `git reset --hard`, `git stash` (push/pop/apply), `git checkout .`
 *   - `prettier --write`, `eslint --fix` operands
 *   - `cd DIR` earlier in the same line moves the base of later relative paths
 *   - leading `sudo`, `env`, `command`, `time`, `nice`, `nohup`, `VAR=value` are skipped
 *
 * Not detected (documented in the README): writes through variables or command
 * substitution (`> $F`, `$(…)` as a path), `eval`, `xargs`, `find -exec`, here-strings
 * fed to interpreters, scripts and programs that write files themselves (`python -c`,
 * `node -e`, code generators, formatters other than the above, package managers,
 * `git merge/pull/rebase/switch`, branch checkouts), aliases and shell functions.
 */

export interface BashWrite {
  /** The path or glob as written (may be relative to `cd`). `**` means the whole working tree. */
  target: string;
  /** Directories changed into (`cd`) before this command, in order, relative to the hook's cwd. */
  cd: string[];
  /** What writes it, e.g. `>`, `sed -i`, `rm`. */
  via: string;
}

type Tok = { kind: 'word'; text: string; quoted: boolean } | { kind: 'op'; text: string } | { kind: 'redir'; op: string; fd: string };

/** Split a command line into words, operators and redirections (quotes and escapes honoured). */
export function tokenize(line: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '\n') {
      out.push({ kind: 'op', text: ';' });
      i++;
      continue;
    }
    if (c === '#') {
      // A comment runs to the end of the line.
      while (i < n && line[i] !== '\n') i++;
      continue;
    }
    // Operators.
    const three = line.slice(i, i + 3);
    const two = line.slice(i, i + 2);
    if (three === '&>>') {
      out.push({ kind: 'redir', op: '>>', fd: '&' });
      i += 3;
      continue;
    }
    if (two === '&>') {
      out.push({ kind: 'redir', op: '>', fd: '&' });
      i += 2;
      continue;
    }
    if (two === '&&' || two === '||' || two === ';;') {
      out.push({ kind: 'op', text: two });
      i += 2;
      continue;
    }
    if (c === ';' || c === '|' || c === '&' || c === '(' || c === ')' || c === '{' && isBoundary(line[i + 1]) || c === '}' && isBoundary(line[i - 1], true)) {
      out.push({ kind: 'op', text: c });
      i++;
      continue;
    }
    if (c === '>' || c === '<') {
      let op = c;
      let j = i + 1;
      if (line[j] === c) {
        op += c;
        j++;
        if (c === '<' && line[j] === '<') j++; // here-string <<<
      } else if (c === '>' && line[j] === '|') j++;
      if (line[j] === '&') {
        // >&2, <&0: duplication, not a file.
        op += '&';
        j++;
      }
      out.push({ kind: 'redir', op, fd: '' });
      i = j;
      continue;
    }
    // A word (with quotes and escapes).
    let text = '';
    let quoted = false;
    while (i < n) {
      const d = line[i];
      if (d === ' ' || d === '\t' || d === '\n' || d === '\r' || d === ';' || d === '|' || d === '&' || d === '<' || d === '>' || d === '(' || d === ')') break;
      if (d === '\\' && i + 1 < n) {
        text += line[i + 1];
        i += 2;
        continue;
      }
      if (d === "'") {
        const end = line.indexOf("'", i + 1);
        const stop = end < 0 ? n : end;
        text += line.slice(i + 1, stop);
        quoted = true;
        i = stop + 1;
        continue;
      }
      if (d === '"') {
        let j = i + 1;
        while (j < n && line[j] !== '"') {
          if (line[j] === '\\' && j + 1 < n) {
            text += line[j + 1];
            j += 2;
            continue;
          }
          text += line[j];
          j++;
        }
        quoted = true;
        i = j + 1;
        continue;
      }
      text += d;
      i++;
    }
    // `2>` / `1>>`: a file-descriptor number right before a redirection belongs to it.
    if (/^\d+$/.test(text) && (line[i] === '>' || line[i] === '<') && !quoted) {
      let op = line[i];
      let j = i + 1;
      if (line[j] === op) {
        op += op;
        j++;
      } else if (op === '>' && line[j] === '|') j++;
      if (line[j] === '&') {
        op += '&';
        j++;
      }
      out.push({ kind: 'redir', op, fd: text });
      i = j;
      continue;
    }
    if (text !== '' || quoted) out.push({ kind: 'word', text, quoted });
  }
  return out;
}

function isBoundary(c: string | undefined, before = false): boolean {
  return c === undefined || c === ' ' || c === '\t' || c === '\n' || (before && c === ';');
}

const PREFIXES = new Set(['sudo', 'env', 'command', 'builtin', 'time', 'nice', 'nohup', 'exec', 'doas', 'stdbuf', 'ionice', 'timeout']);

const isDynamic = (w: string) => /[$`]/.test(w);
const isDevice = (w: string) => w.startsWith('/dev/') || w === '-';

/** Files a Bash command line writes, as far as can be told statically. */
export function bashWrites(command: string): BashWrite[] {
  const toks = tokenize(command);
  const writes: BashWrite[] = [];
  const cd: string[] = [];
  let words: Array<{ text: string; quoted: boolean }> = [];
  const redirs: Array<{ op: string; target: string | null }> = [];
  let pendingRedir: string | null = null;

  const flush = () => {
    for (const r of redirs) {
      if (r.target === null) continue;
      if (!r.op.startsWith('>') || r.op.endsWith('&')) continue;
      if (isDevice(r.target) || isDynamic(r.target) || /^&?\d+$/.test(r.target)) continue;
      writes.push({ target: r.target, cd: cd.slice(), via: r.op === '>>' ? '>>' : '>' });
    }
    redirs.length = 0;
    if (words.length > 0) {
      const cmdWrites = commandWrites(words.map((w) => w.text));
      if (cmdWrites === 'cd') {
        const dir = words[1]?.text;
        if (dir && !isDynamic(dir) && dir !== '-') cd.push(dir);
        else if (!dir) cd.push('~');
      } else {
        for (const w of cmdWrites) if (!isDynamic(w.target) && !isDevice(w.target)) writes.push({ ...w, cd: cd.slice() });
      }
    }
    words = [];
  };

  for (const t of toks) {
    if (t.kind === 'redir') {
      pendingRedir = t.op;
      if (t.op.endsWith('&')) {
        // `>&2` or `2>&1`: the next word is a descriptor (or, for `>& file`, a file in bash; rare).
        redirs.push({ op: t.op, target: null });
      }
      continue;
    }
    if (t.kind === 'word') {
      if (pendingRedir !== null) {
        if (!pendingRedir.endsWith('&')) redirs.push({ op: pendingRedir, target: t.text });
        pendingRedir = null;
        continue;
      }
      words.push({ text: t.text, quoted: t.quoted });
      continue;
    }
    // An operator ends the simple command.
    pendingRedir = null;
    flush();
  }
  flush();
  // One entry per target and base.
  const seen = new Set<string>();
  return writes.filter((w) => {
    const k = `${w.cd.join('/')}\u0000${w.target}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

type Partial = Array<Omit<BashWrite, 'cd'>>;

/** Targets written by one simple command (words after the redirections were taken out), or 'cd'. */
function commandWrites(all: string[]): Partial | 'cd' {
  let words = all.slice();
  // Skip assignments and wrappers.
  for (;;) {
    if (words.length === 0) return [];
    const w = words[0];
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) {
      words = words.slice(1);
      continue;
    }
    if (PREFIXES.has(w)) {
      words = words.slice(1);
      // Options of the wrapper (sudo -u x, timeout 10, nice -n 5).
      while (words.length && (words[0].startsWith('-') || /^\d+[smhd]?$/.test(words[0]))) {
        const o = words[0];
        words = words.slice(1);
        if ((o === '-u' || o === '-g' || o === '-n') && words.length) words = words.slice(1);
      }
      continue;
    }
    break;
  }
  const cmd = words[0].replace(/^.*\//, '');
  const args = words.slice(1);
  const operands = (a: string[], withValue: string[] = []) => {
    const out: string[] = [];
    let end = false;
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      if (!end && x === '--') {
        end = true;
        continue;
      }
      if (!end && x.startsWith('-') && x !== '-') {
        if (withValue.includes(x)) i++;
        continue;
      }
      out.push(x);
    }
    return out;
  };
  const each = (targets: string[], via: string): Partial => targets.map((target) => ({ target, via }));

  switch (cmd) {
    case 'cd':
    case 'pushd':
      return 'cd';
    case 'tee':
      return each(operands(args), 'tee');
    case 'rm':
    case 'rmdir':
    case 'unlink':
    case 'shred':
    case 'touch':
    case 'mkdir':
      return each(operands(args, cmd === 'touch' ? ['-d', '-r', '-t'] : cmd === 'mkdir' ? ['-m'] : []), cmd);
    case 'truncate':
      return each(operands(args, ['-s', '-r']), cmd);
    case 'chmod':
    case 'chown':
    case 'chgrp': {
      const ops = operands(args, ['--reference']);
      return each(ops.slice(1), cmd);
    }
    case 'cp':
    case 'install':
    case 'ln':
    case 'rsync':
    case 'mv': {
      const tIdx = args.findIndex((a) => a === '-t' || a.startsWith('--target-directory'));
      let dest: string | undefined;
      let ops: string[];
      if (tIdx >= 0) {
        dest = args[tIdx].includes('=') ? args[tIdx].split('=')[1] : args[tIdx + 1];
        ops = operands(args.filter((_, i) => i !== tIdx && !(i === tIdx + 1 && !args[tIdx].includes('='))), ['-S', '--suffix', '-m', '-o', '-g']);
      } else {
        ops = operands(args, ['-S', '--suffix', '-m', '-o', '-g', '-e']);
        dest = ops.length >= 2 ? ops.pop() : undefined;
      }
      const out: Partial = [];
      if (dest) {
        // A destination folder receives the sources under their own names.
        if (ops.length >= 1 && (dest.endsWith('/') || ops.length > 1 || tIdx >= 0)) {
          for (const s of ops) out.push({ target: `${dest.replace(/\/+$/, '')}/${s.replace(/\/+$/, '').replace(/^.*\//, '')}`, via: cmd });
        }
        out.push({ target: dest, via: cmd });
      }
      if (cmd === 'mv') for (const s of ops) out.push({ target: s, via: 'mv' });
      return out;
    }
    case 'dd':
      return args.filter((a) => a.startsWith('of=')).map((a) => ({ target: a.slice(3), via: 'dd' }));
    case 'sed': {
      if (!args.some((a) => a === '-i' || a.startsWith('--in-place') || /^-[a-zA-Z]*i/.test(a) && !a.startsWith('--'))) return [];
      const hasScriptOpt = args.some((a) => a === '-e' || a === '-f' || a.startsWith('--expression') || a.startsWith('--file'));
      const ops = operands(args, ['-e', '-f', '--expression', '--file', '-l']);
      return each(hasScriptOpt ? ops : ops.slice(1), 'sed -i');
    }
    case 'perl':
    case 'ruby': {
      if (!args.some((a) => /^-[a-zA-Z]*i/.test(a))) return [];
      const ops = operands(args, ['-e', '-E', '-M', '-I']);
      const hasE = args.some((a) => /^-[a-zA-Z]*[eE]$/.test(a));
      // With -e the script is the option's value; `-pie` style bundles take the next word as the script.
      const bundledE = args.find((a) => /^-[a-zA-Z]*[eE]$/.test(a) && a.length > 2);
      const files = hasE ? (bundledE ? ops.slice(1) : ops) : ops.slice(1);
      return each(files, `${cmd} -i`);
    }
    case 'prettier':
      return args.some((a) => a === '--write' || a === '-w') ? each(operands(args, ['--config', '--ignore-path', '--parser', '--plugin']), 'prettier --write') : [];
    case 'eslint':
      return args.includes('--fix') ? each(operands(args, ['-c', '--config', '--ext', '--rule', '-o', '--output-file']), 'eslint --fix') : [];
    case 'npx':
      return args.length ? commandWrites(args.filter((a, i) => !(i === 0 && a.startsWith('-')))) : [];
    case 'git':
      return gitWrites(args);
    default:
      return [];
  }
}

function gitWrites(args: string[]): Partial {
  // Skip global options (-C dir, -c k=v).
  let a = args.slice();
  while (a.length && a[0].startsWith('-')) {
    const o = a[0];
    a = a.slice(1);
    if ((o === '-C' || o === '-c') && a.length) a = a.slice(1);
  }
  const sub = a[0];
  const rest = a.slice(1);
  const afterDashes = () => {
    const i = rest.indexOf('--');
    return i >= 0 ? rest.slice(i + 1) : null;
  };
  const nonOpts = (xs: string[]) => xs.filter((x) => !x.startsWith('-'));
  switch (sub) {
    case 'checkout': {
      const paths = afterDashes();
      if (paths) return paths.map((target) => ({ target: target === '.' ? '**' : target, via: 'git checkout --' }));
      if (rest.some((x) => x === '-b' || x === '-B' || x === '--orphan')) return [];
      // `git checkout PATH` restores a path; `git checkout BRANCH` switches (not detected as a whole-tree write).
      return nonOpts(rest).map((target) => ({ target: target === '.' ? '**' : target, via: 'git checkout' }));
    }
    case 'restore': {
      if (rest.includes('--staged') && !rest.includes('--worktree') && !rest.includes('-W')) return [];
      const paths = afterDashes() ?? nonOpts(rest.filter((x, i) => !(i > 0 && (rest[i - 1] === '-s' || rest[i - 1] === '--source'))));
      return paths.map((target) => ({ target: target === '.' ? '**' : target, via: 'git restore' }));
    }
    case 'rm':
      return rest.includes('--cached') ? [] : nonOpts(afterDashes() ?? rest).map((target) => ({ target, via: 'git rm' }));
    case 'mv':
      return nonOpts(rest).map((target) => ({ target, via: 'git mv' }));
    case 'reset':
      return rest.includes('--hard') ? [{ target: '**', via: 'git reset --hard' }] : [];
    case 'stash': {
      const op = rest[0];
      if (op === undefined || op.startsWith('-') || op === 'push' || op === 'save' || op === 'pop' || op === 'apply') return [{ target: '**', via: 'git stash' }];
      return [];
    }
    case 'clean':
      return rest.some((x) => /^-[a-zA-Z]*f/.test(x)) ? [{ target: '**', via: 'git clean' }] : [];
    default:
      return [];
  }
}
