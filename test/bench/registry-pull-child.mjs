// Run by registry.bench.ts as its own process (`node registry-pull-child.mjs HOST REF DIR`): a pull
// alone in a plain node process on the compiled packages (dist/, as users run them; no tsx
// loader), so that its peak RSS is measured like skopeo's.
import { Store } from '@stratum/image';
import { RegistryClient } from '@stratum/registry-client';

const [host, ref, dir] = process.argv.slice(2);
const store = await Store.open(dir);
const client = new RegistryClient({ insecure: [host] });
try {
  await client.pull(ref, { store });
} finally {
  await client.close();
}
