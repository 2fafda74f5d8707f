/** `docker commit -c` changes: parsing (exec and shell forms, continuations) and applying them as Docker does. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidChangeError, applyChanges, parseChange, parseChanges } from '../src/index.js';

describe('parseChange', () => {
  it('reads exec (JSON) and shell forms as Docker does', () => {
    expect(parseChange('CMD ["/bin/httpd","-f"]')).toMatchObject({ instruction: 'CMD', json: true, args: ['/bin/httpd', '-f'] });
    expect(parseChange('cmd echo "hi there"')).toMatchObject({ instruction: 'CMD', json: false, args: ['echo "hi there"'] });
    // Not a JSON array of strings → shell form (Docker falls back the same way); a JSON array is read up to its end.
    expect(parseChange('CMD [not json')).toMatchObject({ json: false, args: ['[not json'] });
    expect(parseChange('ENTRYPOINT ["a"] trailing')).toMatchObject({ json: true, args: ['a'] });
    expect(parseChange('ENTRYPOINT')).toMatchObject({ instruction: 'ENTRYPOINT', args: null });
    expect(parseChange('VOLUME ["/data", "/logs"]')).toMatchObject({ instruction: 'VOLUME', paths: ['/data', '/logs'] });
    expect(parseChange('VOLUME /a  /b')).toMatchObject({ paths: ['/a', '/b'] });
  });

  it('reads ENV and LABEL pairs, the legacy one-pair form, and continuation lines', () => {
    expect(parseChange('ENV A=1 B="two words" C=x\\ y')).toMatchObject({ pairs: [['A', '1'], ['B', '"two words"'], ['C', 'x\\ y']] });
    expect(parseChange('ENV MY_NAME John Doe')).toMatchObject({ pairs: [['MY_NAME', 'John Doe']] });
    expect(parseChange('LABEL "com.example.vendor"="ACME Inc" version=1.0')).toMatchObject({ instruction: 'LABEL', pairs: [['"com.example.vendor"', '"ACME Inc"'], ['version', '1.0']] });
    expect(parseChange('ENV A=1 \\\n    B=2')).toMatchObject({ pairs: [['A', '1'], ['B', '2']] });
  });

  it('reads HEALTHCHECK flags and forms, ONBUILD triggers', () => {
    expect(parseChange('HEALTHCHECK --interval=30s --timeout=1m30s --retries=3 CMD curl -f http://localhost/')).toMatchObject({
      test: ['CMD-SHELL', 'curl -f http://localhost/'],
      interval: 30e9,
      timeout: 90e9,
      retries: 3,
    });
    expect(parseChange('HEALTHCHECK CMD ["true"]')).toMatchObject({ test: ['CMD', 'true'] });
    expect(parseChange('HEALTHCHECK NONE')).toMatchObject({ test: ['NONE'] });
    expect(parseChange('ONBUILD RUN make install')).toMatchObject({ instruction: 'ONBUILD', expression: 'RUN make install' });
  });

  it('refuses what Docker refuses, with InvalidChangeError', () => {
    const bad: Array<[string, string]> = [
      ['RUN echo hi', 'RUN'],
      ['FROM scratch', 'FROM'],
      ['BOGUS x', 'BOGUS'],
      ['ENV', 'ENV'],
      ['ENV A=1 B', 'ENV'],
      ['CMD ["a", 1]', 'CMD'],
      ['ONBUILD ONBUILD RUN x', 'ONBUILD'],
      ['ONBUILD FROM x', 'ONBUILD'],
      ['HEALTHCHECK --interval=1ns CMD true', 'HEALTHCHECK'],
      ['HEALTHCHECK --retries=-1 CMD true', 'HEALTHCHECK'],
      ['HEALTHCHECK --bogus=1 CMD true', 'HEALTHCHECK'],
      ['HEALTHCHECK RUN true', 'HEALTHCHECK'],
      ['HEALTHCHECK --interval=5s NONE', 'HEALTHCHECK'],
      ['USER', 'USER'],
    ];
    for (const [line, instruction] of bad) {
      const err = (() => {
        try {
          parseChange(line);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, line).toBeInstanceOf(InvalidChangeError);
      expect(err, line).toMatchObject({ code: 'INVALID_CHANGE', line, instruction });
    }
    expect(() => parseChange('CMD a\nENV b=c')).toThrow(InvalidChangeError);
    expect(parseChanges(['CMD a\nENV b=c', '# a comment', ''])).toHaveLength(2);
  });

  it('property: any input gives a Change or an InvalidChangeError, never another error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.constantFrom('', 'CMD ', 'ENV ', 'LABEL ', 'EXPOSE ', 'VOLUME ', 'WORKDIR ', 'HEALTHCHECK ', 'ONBUILD ', 'STOPSIGNAL '), (s, prefix) => {
        try {
          applyChanges({ Env: ['A=1'] }, [prefix + s]);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidChangeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('applyChanges', () => {
  it('CMD and ENTRYPOINT: exec form as given, shell form after the config Shell; ENTRYPOINT clears an inherited Cmd', () => {
    expect(applyChanges({}, ['CMD ["/bin/httpd","-f"]'])).toEqual({ Cmd: ['/bin/httpd', '-f'] });
    expect(applyChanges({}, ['CMD echo $HOME'])).toEqual({ Cmd: ['/bin/sh', '-c', 'echo $HOME'] });
    expect(applyChanges({ Shell: ['/bin/bash', '-c'] }, ['ENTRYPOINT exec app'])).toEqual({ Shell: ['/bin/bash', '-c'], Entrypoint: ['/bin/bash', '-c', 'exec app'] });
    expect(applyChanges({ Cmd: ['sh'], ArgsEscaped: true }, ['ENTRYPOINT ["top"]'])).toEqual({ Entrypoint: ['top'] });
    expect(applyChanges({ Cmd: ['sh'] }, ['CMD ["-b"]', 'ENTRYPOINT ["top"]'])).toEqual({ Cmd: ['-b'], Entrypoint: ['top'] });
    expect(applyChanges({ Cmd: ['sh'] }, ['CMD'])).toEqual({});
  });

  it('ENV expands against the environment before the instruction and replaces entries in place', () => {
    const c = applyChanges({ Env: ['PATH=/usr/bin', 'A=0'] }, ['ENV A=1 B="two words" C=$A D=${A:-x} PATH=/opt/bin:$PATH', "ENV E='$A' F=\\$A G=${UNSET:-dflt}${A:+set}"]);
    expect(c.Env).toEqual(['PATH=/opt/bin:/usr/bin', 'A=1', 'B=two words', 'C=0', 'D=0', 'E=$A', 'F=$A', 'G=dfltset']);
    expect(applyChanges({}, ['ENV MY_NAME John Doe']).Env).toEqual(['MY_NAME=John Doe']);
    expect(() => applyChanges({}, ['ENV A="unterminated'])).toThrow(InvalidChangeError);
    expect(() => applyChanges({}, ['ENV A=${B:?must be set}'])).toThrow(/must be set/);
  });

  it('LABEL, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, ONBUILD, HEALTHCHECK', () => {
    const c = applyChanges(
      { Env: ['PORT=8080', 'DIR=/srv'], Labels: { keep: 'me' }, ExposedPorts: { '22/tcp': {} }, WorkingDir: '/app' },
      [
        'LABEL "com.example.vendor"="ACME Inc" version=1.0 port=$PORT',
        'EXPOSE 80 443/udp 8000-8002 $PORT 127.0.0.1:9000:9000/tcp',
        'VOLUME ["/data", "$DIR/logs"]',
        'VOLUME /cache',
        'USER app:app',
        'WORKDIR sub',
        'WORKDIR ../other/./dir/',
        'STOPSIGNAL SIGQUIT',
        'ONBUILD RUN make',
        'HEALTHCHECK --interval=5s CMD ["curl","-f","http://localhost/"]',
      ],
    );
    expect(c.Labels).toEqual({ keep: 'me', 'com.example.vendor': 'ACME Inc', version: '1.0', port: '8080' });
    expect(Object.keys(c.ExposedPorts!).sort()).toEqual(['22/tcp', '443/udp', '80/tcp', '8000/tcp', '8001/tcp', '8002/tcp', '8080/tcp', '9000/tcp'].sort());
    expect(c.Volumes).toEqual({ '/data': {}, '/srv/logs': {}, '/cache': {} });
    expect(c.User).toBe('app:app');
    expect(c.WorkingDir).toBe('/app/other/dir');
    expect(c.StopSignal).toBe('SIGQUIT');
    expect(c.OnBuild).toEqual(['RUN make']);
    expect(c.Healthcheck).toEqual({ Test: ['CMD', 'curl', '-f', 'http://localhost/'], Interval: 5e9 });
    expect(applyChanges({}, ['WORKDIR /a/b/../c']).WorkingDir).toBe('/a/c');
  });

  it('bad values fail without touching the input config; all lines are checked before any applies', () => {
    const base = { Env: ['A=1'], Cmd: ['sh'] };
    for (const line of ['EXPOSE 99999', 'EXPOSE 80/icmp', 'EXPOSE abc', 'VOLUME ""', 'VOLUME [""]', 'STOPSIGNAL SIGFOO', 'STOPSIGNAL 0', 'ENV =x']) {
      expect(() => applyChanges(base, [line]), line).toThrow(InvalidChangeError);
    }
    expect(() => applyChanges(base, ['CMD ["ok"]', 'RUN nope'])).toThrow(/RUN is not a valid change command/);
    expect(base).toEqual({ Env: ['A=1'], Cmd: ['sh'] });
  });

  it('property: a double-quoted ENV value comes back as the string quoted', () => {
    const quote = (s: string): string => `"${s.replace(/[\\"$]/g, (m) => `\\${m}`)}"`;
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }).filter((s) => !/[\r\n]/.test(s)), (s) => {
        expect(applyChanges({}, [`ENV K=${quote(s)}`]).Env).toEqual([`K=${s}`]);
        expect(applyChanges({}, [`LABEL k=${quote(s)}`]).Labels).toEqual({ k: s });
      }),
      { numRuns: 500 },
    );
  });
});
