/**
 * A Go text/template subset, as `docker … --format` / `docker inspect -f` use it, evaluated over
 * plain JSON-like values (what `inspect` prints, or the row objects of the list commands).
 *
 * Grammar (the parts of text/template that matter for field selection):
 *
 *   template  := (text | action)*
 *   action    := "{{" ["-" " "] body [" " "-"] "}}"         trim markers eat the whitespace beside
 *   body      := pipeline | "/*" … "*​/"
 *              | "if" pipeline | "else" | "else if" pipeline | "end"
 *              | "range" [ "$v" [ "," "$w" ] ":=" ] pipeline | "with" pipeline
 *   pipeline  := [ "$x" (":=" | "=") ] command ( "|" command )*
 *   command   := operand operand*                            a function name first, or one operand
 *   operand   := "." | ".Field.Field" | "$" | "$x.Field" | string | raw string | number
 *              | "true" | "false" | "nil" | identifier | "(" pipeline ")" [ ".Field"… ]
 *
 * Functions: Go's `and or not len index print printf println eq ne lt le gt ge slice` and
 * Docker's `json split join title lower upper pad truncate`. Values print as Go's `%v` does:
 * `[a b]` for lists, `map[k:v]` (sorted keys) for objects, `<no value>` for a missing field,
 * `<nil>` for null. A field of a missing value is missing (Docker's map fallback), not an error.
 */
import { TemplateError } from './errors.js';

type Value = unknown;

/** Missing marks a field that does not exist (Go's invalid reflect.Value): prints `<no value>`. */
const Missing: unique symbol = Symbol('missing');

interface Pos {
  pos: number;
}
type Arg =
  | ({ kind: 'dot' } & Pos)
  | ({ kind: 'field'; base: 'dot' | { var: string } | Arg; chain: string[] } & Pos)
  | ({ kind: 'var'; name: string } & Pos)
  | ({ kind: 'literal'; value: Value } & Pos)
  | ({ kind: 'ident'; name: string } & Pos)
  | ({ kind: 'pipe'; pipe: Pipeline } & Pos);
interface Command extends Pos {
  args: Arg[];
}
interface Pipeline extends Pos {
  decl: string[];
  assign: boolean;
  cmds: Command[];
}
type Node =
  | { kind: 'text'; text: string }
  | ({ kind: 'action'; pipe: Pipeline } & Pos)
  | ({ kind: 'if' | 'with'; pipe: Pipeline; list: Node[]; elseList: Node[] | undefined } & Pos)
  | ({ kind: 'range'; pipe: Pipeline; list: Node[]; elseList: Node[] | undefined } & Pos);

// ---------------------------------------------------------------------------------------------
// Lexing: split into text and action bodies, then tokens inside an action.

type Tok =
  | { t: 'field'; v: string; pos: number } // ".Name" (one segment; "." alone is t: 'dot')
  | { t: 'dot'; pos: number }
  | { t: 'var'; v: string; pos: number } // "$" or "$name"
  | { t: 'ident'; v: string; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'number'; v: number; pos: number }
  | { t: 'char'; v: number; pos: number }
  | { t: '(' | ')' | '|' | ':=' | '=' | ','; pos: number };

interface Piece {
  kind: 'text' | 'action';
  text: string;
  pos: number;
}

function split(src: string): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    if (open < 0) {
      if (text !== '') out.push({ kind: 'text', text, pos: i });
      break;
    }
    let start = open + 2;
    if (src.startsWith('- ', start) || src.startsWith('-\t', start) || src.startsWith('-\n', start) || src.startsWith('-\r', start)) {
      text = text.replace(/[ \t\r\n]+$/, '');
      start += 1;
    }
    if (text !== '') out.push({ kind: 'text', text, pos: i });
    // Find the closing "}}" outside string literals and comments.
    let j = start;
    let close = -1;
    while (j < src.length) {
      const c = src[j]!;
      if (src.startsWith('/*', j)) {
        const e = src.indexOf('*/', j + 2);
        if (e < 0) throw new TemplateError(src, j, `${where(src, j)}: unclosed comment`);
        j = e + 2;
        continue;
      }
      if (c === '"' || c === "'") {
        j++;
        while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
        if (j >= src.length) throw new TemplateError(src, j, `${where(src, start)}: unterminated quoted string`);
        j++;
        continue;
      }
      if (c === '`') {
        const e = src.indexOf('`', j + 1);
        if (e < 0) throw new TemplateError(src, j, `${where(src, start)}: unterminated raw quoted string`);
        j = e + 1;
        continue;
      }
      if (src.startsWith('}}', j)) {
        close = j;
        break;
      }
      j++;
    }
    if (close < 0) throw new TemplateError(src, open, `${where(src, open)}: unclosed action`);
    let end = close;
    if (/[ \t\r\n]-$/.test(src.slice(start, close))) {
      end = close - 1;
      trimNext = true;
    }
    out.push({ kind: 'action', text: src.slice(start, end), pos: start });
    i = close + 2;
  }
  return out;
}

/** where renders a position the way Go's errors do: `:LINE:COL`. */
function where(src: string, pos: number): string {
  const before = src.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - (before.lastIndexOf('\n') + 1);
  return `:${line}:${col}`;
}

const identStart = /[A-Za-z_]/;
const identChar = /[A-Za-z0-9_]/;

function lex(src: string, body: string, base: number): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const err = (msg: string): never => {
    throw new TemplateError(src, base + i, `${where(src, base + i)}: ${msg}`);
  };
  while (i < body.length) {
    const c = body[i]!;
    const pos = base + i;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (body.startsWith('/*', i)) {
      const e = body.indexOf('*/', i + 2);
      if (e < 0) err('unclosed comment');
      i = e + 2;
    } else if (c === '(' || c === ')' || c === '|' || c === ',') {
      toks.push({ t: c, pos });
      i++;
    } else if (body.startsWith(':=', i)) {
      toks.push({ t: ':=', pos });
      i += 2;
    } else if (c === '=') {
      toks.push({ t: '=', pos });
      i++;
    } else if (c === '.') {
      let j = i + 1;
      if (j < body.length && identStart.test(body[j]!)) {
        while (j < body.length && identChar.test(body[j]!)) j++;
        toks.push({ t: 'field', v: body.slice(i + 1, j), pos });
      } else if (j < body.length && /[0-9]/.test(body[j]!)) {
        while (j < body.length && /[0-9eE.+-]/.test(body[j]!)) j++;
        toks.push({ t: 'number', v: Number(body.slice(i, j)), pos });
      } else {
        toks.push({ t: 'dot', pos });
      }
      i = j;
    } else if (c === '$') {
      let j = i + 1;
      while (j < body.length && identChar.test(body[j]!)) j++;
      toks.push({ t: 'var', v: body.slice(i, j), pos });
      i = j;
    } else if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < body.length && body[j] !== '"') {
        if (body[j] === '\\') {
          const e = body[j + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };
          if (e === 'x' || e === 'u' || e === 'U') {
            const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
            const hex = body.slice(j + 2, j + 2 + n);
            if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) err('invalid escape in string');
            s += String.fromCodePoint(Number.parseInt(hex, 16));
            j += 2 + n;
            continue;
          }
          if (e === undefined || map[e] === undefined) err('invalid escape in string');
          s += map[e!]!;
          j += 2;
        } else {
          s += body[j]!;
          j++;
        }
      }
      toks.push({ t: 'string', v: s, pos });
      i = j + 1;
    } else if (c === '`') {
      const e = body.indexOf('`', i + 1);
      toks.push({ t: 'string', v: body.slice(i + 1, e), pos });
      i = e + 1;
    } else if (c === "'") {
      const e = body.indexOf("'", i + 1);
      let ch = body.slice(i + 1, e);
      if (ch.startsWith('\\')) ch = ({ n: '\n', t: '\t', '\\': '\\', "'": "'" } as Record<string, string>)[ch.slice(1)] ?? ch;
      toks.push({ t: 'char', v: ch.codePointAt(0) ?? 0, pos });
      i = e + 1;
    } else if (/[0-9+-]/.test(c)) {
      let j = i + 1;
      while (j < body.length && /[0-9a-fA-FxXoObB_.eEpP+-]/.test(body[j]!)) {
        // a sign only right after an exponent letter
        if ((body[j] === '+' || body[j] === '-') && !/[eEpP]/.test(body[j - 1]!)) break;
        j++;
      }
      const text = body.slice(i, j).replaceAll('_', '');
      const v = /^[+-]?0[xX]/.test(text) ? Number.parseInt(text, 16) : Number(text);
      if (Number.isNaN(v)) err(`bad number syntax: ${JSON.stringify(text)}`);
      toks.push({ t: 'number', v, pos });
      i = j;
    } else if (identStart.test(c)) {
      let j = i + 1;
      while (j < body.length && identChar.test(body[j]!)) j++;
      toks.push({ t: 'ident', v: body.slice(i, j), pos });
      i = j;
    } else {
      err(`unexpected ${JSON.stringify(c)} in command`);
    }
  }
  return toks;
}

// ---------------------------------------------------------------------------------------------
// Parsing.

class Parser {
  readonly #src: string;
  #toks: Tok[] = [];
  #k = 0;
  constructor(src: string) {
    this.#src = src;
  }

  err(pos: number, msg: string): never {
    throw new TemplateError(this.#src, pos, `${where(this.#src, pos)}: ${msg}`);
  }

  load(toks: Tok[]): void {
    this.#toks = toks;
    this.#k = 0;
  }

  peek(): Tok | undefined {
    return this.#toks[this.#k];
  }

  next(): Tok | undefined {
    return this.#toks[this.#k++];
  }

  done(): boolean {
    return this.#k >= this.#toks.length;
  }

  /** pipeline parses `[$x :=] cmd | cmd …` up to the end of the tokens or a closing paren. */
  pipeline(pos: number, allowDecl: 'none' | 'one' | 'two'): Pipeline {
    const decl: string[] = [];
    let assign = false;
    if (allowDecl !== 'none') {
      const save = this.#k;
      const vars: string[] = [];
      let t = this.peek();
      while (t?.t === 'var') {
        vars.push(t.v);
        this.next();
        t = this.peek();
        if (t?.t === ',' && allowDecl === 'two' && vars.length === 1) {
          this.next();
          t = this.peek();
          continue;
        }
        break;
      }
      const op = this.peek();
      if (vars.length > 0 && (op?.t === ':=' || (op?.t === '=' && vars.length === 1))) {
        this.next();
        decl.push(...vars);
        assign = op.t === '=';
      } else {
        this.#k = save;
      }
    }
    const cmds: Command[] = [];
    for (;;) {
      const t = this.peek();
      if (t === undefined || t.t === ')') break;
      cmds.push(this.command());
      const sep = this.peek();
      if (sep?.t === '|') {
        this.next();
        const after = this.peek();
        if (after === undefined || after.t === ')' || after.t === '|') this.err(sep.pos, 'missing command after |');
        continue;
      }
      if (sep !== undefined && sep.t !== ')') this.err(sep.pos, `unexpected ${describeTok(sep)} in command`);
    }
    if (cmds.length === 0) this.err(pos, 'missing value for command');
    return { pos, decl, assign, cmds };
  }

  command(): Command {
    const first = this.peek()!;
    const args: Arg[] = [];
    for (;;) {
      const t = this.peek();
      if (t === undefined || t.t === ')' || t.t === '|') break;
      args.push(this.operand());
    }
    if (args.length === 0) this.err(first.pos, 'empty command');
    return { pos: first.pos, args };
  }

  operand(): Arg {
    const t = this.next()!;
    let arg: Arg;
    switch (t.t) {
      case 'dot':
        arg = { kind: 'dot', pos: t.pos };
        break;
      case 'field': {
        arg = { kind: 'field', base: 'dot', chain: [t.v], pos: t.pos };
        break;
      }
      case 'var':
        arg = { kind: 'var', name: t.v, pos: t.pos };
        break;
      case 'string':
        arg = { kind: 'literal', value: t.v, pos: t.pos };
        break;
      case 'number':
      case 'char':
        arg = { kind: 'literal', value: t.v, pos: t.pos };
        break;
      case 'ident':
        if (t.v === 'true' || t.v === 'false') arg = { kind: 'literal', value: t.v === 'true', pos: t.pos };
        else if (t.v === 'nil') arg = { kind: 'literal', value: null, pos: t.pos };
        else arg = { kind: 'ident', name: t.v, pos: t.pos };
        break;
      case '(': {
        const pipe = this.pipeline(t.pos, 'one');
        const close = this.next();
        if (close?.t !== ')') this.err(t.pos, 'unclosed left paren');
        arg = { kind: 'pipe', pipe, pos: t.pos };
        break;
      }
      default:
        this.err(t.pos, `unexpected ${describeTok(t)} in operand`);
    }
    // Field chains directly attached: .A.B, $x.A, (pipe).A
    for (;;) {
      const f = this.peek();
      if (f?.t !== 'field' || !adjacent(this.#src, f.pos)) break;
      this.next();
      if (arg.kind === 'field') arg.chain.push(f.v);
      else if (arg.kind === 'var') arg = { kind: 'field', base: { var: arg.name }, chain: [f.v], pos: arg.pos };
      else if (arg.kind === 'pipe' || arg.kind === 'dot') arg = { kind: 'field', base: arg.kind === 'dot' ? 'dot' : arg, chain: [f.v], pos: arg.pos };
      else this.err(f.pos, `unexpected field ${f.v} after ${describeArg(arg)}`);
    }
    return arg;
  }
}

/** adjacent: a field token directly follows the previous token (no space: `.A.B`, `$x.A`, `(…).A`). */
function adjacent(src: string, pos: number): boolean {
  const prev = src[pos - 1];
  return prev !== undefined && !/[ \t\r\n(|]/.test(prev);
}

function describeTok(t: Tok): string {
  switch (t.t) {
    case 'field':
      return `<.${t.v}>`;
    case 'dot':
      return '<.>';
    case 'var':
    case 'ident':
      return `<${t.v}>`;
    case 'string':
      return JSON.stringify(t.v);
    case 'number':
    case 'char':
      return String(t.v);
    default:
      return JSON.stringify(t.t);
  }
}

function describeArg(a: Arg): string {
  switch (a.kind) {
    case 'dot':
      return '<.>';
    case 'field':
      return `<${a.base === 'dot' ? '' : typeof a.base === 'object' && 'var' in a.base ? a.base.var : '(…)'}.${a.chain.join('.')}>`;
    case 'var':
      return `<${a.name}>`;
    case 'ident':
      return `<${a.name}>`;
    case 'literal':
      return `<${formatValue(a.value)}>`;
    case 'pipe':
      return '<(…)>';
  }
}

function parse(src: string): Node[] {
  const p: Parser = new Parser(src);
  const root: Node[] = [];
  // Stack of open blocks; each collects into `list` until `else`, then `elseList`.
  interface Open {
    node: Extract<Node, { list: Node[] }>;
    inElse: boolean;
    /** An `else if` opens a nested `if` that one `end` closes together with this one. */
    chained: boolean;
  }
  const stack: Open[] = [];
  const current = (): Node[] => {
    const top = stack[stack.length - 1];
    if (top === undefined) return root;
    return top.inElse ? (top.node.elseList ??= []) : top.node.list;
  };
  for (const piece of split(src)) {
    if (piece.kind === 'text') {
      current().push({ kind: 'text', text: piece.text });
      continue;
    }
    const toks = lex(src, piece.text, piece.pos);
    if (toks.length === 0) {
      if (/^\s*\/\*[\s\S]*\*\/\s*$/.test(piece.text)) continue; // a comment
      p.err(piece.pos, 'missing value for command');
    }
    p.load(toks);
    const head = toks[0]!;
    const keyword = head.t === 'ident' ? head.v : undefined;
    if (keyword === 'if' || keyword === 'with' || keyword === 'range') {
      p.next();
      if (p.done()) p.err(head.pos, `missing value for ${keyword}`);
      const pipe = p.pipeline(head.pos, keyword === 'range' ? 'two' : 'one');
      if (!p.done()) p.err(p.peek()!.pos, `unexpected ${describeTok(p.peek()!)} in ${keyword}`);
      const node = { kind: keyword, pipe, list: [] as Node[], elseList: undefined, pos: head.pos } as Extract<Node, { list: Node[] }>;
      current().push(node);
      stack.push({ node, inElse: false, chained: false });
    } else if (keyword === 'else') {
      const top = stack[stack.length - 1];
      if (top === undefined || top.inElse) p.err(head.pos, 'unexpected {{else}}');
      top.inElse = true;
      top.node.elseList = [];
      p.next();
      if (!p.done()) {
        const kw = p.next()!;
        if (kw.t !== 'ident' || (kw.v !== 'if' && kw.v !== 'with')) p.err(kw.pos, 'unexpected token after else');
        if (p.done()) p.err(kw.pos, `missing value for ${kw.v}`);
        const pipe = p.pipeline(kw.pos, 'one');
        const node = { kind: kw.v, pipe, list: [] as Node[], elseList: undefined, pos: kw.pos } as Extract<Node, { list: Node[] }>;
        top.node.elseList.push(node);
        stack.push({ node, inElse: false, chained: true });
      }
    } else if (keyword === 'end') {
      if (toks.length > 1) p.err(toks[1]!.pos, 'unexpected token after end');
      let top = stack.pop();
      if (top === undefined) p.err(head.pos, 'unexpected {{end}}');
      while (top.chained) top = stack.pop()!;
    } else if (keyword === 'define' || keyword === 'template' || keyword === 'block') {
      p.err(head.pos, `{{${keyword}}} is not supported`);
    } else if (keyword === 'break' || keyword === 'continue') {
      p.err(head.pos, `{{${keyword}}} is not supported`);
    } else {
      const pipe = p.pipeline(head.pos, 'one');
      if (!p.done()) p.err(p.peek()!.pos, `unexpected ${describeTok(p.peek()!)} in operand`);
      current().push({ kind: 'action', pipe, pos: head.pos });
    }
  }
  if (stack.length > 0) p.err(src.length, `unexpected EOF: {{${stack[stack.length - 1]!.node.kind}}} without {{end}}`);
  return root;
}

// ---------------------------------------------------------------------------------------------
// Values.

/** isTrue is Go's truth: false, 0, "", nil, empty lists and maps are false. */
function isTrue(v: Value): boolean {
  if (v === Missing || v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'string') return v !== '';
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function formatNumber(n: number): string {
  if (Number.isInteger(n) || !Number.isFinite(n)) return Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  const s = String(n);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

function entries(v: object): Array<[string, Value]> {
  const list: Array<[string, Value]> = v instanceof Map ? [...v.entries()].map(([k, x]) => [String(k), x]) : Object.entries(v);
  return list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * formatValue prints a value as Go's `fmt.Sprint` (`%v`) does: strings as is, lists `[a b]`,
 * objects `map[k:v]` with sorted keys, null `<nil>`, a missing field `<no value>`.
 */
export function formatValue(v: Value): string {
  if (v === Missing || v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? '<nil>' : formatValue(x))).join(' ')}]`;
  if (typeof v === 'object') {
    if (typeof (v as { toString?: unknown }).toString === 'function' && (v as object).toString !== Object.prototype.toString) return String(v);
    return `map[${entries(v)
      .map(([k, x]) => `${k}:${x === undefined ? '<nil>' : formatValue(x)}`)
      .join(' ')}]`;
  }
  if (typeof v === 'function') return '<func>';
  return String(v);
}

function typeName(v: Value): string {
  if (v === Missing || v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

// ---------------------------------------------------------------------------------------------
// printf: Go's verbs %v %s %d %q %t %x %X %o %f %e %g %c %%, with flags -+ 0 # and width/precision.

function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u00([0-9a-f]{2})/g, '\\x$1');
}

function sprintf(format: string, args: Value[]): string {
  let out = '';
  let ai = 0;
  let i = 0;
  while (i < format.length) {
    const c = format[i]!;
    if (c !== '%') {
      out += c;
      i++;
      continue;
    }
    const m = /^%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])/.exec(format.slice(i));
    if (m === null) {
      out += '%!(NOVERB)';
      i++;
      continue;
    }
    i += m[0].length;
    const flags = m[1]!;
    let width = m[2] === '*' ? Number(args[ai++]) : m[2] !== undefined ? Number(m[2]) : undefined;
    const precision = m[3] === '*' ? Number(args[ai++]) : m[3] !== undefined ? Number(m[3]) : m[0].includes('.') ? 0 : undefined;
    const verb = m[4]!;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (ai >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const a = args[ai++];
    let s: string;
    const num = typeof a === 'number' ? a : typeof a === 'string' && verb !== 's' && verb !== 'v' && verb !== 'q' && a.trim() !== '' && !Number.isNaN(Number(a)) ? Number(a) : undefined;
    switch (verb) {
      case 'v':
      case 's':
        s = formatValue(a);
        if (precision !== undefined) s = [...s].slice(0, precision).join('');
        break;
      case 'q':
        s = typeof a === 'string' ? goQuote(a) : typeof a === 'number' ? `'${String.fromCodePoint(a)}'` : goQuote(formatValue(a));
        break;
      case 't':
        s = typeof a === 'boolean' ? String(a) : `%!t(${typeName(a)}=${formatValue(a)})`;
        break;
      case 'd':
        s = num !== undefined && Number.isInteger(num) ? String(num) : `%!d(${typeName(a)}=${formatValue(a)})`;
        if (flags.includes('+') && num !== undefined && num >= 0) s = `+${s}`;
        break;
      case 'x':
      case 'X':
        if (num !== undefined && Number.isInteger(num)) s = num.toString(16);
        else s = Buffer.from(formatValue(a)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        if (flags.includes('#')) s = `0${verb}${s}`;
        break;
      case 'o':
        s = num !== undefined ? num.toString(8) : `%!o(${typeName(a)}=${formatValue(a)})`;
        break;
      case 'c':
        s = num !== undefined ? String.fromCodePoint(num) : `%!c(${typeName(a)}=${formatValue(a)})`;
        break;
      case 'f':
      case 'F':
        s = num !== undefined ? num.toFixed(precision ?? 6) : `%!f(${typeName(a)}=${formatValue(a)})`;
        if (flags.includes('+') && num !== undefined && num >= 0) s = `+${s}`;
        break;
      case 'e':
      case 'E': {
        s = num !== undefined ? num.toExponential(precision ?? 6).replace(/e([+-])(\d)$/, 'e$10$2') : `%!e(${typeName(a)}=${formatValue(a)})`;
        if (verb === 'E') s = s.toUpperCase();
        break;
      }
      case 'g':
        s = num !== undefined ? (precision !== undefined ? String(Number(num.toPrecision(Math.max(1, precision)))) : formatNumber(num)) : `%!g(${typeName(a)}=${formatValue(a)})`;
        break;
      default:
        s = `%!${verb}(${typeName(a)}=${formatValue(a)})`;
    }
    if (width !== undefined && Number.isFinite(width)) {
      if (width < 0) {
        width = -width;
        s = s.padEnd(width);
      } else if (flags.includes('-')) s = s.padEnd(width);
      else if (flags.includes('0') && /[dxXofFeEg]/.test(verb)) s = s.startsWith('-') ? `-${s.slice(1).padStart(width - 1, '0')}` : s.padStart(width, '0');
      else s = s.padStart(width);
    }
    out += s;
  }
  if (ai < args.length) out += `%!(EXTRA ${args.slice(ai).map((a) => `${typeName(a)}=${formatValue(a)}`).join(', ')})`;
  return out;
}

/** goSprint is fmt.Sprint: a space between operands when neither side is a string. */
function goSprint(args: Value[]): string {
  let out = '';
  args.forEach((a, k) => {
    if (k > 0 && typeof a !== 'string' && typeof args[k - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Functions.

type Fn = (args: Value[]) => Value;

function basicCompare(a: Value, b: Value, op: string): boolean {
  const norm = (v: Value): Value => (v === Missing ? undefined : v);
  const x = norm(a);
  const y = norm(b);
  if (op === 'eq' || op === 'ne') {
    let eq: boolean;
    if ((x === null || x === undefined) && (y === null || y === undefined)) eq = true;
    else if (typeof x === 'object' || typeof y === 'object') throw new Error(`incompatible types for comparison`);
    else eq = x === y;
    return op === 'eq' ? eq : !eq;
  }
  if (typeof x !== typeof y || (typeof x !== 'number' && typeof x !== 'string')) throw new Error('incompatible types for comparison');
  const xx = x as number | string;
  const yy = y as number | string;
  switch (op) {
    case 'lt':
      return xx < yy;
    case 'le':
      return xx <= yy;
    case 'gt':
      return xx > yy;
    default:
      return xx >= yy;
  }
}

function indexOne(v: Value, k: Value): Value {
  if (v === Missing || v === null || v === undefined) throw new Error('index of untyped nil');
  if (Array.isArray(v) || typeof v === 'string') {
    if (typeof k !== 'number' || !Number.isInteger(k)) throw new Error(`cannot index slice/array with type ${typeName(k)}`);
    if (k < 0 || k >= v.length) throw new Error(`index out of range: ${k}`);
    return v[k];
  }
  if (v instanceof Map) return v.has(k) ? v.get(k) : null;
  if (typeof v === 'object') {
    const key = String(k);
    return Object.hasOwn(v, key) ? (v as Record<string, Value>)[key] : null;
  }
  throw new Error(`can't index item of type ${typeName(v)}`);
}

function titleCase(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, ch: string) => pre + ch.toUpperCase());
}

function length(v: Value): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (v instanceof Map) return v.size;
  if (v !== null && typeof v === 'object') return Object.keys(v).length;
  throw new Error(`len of type ${typeName(v)}`);
}

function toJson(v: Value): string {
  if (v === Missing || v === undefined) return 'null';
  return JSON.stringify(v, (_k, x: unknown) => (x instanceof Map ? Object.fromEntries(x) : x)) ?? 'null';
}

const functions: Record<string, Fn> = {
  // and/or short-circuit: evaluated in evalCommand; these serve calls with values already computed.
  and: (args) => args.find((a) => !isTrue(a)) ?? args[args.length - 1],
  or: (args) => args.find((a) => isTrue(a)) ?? args[args.length - 1],
  not: ([a]) => !isTrue(a),
  len: ([a]) => length(a),
  index: ([v, ...keys]) => keys.reduce((acc, k) => indexOne(acc, k), v),
  slice: ([v, from, to]) => {
    if (typeof v !== 'string' && !Array.isArray(v)) throw new Error(`can't slice item of type ${typeName(v)}`);
    return v.slice(Number(from ?? 0), to === undefined ? undefined : Number(to));
  },
  print: (args) => goSprint(args),
  println: (args) => `${args.map(formatValue).join(' ')}\n`,
  printf: ([f, ...args]) => sprintf(String(f), args),
  eq: ([a, ...bs]) => {
    if (bs.length === 0) throw new Error('missing argument for comparison');
    return bs.some((b) => basicCompare(a, b, 'eq'));
  },
  ne: ([a, b]) => basicCompare(a, b, 'ne'),
  lt: ([a, b]) => basicCompare(a, b, 'lt'),
  le: ([a, b]) => basicCompare(a, b, 'le'),
  gt: ([a, b]) => basicCompare(a, b, 'gt'),
  ge: ([a, b]) => basicCompare(a, b, 'ge'),
  // Docker's additions (cli/templates).
  json: ([v]) => toJson(v),
  split: ([s, sep]) => String(s).split(String(sep)),
  join: ([list, sep]) => {
    if (!Array.isArray(list)) throw new Error(`wrong type for value; expected []string; got ${typeName(list)}`);
    return list.map(formatValue).join(String(sep));
  },
  title: ([s]) => titleCase(String(formatValue(s))),
  lower: ([s]) => formatValue(s).toLowerCase(),
  upper: ([s]) => formatValue(s).toUpperCase(),
  pad: ([s, left, right]) => `${' '.repeat(Number(left))}${formatValue(s)}${' '.repeat(Number(right))}`,
  truncate: ([s, n]) => {
    const chars = [...formatValue(s)];
    return chars.length > Number(n) ? chars.slice(0, Number(n)).join('') : chars.join('');
  },
};

// ---------------------------------------------------------------------------------------------
// Execution.

class ExecError extends Error {
  readonly pos: number;
  readonly at: string;
  constructor(pos: number, at: string, message: string) {
    super(message);
    this.pos = pos;
    this.at = at;
  }
}

class State {
  readonly src: string;
  readonly vars: Array<[string, Value]>;
  out = '';
  constructor(src: string, root: Value) {
    this.src = src;
    this.vars = [['$', root]];
  }

  lookup(name: string, pos: number): Value {
    for (let k = this.vars.length - 1; k >= 0; k--) if (this.vars[k]![0] === name) return this.vars[k]![1];
    throw new ExecError(pos, name, `undefined variable: ${name}`);
  }

  setVar(name: string, v: Value, pos: number): void {
    for (let k = this.vars.length - 1; k >= 0; k--) {
      if (this.vars[k]![0] === name) {
        this.vars[k]![1] = v;
        return;
      }
    }
    throw new ExecError(pos, name, `undefined variable: ${name}`);
  }
}

function field(v: Value, name: string, args: Value[], pos: number): Value {
  if (v === Missing || v === null || v === undefined) return Missing;
  if (typeof v !== 'object') throw new ExecError(pos, `.${name}`, `can't evaluate field ${name} in type ${typeName(v)}`);
  if (v instanceof Map) return v.has(name) ? v.get(name) : Missing;
  const x = (v as Record<string, unknown>)[name];
  if (typeof x === 'function') return (x as (...a: Value[]) => Value).apply(v, args);
  if (args.length > 0) throw new ExecError(pos, `.${name}`, `${name} has arguments but cannot be invoked as function`);
  return x === undefined && !(name in v) ? Missing : x;
}

function evalArg(st: State, a: Arg, dot: Value, final: Value[] | undefined): Value {
  switch (a.kind) {
    case 'dot':
      return dot;
    case 'var':
      return st.lookup(a.name, a.pos);
    case 'literal':
      return a.value;
    case 'ident': {
      const fn = functions[a.name];
      if (fn === undefined) throw new ExecError(a.pos, a.name, `function "${a.name}" not defined`);
      return call(a.name, fn, final ?? [], a.pos);
    }
    case 'pipe':
      return evalPipeline(st, a.pipe, dot);
    case 'field': {
      let base: Value;
      if (a.base === 'dot') base = dot;
      else if ('var' in a.base) base = st.lookup(a.base.var, a.pos);
      else base = evalArg(st, a.base, dot, undefined);
      for (let k = 0; k < a.chain.length; k++) {
        const last = k === a.chain.length - 1;
        base = field(base, a.chain[k]!, last ? (final ?? []) : [], a.pos);
      }
      return base;
    }
  }
}

function call(name: string, fn: Fn, args: Value[], pos: number): Value {
  try {
    return fn(args.map((x) => (x === Missing ? undefined : x)));
  } catch (e) {
    if (e instanceof ExecError) throw e;
    throw new ExecError(pos, name, `error calling ${name}: ${(e as Error).message}`);
  }
}

function evalCommand(st: State, cmd: Command, dot: Value, piped: Value | typeof NoPipe): Value {
  const [head, ...rest] = cmd.args;
  const more = piped === NoPipe ? [] : [piped];
  if (head!.kind === 'ident') {
    const fn = functions[head!.name];
    if (fn === undefined) throw new ExecError(head!.pos, head!.name, `function "${head!.name}" not defined`);
    if (head!.name === 'and' || head!.name === 'or') {
      const all = [...rest.map((r) => () => evalArg(st, r, dot, undefined)), ...more.map((m) => () => m)];
      if (all.length === 0) throw new ExecError(head!.pos, head!.name, `wrong number of args for ${head!.name}: want at least 1 got 0`);
      let v: Value = undefined;
      for (const get of all) {
        v = get();
        if (head!.name === 'and' ? !isTrue(v) : isTrue(v)) return v;
      }
      return v;
    }
    const args = [...rest.map((r) => evalArg(st, r, dot, undefined)), ...more];
    return call(head!.name, fn, args, head!.pos);
  }
  if (head!.kind === 'field') {
    const args = [...rest.map((r) => evalArg(st, r, dot, undefined)), ...more];
    return evalArg(st, head!, dot, args);
  }
  if (rest.length > 0 || more.length > 0) throw new ExecError(head!.pos, describeArg(head!).slice(1, -1), `can't give argument to non-function ${describeArg(head!)}`);
  return evalArg(st, head!, dot, undefined);
}

const NoPipe: unique symbol = Symbol('nopipe');

function evalPipeline(st: State, pipe: Pipeline, dot: Value): Value {
  let v: Value | typeof NoPipe = NoPipe;
  for (const cmd of pipe.cmds) v = evalCommand(st, cmd, dot, v);
  const value = v as Value;
  if (pipe.decl.length > 0) {
    if (pipe.assign) st.setVar(pipe.decl[0]!, value, pipe.pos);
    else st.vars.push([pipe.decl[0]!, value]);
  }
  return value;
}

function execList(st: State, list: Node[], dot: Value): void {
  for (const n of list) execNode(st, n, dot);
}

function scoped(st: State, fn: () => void): void {
  const mark = st.vars.length;
  try {
    fn();
  } finally {
    st.vars.length = mark;
  }
}

function execNode(st: State, n: Node, dot: Value): void {
  switch (n.kind) {
    case 'text':
      st.out += n.text;
      return;
    case 'action': {
      const v = evalPipeline(st, n.pipe, dot);
      if (n.pipe.decl.length === 0) st.out += formatValue(v);
      return;
    }
    case 'if':
    case 'with':
      scoped(st, () => {
        const v = evalPipeline(st, n.pipe, dot);
        if (isTrue(v)) execList(st, n.list, n.kind === 'with' ? v : dot);
        else if (n.elseList) execList(st, n.elseList, dot);
      });
      return;
    case 'range':
      scoped(st, () => {
        // Range variables are declared per iteration, not by evalPipeline.
        const decl = n.pipe.decl;
        const v = evalPipeline(st, { ...n.pipe, decl: [] }, dot);
        let items: Array<[Value, Value]>;
        if (v === Missing || v === null || v === undefined) items = [];
        else if (Array.isArray(v)) items = v.map((x, k) => [k, x]);
        else if (typeof v === 'number' && Number.isInteger(v)) items = Array.from({ length: Math.max(0, v) }, (_x, k) => [k, k]);
        else if (typeof v === 'object') items = entries(v);
        else throw new ExecError(n.pos, 'range', `range can't iterate over ${formatValue(v)}`);
        if (items.length === 0) {
          if (n.elseList) execList(st, n.elseList, dot);
          return;
        }
        for (const [k, x] of items) {
          scoped(st, () => {
            if (decl.length === 1) st.vars.push([decl[0]!, x]);
            else if (decl.length === 2) st.vars.push([decl[0]!, k], [decl[1]!, x]);
            execList(st, n.list, x);
          });
        }
      });
      return;
  }
}

/** Template is a parsed Go template; {@link Template.execute} runs it over a value. */
export interface Template {
  /** The source text. */
  readonly source: string;
  /** execute renders the template with `data` as dot; throws TemplateError when evaluation fails. */
  execute(data: unknown): string;
}

/**
 * parseTemplate parses Go text/template syntax (the subset in this module's header comment) and
 * returns a reusable {@link Template}. Throws {@link TemplateError} with Go-like wording and the
 * position (`template: :1:9: unexpected "}" in operand`) on bad syntax.
 */
export function parseTemplate(source: string): Template {
  const nodes = parse(source);
  return {
    source,
    execute(data: unknown): string {
      const st = new State(source, data);
      try {
        execList(st, nodes, data);
      } catch (e) {
        if (e instanceof ExecError) throw new TemplateError(source, e.pos, `${where(source, e.pos)}: executing "" at <${e.at}>: ${e.message}`);
        throw e;
      }
      return st.out;
    },
  };
}

/** renderTemplate is `parseTemplate(source).execute(data)`. */
export function renderTemplate(source: string, data: unknown): string {
  return parseTemplate(source).execute(data);
}
