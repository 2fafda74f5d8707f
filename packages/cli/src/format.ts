/**
 * List and inspect output: Docker's table layout (Go's text/tabwriter with minwidth 10,
 * padding 3), `--format` Go templates with the `table` prefix, `--format json`, and `-q`.
 */
import { parseTemplate } from './template.js';

/**
 * tabwrite aligns tab-separated cells into columns as Go's tabwriter with Docker's settings
 * (minwidth 10, tabwidth 1, padding 3, pad with spaces): every cell but the last of a line is
 * padded to its column's width, and a column spans consecutive lines that have it.
 */
export function tabwrite(text: string, opts: { minWidth?: number; padding?: number } = {}): string {
  const minWidth = opts.minWidth ?? 10;
  const padding = opts.padding ?? 3;
  const lines = text.split('\n');
  const trailing = lines[lines.length - 1] === '';
  if (trailing) lines.pop();
  const rows = lines.map((l) => l.split('\t'));
  const width = (s: string): number => [...s].length;
  // Columns are blocks of consecutive lines having a cell (terminated by a tab) at that index.
  const widths: number[][] = rows.map((r) => new Array<number>(Math.max(0, r.length - 1)).fill(0));
  const fill = (col: number, from: number, to: number): void => {
    let w = 0;
    for (let k = from; k < to; k++) w = Math.max(w, width(rows[k]![col]!) + padding);
    w = Math.max(w, minWidth);
    for (let k = from; k < to; k++) widths[k]![col] = w;
  };
  const maxCols = Math.max(0, ...rows.map((r) => r.length - 1));
  for (let col = 0; col < maxCols; col++) {
    let start = -1;
    for (let k = 0; k <= rows.length; k++) {
      const has = k < rows.length && rows[k]!.length - 1 > col;
      if (has && start < 0) start = k;
      if (!has && start >= 0) {
        fill(col, start, k);
        start = -1;
      }
    }
  }
  const out = rows.map((r, k) => r.map((cell, col) => (col < r.length - 1 ? cell + ' '.repeat(widths[k]![col]! - width(cell)) : cell)).join(''));
  return out.join('\n') + (trailing ? '\n' : '');
}

/** ListFormat: how a list command prints its rows. */
export interface ListFormat {
  /** The default `table …` template (`table {{.Repository}}\t{{.Tag}}…`). */
  table: string;
  /** Column headers by field name (`ID` → `IMAGE ID`). */
  headers: Record<string, string>;
  /** The field printed by `-q` (`ID`). */
  quietField?: string;
}

/**
 * expandEscapes turns the two-character sequences `\t` and `\n` into tab and newline, as
 * Docker does to `--format` strings of the list commands.
 */
export function expandEscapes(format: string): string {
  return format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

/**
 * renderList prints `rows` (objects whose properties are the template's fields) the way
 * `docker images|ps|network ls|volume ls|history` do: with no format the default table;
 * `table TEMPLATE` a table with a header made by evaluating the template over the column names;
 * `json` one JSON object per line; any other template once per row, each followed by a newline.
 */
export function renderList(rows: readonly object[], fmt: ListFormat, format: string | undefined): string {
  let f = format === undefined || format === '' || format === 'table' ? fmt.table : format;
  if (f === 'json') f = '{{json .}}';
  const isTable = f.startsWith('table');
  const body = expandEscapes(isTable ? f.slice('table'.length).trim() : f);
  const tpl = parseTemplate(body);
  let out = '';
  if (isTable) {
    const header = new Proxy(
      {},
      {
        get: (_t, key) => (typeof key === 'string' ? (fmt.headers[key] ?? key.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase()) : undefined),
        has: () => true,
      },
    );
    out += `${tpl.execute(header)}\n`;
  }
  for (const r of rows) out += `${tpl.execute(r)}\n`;
  return isTable ? tabwrite(out) : out;
}

/** renderQuiet prints one field per row (`-q`), skipping repeats as `docker images -q` does. */
export function renderQuiet(rows: readonly object[], field: string, unique = false): string {
  const seen = new Set<string>();
  let out = '';
  for (const r of rows) {
    const v = String((r as Record<string, unknown>)[field]);
    if (unique && seen.has(v)) continue;
    seen.add(v);
    out += `${v}\n`;
  }
  return out;
}

/**
 * renderInspect prints objects as `docker inspect` does: without a format, a JSON array indented
 * with four spaces; with `-f TEMPLATE`, the template once per object, each followed by a newline
 * (`-f json` prints each object as compact JSON).
 */
export function renderInspect(objects: readonly unknown[], format: string | undefined): string {
  if (format === undefined || format === '') return `${JSON.stringify(objects, null, 4)}\n`;
  const tpl = parseTemplate(format === 'json' ? '{{json .}}' : format);
  return objects.map((o) => `${tpl.execute(o)}\n`).join('');
}
