/** The README's Usage snippet runs against a real registry with basic auth and prints what its comments say. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guard } from '@stratum/testing';
import { RegistryClient } from '../src/index.js';
import { startRegistry } from './registry-fixture.js';
import { randomImage } from './helpers.js';

const pkg = join(import.meta.dirname, '..');

describe('README', () => {
  it('the Usage snippet runs and prints what its comments say', async (ctx) => {
    guard(ctx, 'tool:docker-registry', 'tool:htpasswd');
    const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
    const usage = readme.slice(readme.indexOf('## Usage'));
    let code = /```ts\n([\s\S]*?)```/.exec(usage)?.[1];
    expect(code).toBeTruthy();
    const expected = code!
      .split('\n')
      .filter((l) => l.includes('console.log(') && l.includes('// '))
      .map((l) => l.slice(l.lastIndexOf('// ') + 3).trim());
    // Until @stratum/image exports its Store, the snippet runs on the tests' OCI-layout store.
    const image = (await import('@stratum/image')) as { Store?: unknown };
    if (!image.Store) {
      code = code!.replace("import { Store } from '@stratum/image';", `import { openStore } from ${JSON.stringify(join(pkg, 'test', 'open-store.ts'))};\nconst Store = { open: openStore };`);
    }
    await using reg = await startRegistry({ htpasswd: [{ username: 'alice', password: 's3cret' }] });
    await using c = new RegistryClient({ insecure: [reg.host], auth: { [reg.host]: { username: 'alice', password: 's3cret' } } });
    await c.push(await randomImage({ seed: 90, layers: 2 }), `${reg.host}/team/app:1`);
    const dir = mkdtempSync(join(tmpdir(), 'stratum-registry-readme-'));
    try {
      symlinkSync(join(pkg, '..', '..', 'node_modules'), join(dir, 'node_modules'));
      mkdirSync(join(dir, 'docker'));
      writeFileSync(join(dir, 'docker', 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
      writeFileSync(join(dir, 'snippet.mts'), code!);
      const out = execFileSync(process.execPath, ['--conditions=stratum-source', '--import', 'tsx', 'snippet.mts'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, REGISTRY: reg.host, STORE: join(dir, 'store'), DOCKER_CONFIG: join(dir, 'docker'), REGISTRY_AUTH_FILE: join(dir, 'none.json') },
      });
      expect(out.trim().split('\n')).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
