import { removeTree } from './rootless.js';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AmbiguousContainerError, ContainerNotFoundError, NameConflictError } from './errors.js';
import { isErrno, readJson, withLock, writeJsonAtomic } from './fsutil.js';
import { isContainerId } from './ids.js';
import { containerPaths, initialState, type ContainerPaths, type ContainerRecord, type StateRecord } from './record.js';

/**
 * StateDir is the containers part of the state dir: `containers/<id>/` per container,
 * `containers/.names/<name>` (the id holding a name) and `containers/.locks/` (one flock file per
 * container, and one for the names). Every record is replaced atomically; read-modify-write
 * cycles hold the container's lock, so any number of processes can manage the same containers.
 */
export class StateDir {
  readonly root: string;
  readonly containers: string;
  readonly #names: string;
  readonly #locks: string;

  constructor(root: string) {
    this.root = root;
    this.containers = join(root, 'containers');
    this.#names = join(this.containers, '.names');
    this.#locks = join(this.containers, '.locks');
    mkdirSync(this.#names, { recursive: true, mode: 0o700 });
    mkdirSync(this.#locks, { recursive: true, mode: 0o700 });
  }

  paths(id: string): ContainerPaths {
    return containerPaths(this.root, id);
  }

  /**
   * create writes a new container's directory (`prepare` fills it and may complete the record,
   * then config.json + a `created` state.json; all in a temp dir renamed into place) after
   * claiming its name; NameConflictError when a live container has
   * the name. A name whose holder no longer exists is free (a crash between the two steps).
   */
  async create(record: ContainerRecord, prepare?: (dir: string, record: ContainerRecord) => void | Promise<void>): Promise<void> {
    await withLock(join(this.#locks, '.names'), async () => {
      const holder = this.#nameHolder(record.Name);
      if (holder !== undefined) throw new NameConflictError(record.Name, holder);
      writeFileSync(join(this.#names, record.Name), record.Id);
      const tmp = join(this.containers, `.tmp-${record.Id}`);
      try {
        mkdirSync(tmp, { mode: 0o711 });
        await prepare?.(tmp, record);
        writeJsonAtomic(join(tmp, 'config.json'), record, { durable: false });
        writeJsonAtomic(join(tmp, 'state.json'), initialState(), { durable: false });
        renameSync(tmp, join(this.containers, record.Id));
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        rmSync(join(this.#names, record.Name), { force: true });
        throw e;
      }
    });
  }

  #nameHolder(name: string): string | undefined {
    let id: string;
    try {
      id = readFileSync(join(this.#names, name), 'utf8').trim();
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
    return this.exists(id) ? id : undefined;
  }

  /** exists is true when the container's config.json is there. */
  exists(id: string): boolean {
    return isContainerId(id) && readJson(join(this.containers, id, 'config.json')) !== undefined;
  }

  /** ids lists every container id, sorted. */
  ids(): string[] {
    try {
      return readdirSync(this.containers).filter(isContainerId).sort();
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return [];
      throw e;
    }
  }

  /**
   * resolve finds a container by full id, name (with or without a leading `/`), or unique id
   * prefix, as `docker inspect` does (name wins over a prefix). ContainerNotFoundError /
   * AmbiguousContainerError otherwise.
   */
  resolve(ref: string): string {
    if (typeof ref !== 'string' || ref === '') throw new TypeError('container reference must be a non-empty string');
    if (isContainerId(ref) && this.exists(ref)) return ref;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    if (/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
      const holder = this.#nameHolder(name);
      if (holder !== undefined) return holder;
    }
    if (/^[0-9a-f]{1,63}$/.test(ref)) {
      const matches = this.ids().filter((id) => id.startsWith(ref));
      if (matches.length === 1) return matches[0]!;
      if (matches.length > 1) throw new AmbiguousContainerError(ref, matches);
    }
    throw new ContainerNotFoundError(ref);
  }

  /** record reads config.json; ContainerNotFoundError when gone. */
  record(id: string): ContainerRecord {
    const r = readJson<ContainerRecord>(this.paths(id).config);
    if (!r) throw new ContainerNotFoundError(id);
    return r;
  }

  /** state reads state.json; ContainerNotFoundError when gone. */
  state(id: string): StateRecord {
    const s = readJson<StateRecord>(this.paths(id).state);
    if (!s) throw new ContainerNotFoundError(id);
    return s;
  }

  /** lock runs `fn` holding the container's lock. */
  lock<T>(id: string, fn: () => Promise<T> | T): Promise<T> {
    return withLock(this.paths(id).lock, fn);
  }

  /**
   * update replaces state.json with `fn(current)` under the container's lock (atomic, durable)
   * and returns the new state. ContainerNotFoundError when the container is gone.
   */
  update(id: string, fn: (s: StateRecord) => StateRecord | void, opts: { durable?: boolean } = {}): Promise<StateRecord> {
    return this.lock(id, () => this.updateLocked(id, fn, opts));
  }

  /** updateLocked is {@link StateDir.update} for a caller already holding the lock. */
  updateLocked(id: string, fn: (s: StateRecord) => StateRecord | void, opts: { durable?: boolean } = {}): StateRecord {
    const cur = this.state(id);
    const next = fn(cur) ?? cur;
    writeJsonAtomic(this.paths(id).state, next, opts);
    return next;
  }

  /** remove deletes a container's directory, its name and its lock file (the caller holds the lock). */
  async removeLocked(id: string, name: string): Promise<void> {
    const p = this.paths(id);
    // Renamed away first: from here on the container does not exist for anyone.
    const gone = join(this.containers, `.rm-${id}`);
    try {
      renameSync(p.dir, gone);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
    try {
      if (readFileSync(join(this.#names, name), 'utf8').trim() === id) rmSync(join(this.#names, name), { force: true });
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
    await removeTree(gone);
    rmSync(p.lock, { force: true });
  }

  /** leftovers lists temp and half-removed container directories (what a crash during create/remove leaves), for gc. */
  leftovers(): string[] {
    try {
      return readdirSync(this.containers).filter((n) => n.startsWith('.tmp-') || n.startsWith('.rm-')).map((n) => join(this.containers, n));
    } catch {
      return [];
    }
  }

  /** staleNames removes names whose holder no longer exists (gc). Returns them. */
  async pruneNames(): Promise<string[]> {
    return withLock(join(this.#locks, '.names'), () => {
      const out: string[] = [];
      for (const n of readdirSync(this.#names)) {
        if (this.#nameHolder(n) === undefined) {
          rmSync(join(this.#names, n), { force: true });
          out.push(n);
        }
      }
      return out;
    });
  }
}
