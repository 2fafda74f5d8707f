/**
 * Containers as the container verbs see them: opened from the invocation's runtime by name, ID
 * or ID prefix, listed with their inspect documents (Docker's field names), and exported.
 */
import type { Writable } from 'node:stream';
import { Container, type ContainerInspect, type ContainerSummary } from '@stratum/container';
import type { Context } from '../context.js';
import { NoSuchObjectError } from '../errors.js';
import { runtime } from './network.js';

/** openContainer finds a container of the invocation's root (NoSuchObjectError when none matches). */
export async function openContainer(ctx: Context, ref: string, exitCode = 1): Promise<Container> {
  const rt = await runtime(ctx);
  try {
    return await Container.get(ref, { runtime: rt });
  } catch (e) {
    if ((e as { code?: string }).code === 'CONTAINER_NOT_FOUND' || (e as Error).name === 'ContainerNotFoundError') throw new NoSuchObjectError('container', ref, exitCode);
    throw e;
  }
}

/** ListedContainer: a container's `docker ps` summary and its inspect document. */
export interface ListedContainer {
  summary: ContainerSummary;
  inspect: ContainerInspect;
}

/** listContainers returns the containers (`all`: stopped ones too), newest first, with summary and inspect document. */
export async function listContainers(ctx: Context, opts: { all: boolean }): Promise<ListedContainer[]> {
  const rt = await runtime(ctx);
  const summaries = await Container.list({ runtime: rt, all: opts.all });
  const out: ListedContainer[] = [];
  for (const summary of summaries) {
    try {
      out.push({ summary, inspect: await (await Container.get(summary.Id, { runtime: rt })).inspect() });
    } catch (e) {
      if ((e as Error).name !== 'ContainerNotFoundError') throw e; // removed meanwhile
    }
  }
  return out;
}

/**
 * exportContainerRootfs writes a container's filesystem as a tar (`docker export`), running or
 * stopped: @stratum/container's `export` (through @stratum/image-archive's exportRootfs).
 */
export async function exportContainerRootfs(ctx: Context, ref: string, output: string | Writable): Promise<void> {
  const c = await openContainer(ctx, ref, 125);
  await c.export(output, ctx.signal ? { signal: ctx.signal } : {});
}
