/** Pure tests of the Go text/template subset used by --format and inspect -f. */
import { describe, expect, it } from 'vitest';
import { TemplateError } from '../src/errors.js';
import { formatValue, parseTemplate, renderTemplate } from '../src/template.js';

const container = {
  Id: '868410465faaa3c3b89d84890e2fa8f76fe4d645075b6796299a24ccfb80be48',
  Name: '/centos2',
  Config: { Cmd: ['/usr/sbin/apachectl', ' -D', 'FOREGROUND'], Image: 'httpd:1.1', Env: ['PATH=/bin', 'A=1'], Labels: { b: '2', a: '1' }, Entrypoint: null },
  State: { Running: true, Pid: 4242, ExitCode: 0 },
  NetworkSettings: {
    IPAddress: '10.88.0.2',
    Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] },
    Networks: { bridge: { IPAddress: '10.88.0.2', Gateway: '10.88.0.1' }, other: { IPAddress: '10.89.0.5', Gateway: '10.89.0.1' } },
  },
  HostConfig: { Memory: 67108864, NanoCpus: 1500000000 },
};

describe('field selection', () => {
  it('selects nested fields like docker inspect -f', () => {
    expect(renderTemplate('{{.NetworkSettings.IPAddress}}', container)).toBe('10.88.0.2');
    expect(renderTemplate('{{.Name}} {{.State.Pid}} {{.State.Running}}', container)).toBe('/centos2 4242 true');
    expect(renderTemplate('{{.HostConfig.Memory}}', container)).toBe('67108864');
  });
  it('prints lists and maps as Go does', () => {
    expect(renderTemplate('{{.Config.Cmd}}', container)).toBe('[/usr/sbin/apachectl  -D FOREGROUND]');
    expect(renderTemplate('{{.Config.Labels}}', container)).toBe('map[a:1 b:2]');
    expect(renderTemplate('{{.Config.Entrypoint}}', container)).toBe('<nil>');
    expect(renderTemplate('{{.Nope}}', container)).toBe('<no value>');
    expect(renderTemplate('{{.Nope.Deeper}}', container)).toBe('<no value>');
    expect(formatValue({ x: [1, 'a', null], y: true })).toBe('map[x:[1 a <nil>] y:true]');
  });
  it('json renders compact JSON without HTML escaping', () => {
    expect(renderTemplate('{{json .Config.Labels}}', container)).toBe('{"b":"2","a":"1"}');
    expect(renderTemplate('{{json .Config}}', { Config: { Cmd: ['a<b'] } })).toBe('{"Cmd":["a<b"]}');
    expect(renderTemplate('{{.Config.Cmd | json}}', container)).toBe('["/usr/sbin/apachectl"," -D","FOREGROUND"]');
    expect(renderTemplate('{{json .Missing}}', container)).toBe('null');
  });
  it('range over lists and maps (sorted keys), with variables and else', () => {
    expect(renderTemplate('{{range .Config.Env}}{{.}};{{end}}', container)).toBe('PATH=/bin;A=1;');
    expect(renderTemplate('{{range $i, $e := .Config.Env}}{{$i}}={{$e}} {{end}}', container)).toBe('0=PATH=/bin 1=A=1 ');
    expect(renderTemplate('{{range $k, $v := .NetworkSettings.Networks}}{{$k}}:{{$v.IPAddress}} {{end}}', container)).toBe('bridge:10.88.0.2 other:10.89.0.5 ');
    expect(renderTemplate('{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container)).toBe('10.88.0.210.89.0.5');
    expect(renderTemplate('{{range .Nope}}x{{else}}none{{end}}', container)).toBe('none');
    expect(renderTemplate('{{range $p, $conf := .NetworkSettings.Ports}}{{$p}} -> {{(index $conf 0).HostPort}}{{end}}', container)).toBe('80/tcp -> 8080');
  });
  it('if/else if/else, with, comparisons, and/or/not', () => {
    expect(renderTemplate('{{if .State.Running}}up{{else}}down{{end}}', container)).toBe('up');
    expect(renderTemplate('{{if eq .State.ExitCode 1}}one{{else if eq .State.ExitCode 0}}zero{{else}}other{{end}}', container)).toBe('zero');
    expect(renderTemplate('{{with .NetworkSettings}}{{.IPAddress}}{{end}}', container)).toBe('10.88.0.2');
    expect(renderTemplate('{{with .Nope}}x{{else}}y{{end}}', container)).toBe('y');
    expect(renderTemplate('{{and .State.Running .Name}}|{{or .Nope "dflt"}}|{{not .State.Running}}', container)).toBe('/centos2|dflt|false');
    expect(renderTemplate('{{if and (gt .State.Pid 1) (lt .State.Pid 5000)}}ok{{end}}', container)).toBe('ok');
    expect(renderTemplate('{{eq .Name "/x" "/centos2"}}', container)).toBe('true');
  });
  it('index, len, printf, print, println, slice', () => {
    expect(renderTemplate('{{index .Config.Labels "a"}} {{index .Config.Cmd 2}} {{len .Config.Env}}', container)).toBe('1 FOREGROUND 2');
    expect(renderTemplate('{{(index .NetworkSettings.Networks "bridge").Gateway}}', container)).toBe('10.88.0.1');
    expect(renderTemplate('{{printf "%-6s|%5d|%q|%.2f|%x|%v" "ab" 42 "hi" 1.5 255 .Config.Cmd}}', container)).toBe('ab    |   42|"hi"|1.50|ff|[/usr/sbin/apachectl  -D FOREGROUND]');
    expect(renderTemplate('{{print 1 2 "a" 3}}', {})).toBe('1 2a3');
    expect(renderTemplate('{{println "a" 1}}', {})).toBe('a 1\n');
    expect(renderTemplate('{{slice .Id 0 12}}', container)).toBe('868410465faa');
  });
  it("Docker's functions: join split upper lower title pad truncate", () => {
    expect(renderTemplate('{{join .Config.Env ","}}', container)).toBe('PATH=/bin,A=1');
    expect(renderTemplate('{{range split "a:b:c" ":"}}[{{.}}]{{end}}', {})).toBe('[a][b][c]');
    expect(renderTemplate('{{upper "ab"}} {{lower "AB"}} {{title "hello world"}} {{pad "x" 1 2}}| {{truncate .Id 5}}', container)).toBe('AB ab Hello World  x  | 86841');
  });
  it('variables, assignment, parentheses, pipelines into functions', () => {
    expect(renderTemplate('{{$ip := .NetworkSettings.IPAddress}}{{$ip}}/{{$.Name}}', container)).toBe('10.88.0.2//centos2');
    expect(renderTemplate('{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}', {})).toBe('2');
    expect(renderTemplate('{{.Name | printf "%s!"}}', container)).toBe('/centos2!');
    expect(renderTemplate('{{.Config.Image | upper | lower}}', container)).toBe('httpd:1.1');
  });
  it('trim markers and comments', () => {
    expect(renderTemplate('a  {{- .Name -}}  b{{/* note */}}', container)).toBe('a/centos2b');
    expect(renderTemplate('{{range .Config.Env -}}\n  {{.}}\n{{- end}}', container)).toBe('PATH=/binA=1');
  });
  it('calls functions found as properties (methods)', () => {
    expect(renderTemplate('{{.Hello "x"}}', { Hello: (s: string) => `hi ${s}` })).toBe('hi x');
  });
});

describe('errors', () => {
  const fails = (src: string, data: unknown, re: RegExp): void => {
    let err: unknown;
    try {
      parseTemplate(src).execute(data);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as Error).message).toMatch(re);
  };
  it('says where the syntax is wrong', () => {
    fails('{{.Name', {}, /unclosed action/);
    fails('{{if .A}}x', {}, /without \{\{end\}\}/);
    fails('{{end}}', {}, /unexpected \{\{end\}\}/);
    fails('{{nosuch .A}}', {}, /function "nosuch" not defined/);
    fails('{{.A | }}', {}, /missing command after \|/);
    fails('x{{ }}', {}, /:1:3: missing value for command/);
    fails('{{"abc}}', {}, /unterminated quoted string/);
  });
  it('reports evaluation errors with the failing operand', () => {
    fails('{{index .L 5}}', { L: [1] }, /executing "" at <index>: error calling index: index out of range: 5/);
    fails('{{.A.B}}', { A: 'str' }, /can't evaluate field B in type string/);
    fails('{{$nope}}', {}, /undefined variable: \$nope/);
    fails('{{join .A ","}}', { A: 's' }, /expected \[\]string/);
  });
});
