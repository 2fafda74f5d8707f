/** Pure tests of the flag parser (Docker's pflag conventions), tables, units and progress. */
import { describe, expect, it } from 'vitest';
import { type FlagSpec, parseArgs } from '../src/args.js';
import { UsageError } from '../src/errors.js';
import { renderInspect, renderList, tabwrite } from '../src/format.js';
import { LineDisplay, progressBar, PullProgress } from '../src/progress.js';
import { humanDuration, humanSize, since } from '../src/units.js';

const specs: FlagSpec[] = [
  { name: 'detach', short: 'd', type: 'boolean', description: '' },
  { name: 'interactive', short: 'i', type: 'boolean', description: '' },
  { name: 'tty', short: 't', type: 'boolean', description: '' },
  { name: 'rm', type: 'boolean', description: '' },
  { name: 'name', type: 'string', description: '' },
  { name: 'env', short: 'e', type: 'list', description: '' },
  { name: 'publish', short: 'p', type: 'list', description: '' },
  { name: 'tail', short: 'n', type: 'string', description: '', default: 'all' },
  { name: 'pause', short: 'P', type: 'boolean', description: '', default: 'true' },
];
const parse = (argv: string[], stop = false) => parseArgs(argv, specs, { command: 'run', stopAtFirstArg: stop });

describe('parseArgs', () => {
  it('long, long=value, short, combined shorts, attached and = values, repeated lists', () => {
    const p = parse(['-it', '--rm', '--name=web', '-e', 'A=1', '-eB=2', '--env', 'C=3', '-p=80:80', '-dp', '8080:80', 'busybox']);
    expect(p.flags).toMatchObject({ interactive: true, tty: true, rm: true, detach: true, name: 'web', env: ['A=1', 'B=2', 'C=3'], publish: ['80:80', '8080:80'], tail: 'all' });
    expect(p.args).toEqual(['busybox']);
    expect(p.given.has('rm') && !p.given.has('tail')).toBe(true);
  });
  it('booleans take =false; flags may follow arguments unless the command stops at the first one', () => {
    expect(parse(['--rm=false', 'x', '-d']).flags).toMatchObject({ rm: false, detach: true, pause: true });
    // A boolean that defaults to true (docker commit -p): -P keeps it on, --pause=false turns it off.
    expect(parse(['-P', '-d']).flags).toMatchObject({ pause: true, detach: true });
    expect(parse(['--pause=false']).flags.pause).toBe(false);
    const run = parse(['-d', 'busybox', 'ls', '-l', '--name', 'x'], true);
    expect(run.flags.detach).toBe(true);
    expect(run.flags.name).toBeUndefined();
    expect(run.args).toEqual(['busybox', 'ls', '-l', '--name', 'x']);
  });
  it('-- ends options; - alone is an argument', () => {
    expect(parse(['--', '-d', '--rm']).args).toEqual(['-d', '--rm']);
    expect(parse(['-', '-d'])).toMatchObject({ args: ['-'], flags: { detach: true } });
  });
  it("errors with pflag's wording", () => {
    const err = (argv: string[]): string => {
      try {
        parse(argv);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err(['--nope'])).toBe('unknown flag: --nope');
    expect(err(['-x'])).toBe("unknown shorthand flag: 'x' in -x");
    expect(err(['-itx'])).toBe("unknown shorthand flag: 'x' in -itx");
    expect(err(['--name'])).toBe('flag needs an argument: --name');
    expect(err(['-e'])).toBe("flag needs an argument: 'e' in -e");
    expect(err(['--rm=maybe'])).toBe('invalid argument "maybe" for "--rm" flag: parse error');
  });
});

describe('tables', () => {
  it("tabwriter: minwidth 10, padding 3, last column unpadded (docker's layout)", () => {
    expect(tabwrite('REPOSITORY\tTAG\tIMAGE ID\nbusybox\tlatest\tbeae173ccac6\n')).toBe('REPOSITORY   TAG       IMAGE ID\nbusybox      latest    beae173ccac6\n');
  });
  it('renderList: default table, table TEMPLATE with headers, plain template, json; \\t escapes', () => {
    const rows = [{ ID: 'a1', Name: 'web', Labels: 'x=1' }, { ID: 'b2', Name: 'db', Labels: '' }];
    const fmt = { table: 'table {{.ID}}\t{{.Name}}', headers: { ID: 'CONTAINER ID', Name: 'NAMES' } };
    expect(renderList(rows, fmt, undefined)).toBe('CONTAINER ID   NAMES\na1             web\nb2             db\n');
    expect(renderList(rows, fmt, 'table {{.Name}}\\t{{.Labels}}\\t{{.CreatedSince}}')).toBe('NAMES     LABELS    CREATED SINCE\nweb       x=1       <no value>\ndb                  <no value>\n');
    expect(renderList(rows, fmt, '{{.Name}}:{{.ID}}')).toBe('web:a1\ndb:b2\n');
    expect(renderList(rows, fmt, 'json')).toBe('{"ID":"a1","Name":"web","Labels":"x=1"}\n{"ID":"b2","Name":"db","Labels":""}\n');
  });
  it('renderInspect: a JSON array with 4-space indent, or the template per object', () => {
    expect(renderInspect([{ A: 1 }], undefined)).toBe('[\n    {\n        "A": 1\n    }\n]\n');
    expect(renderInspect([{ A: 1 }, { A: 2 }], '{{.A}}')).toBe('1\n2\n');
    expect(renderInspect([{ A: [1] }], 'json')).toBe('{"A":[1]}\n');
  });
});

describe('units', () => {
  it("humanSize: go-units' decimal sizes with 4 significant digits", () => {
    expect([0, 999, 1000, 3584, 1_240_000, 264_000_000, 213_200_000, 1.5e9].map(humanSize)).toEqual(['0B', '999B', '1kB', '3.584kB', '1.24MB', '264MB', '213.2MB', '1.5GB']);
  });
  it('humanDuration / since', () => {
    const s = 1000;
    expect([0.5 * s, s, 7 * s, 61 * s, 30 * 60 * s, 3600 * s, 5 * 3600 * s, 3 * 86400 * s, 20 * 86400 * s, 90 * 86400 * s, 800 * 86400 * s].map(humanDuration)).toEqual([
      'Less than a second', '1 second', '7 seconds', 'About a minute', '30 minutes', 'About an hour', '5 hours', '3 days', '2 weeks', '3 months', '2 years',
    ]);
    expect(since('2020-01-01T00:00:00Z', Date.parse('2020-01-01T00:00:08Z'))).toBe('8 seconds ago');
    expect(since(undefined)).toBe('N/A');
  });
});

describe('progress', () => {
  it('bars like docker: 50 cells on a wide terminal', () => {
    expect(progressBar(50, 100, 120)).toBe(`[${'='.repeat(25)}>${' '.repeat(25)}]      50B/100B`);
    // The seeds' `docker load` line: a full bar ends in `>`.
    expect(progressBar(213_200_000, 213_200_000, 120)).toBe(`[${'='.repeat(50)}>]  213.2MB/213.2MB`);
  });
  it('plain output: one line per change of state, no bytes; tty output redraws lines in place', () => {
    let text = '';
    const pp = new PullProgress({ tty: false, write: (s) => (text += s) });
    const d = 'sha256:9ad63333ebc97e32b987ae66aa3cff81300e4c2e6d2f2395cef8a3ae18b249fe' as const;
    for (const state of ['waiting', 'downloading', 'downloading', 'verifying', 'done'] as const) pp.onProgress({ digest: d, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', kind: 'layer', state, current: 1, total: 2 });
    pp.onProgress({ digest: d, mediaType: 'x', kind: 'config', state: 'done', current: 1, total: 1 });
    expect(text).toBe('9ad63333ebc9: Pulling fs layer\n9ad63333ebc9: Downloading\n9ad63333ebc9: Verifying Checksum\n9ad63333ebc9: Download complete\n');
    let tty = '';
    const lines = new LineDisplay({ tty: true, write: (s) => (tty += s) });
    lines.update('a', 'Waiting');
    lines.update('b', 'Waiting');
    lines.update('a', 'Done', undefined, { force: true });
    expect(tty).toBe('a: Waiting\nb: Waiting\n\x1b[2A\x1b[2K\ra: Done\x1b[2B\r');
  });
});
