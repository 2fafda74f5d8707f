/**
 * The Dockerfile shell lexer, as `docker commit -c` applies it to ENV, LABEL, EXPOSE, USER,
 * VOLUME, WORKDIR and STOPSIGNAL arguments (BuildKit's `shell.Lex`, escape character `\`):
 * single quotes are literal; in double quotes `\` escapes only `"`, `$` and `\`; outside quotes
 * `\` makes the next character literal; `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`,
 * `${NAME:+word}`, `${NAME+word}`, `${NAME:?msg}`, `${NAME?msg}` expand from the environment
 * (an unset name is empty). CMD and ENTRYPOINT are never expanded (the shell does that at run).
 */

/** LexError: a word that cannot be processed (an unterminated quote, a bad `${…}`). */
export class LexError extends Error {}

/** Environment lookup: `KEY=VALUE` entries, the first of a name counts (as Docker keeps one per name). */
export function envLookup(env: readonly string[]): (name: string) => string | undefined {
  return (name) => {
    for (const e of env) {
      const eq = e.indexOf('=');
      if ((eq < 0 ? e : e.slice(0, eq)) === name) return eq < 0 ? '' : e.slice(eq + 1);
    }
    return undefined;
  };
}

const nameChar = /[A-Za-z0-9_]/;

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}
  peek(): string | undefined {
    return this.s[this.pos];
  }
  next(): string | undefined {
    return this.s[this.pos++];
  }
  get done(): boolean {
    return this.pos >= this.s.length;
  }
}

/** processWord expands one word (quotes removed, variables substituted). Throws {@link LexError}. */
export function processWord(word: string, lookup: (name: string) => string | undefined): string {
  return processWords(word, lookup, false).join('');
}

/**
 * processWords splits `text` into words on unquoted whitespace and expands each (what EXPOSE
 * and the ENV/LABEL word splitting do); with `split` false the whole text is one word.
 */
export function processWords(text: string, lookup: (name: string) => string | undefined, split = true): string[] {
  const sc = new Scanner(text);
  const words: string[] = [];
  let word = '';
  let inWord = false;
  while (!sc.done) {
    const ch = sc.next()!;
    if (split && /\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === '\\') {
      // An escape at the very end is dropped; otherwise the next character is literal.
      if (!sc.done) word += sc.next();
    } else if (ch === "'") {
      word += singleQuoted(sc);
    } else if (ch === '"') {
      word += doubleQuoted(sc, lookup);
    } else if (ch === '$') {
      word += dollar(sc, lookup);
    } else {
      word += ch;
    }
  }
  if (inWord || !split) words.push(word);
  return words;
}

function singleQuoted(sc: Scanner): string {
  let out = '';
  for (;;) {
    const ch = sc.next();
    if (ch === undefined) throw new LexError('unexpected end of statement while looking for matching single-quote');
    if (ch === "'") return out;
    out += ch;
  }
}

function doubleQuoted(sc: Scanner, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (;;) {
    const ch = sc.next();
    if (ch === undefined) throw new LexError('unexpected end of statement while looking for matching double-quote');
    if (ch === '"') return out;
    if (ch === '$') out += dollar(sc, lookup);
    else if (ch === '\\') {
      const n = sc.peek();
      if (n === '"' || n === '$' || n === '\\') out += sc.next();
      else out += ch;
    } else out += ch;
  }
}

/** After a `$`: a name, `{…}`, or a literal `$`. */
function dollar(sc: Scanner, lookup: (name: string) => string | undefined): string {
  const c = sc.peek();
  if (c === '{') {
    sc.next();
    return braced(sc, lookup);
  }
  if (c === undefined || !nameChar.test(c)) return '$';
  let name = '';
  while (!sc.done && nameChar.test(sc.peek()!)) name += sc.next();
  return lookup(name) ?? '';
}

function braced(sc: Scanner, lookup: (name: string) => string | undefined): string {
  let name = '';
  while (!sc.done && nameChar.test(sc.peek()!)) name += sc.next();
  if (name === '') throw new LexError('missing variable name in ${…}');
  const c = sc.next();
  if (c === '}') return lookup(name) ?? '';
  if (c === undefined) throw new LexError(`missing '}' after \${${name}`);
  let op = c;
  if (c === ':') {
    const o = sc.next();
    if (o === undefined) throw new LexError(`missing '}' after \${${name}:`);
    op += o;
  }
  if (!['-', '+', '?', ':-', ':+', ':?'].includes(op)) throw new LexError(`unsupported modifier (${op}) in substitution of ${name}`);
  // The word runs to the matching '}', itself processed (quotes, nested variables).
  let raw = '';
  let depth = 0;
  for (;;) {
    const ch = sc.next();
    if (ch === undefined) throw new LexError(`missing '}' in substitution of ${name}`);
    if (ch === '\\' && !sc.done) {
      raw += ch + sc.next();
      continue;
    }
    if (ch === '{') depth++;
    if (ch === '}') {
      if (depth === 0) break;
      depth--;
    }
    raw += ch;
  }
  const word = (): string => processWord(raw, lookup);
  const value = lookup(name);
  const colon = op.startsWith(':');
  const unset = value === undefined || (colon && value === '');
  switch (op.slice(-1)) {
    case '-':
      return unset ? word() : value!;
    case '+':
      return unset ? '' : word();
    default:
      if (unset) throw new LexError(`${name}: ${word() || 'is not allowed to be unset'}`);
      return value!;
  }
}
