/**
 * The worker process of image-archive.bench.ts: runs saveDockerArchive / loadDockerArchive when
 * asked over IPC, so that its peak RSS is that of a process holding only what a user's script
 * would (Node, the loader, the Stratum packages), not the whole bench runner's.
 */
import { Store } from '@stratum/image';
import { loadDockerArchive, saveDockerArchive } from '@stratum/image-archive';

interface Job {
  op: 'save' | 'load';
  store: string;
  ref: string;
  path: string;
}

process.on('message', (job: Job) => {
  void (async () => {
    try {
      await using store = await Store.open(job.store);
      if (job.op === 'save') await saveDockerArchive(store, [job.ref], job.path);
      else await loadDockerArchive(job.path, store);
      process.send!({ ok: true });
    } catch (err) {
      process.send!({ ok: false, error: (err as Error).stack ?? String(err) });
    }
  })();
});
process.send!({ ready: true });
