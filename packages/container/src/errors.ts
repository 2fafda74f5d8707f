import { StratumError } from '@stratum/oci';

/** ContainerError: the base of the errors this package throws on purpose; `code` is stable. */
export class ContainerError extends StratumError {}

/** ContainerNotFoundError: no container has this name, id or unique id prefix (`docker: No such container`). */
export class ContainerNotFoundError extends ContainerError {
  /** What was looked up. */
  readonly ref: string;
  constructor(ref: string) {
    super('CONTAINER_NOT_FOUND', `no such container: ${ref}`);
    this.ref = ref;
  }
}

/** AmbiguousContainerError: an id prefix matches more than one container. */
export class AmbiguousContainerError extends ContainerError {
  readonly ref: string;
  readonly matches: string[];
  constructor(ref: string, matches: string[]) {
    super('CONTAINER_AMBIGUOUS', `container id prefix ${ref} matches ${matches.length} containers`);
    this.ref = ref;
    this.matches = matches;
  }
}

/** NameConflictError: the name is already used by another container (`docker run --name` twice). */
export class NameConflictError extends ContainerError {
  /** The name asked for. */
  readonly containerName: string;
  /** The id of the container holding the name. */
  readonly holder: string;
  constructor(name: string, holder: string) {
    super('CONTAINER_NAME_CONFLICT', `the container name "/${name}" is already in use by container ${holder}`);
    this.containerName = name;
    this.holder = holder;
  }
}

/** ContainerStateError: the operation needs another state (`exec` on a stopped container, `remove` of a running one without force …). */
export class ContainerStateError extends ContainerError {
  readonly id: string;
  /** The container's status when the operation was refused. */
  readonly status: string;
  /** The operation refused. */
  readonly operation: string;
  constructor(id: string, operation: string, status: string, hint?: string) {
    super('CONTAINER_STATE', `cannot ${operation} container ${id.slice(0, 12)}: it is ${status}${hint ? ` (${hint})` : ''}`);
    this.id = id;
    this.status = status;
    this.operation = operation;
  }
}

/** NoCommandError: neither the spec nor the image gives a command to run (`docker: No command specified`). */
export class NoCommandError extends ContainerError {
  constructor() {
    super('NO_COMMAND', 'no command specified: the image has no Cmd or Entrypoint and none was given');
  }
}

/** UserNotFoundError: `user` names a user or group the container's /etc/passwd or /etc/group does not have. */
export class UserNotFoundError extends ContainerError {
  /** The `user` value as given. */
  readonly user: string;
  /** Which database lacked the entry. */
  readonly database: 'passwd' | 'group';
  /** The name that was not found. */
  readonly entry: string;
  constructor(user: string, database: 'passwd' | 'group', entry: string) {
    super('USER_NOT_FOUND', `unable to find ${database === 'passwd' ? 'user' : 'group'} ${entry}: no matching entries in ${database} file (user ${JSON.stringify(user)})`);
    this.user = user;
    this.database = database;
    this.entry = entry;
  }
}

/** ImageUnavailableError: the image is not in the store and could not be pulled. */
export class ImageUnavailableError extends ContainerError {
  readonly ref: string;
  readonly reason: string;
  constructor(ref: string, reason: string, options?: { cause?: unknown }) {
    super('IMAGE_UNAVAILABLE', `image ${ref} is not in the store and could not be pulled: ${reason}`, options);
    this.ref = ref;
    this.reason = reason;
  }
}

/** MonitorError: the detached monitor process failed before the container started. */
export class MonitorError extends ContainerError {
  readonly id: string;
  constructor(id: string, message: string, options?: { cause?: unknown }) {
    super('MONITOR_FAILED', `container ${id.slice(0, 12)}: ${message}`, options);
    this.id = id;
  }
}

/** FeatureUnavailableError: something the spec asks for that this host (or an unprivileged caller) cannot do; `feature` names it, `reason` says why. */
export class FeatureUnavailableError extends ContainerError {
  readonly feature: string;
  readonly reason: string;
  constructor(feature: string, reason: string) {
    super('FEATURE_UNAVAILABLE', `${feature} is not available here: ${reason}`);
    this.feature = feature;
    this.reason = reason;
  }
}

/** WaitTimeoutError: waiting for a log line, a port or a state ran out of time. */
export class WaitTimeoutError extends ContainerError {
  readonly id: string;
  /** What was waited for. */
  readonly waitingFor: string;
  readonly timeout: number;
  constructor(id: string, waitingFor: string, timeout: number) {
    super('WAIT_TIMEOUT', `container ${id.slice(0, 12)}: ${waitingFor} did not happen within ${timeout} ms`);
    this.id = id;
    this.waitingFor = waitingFor;
    this.timeout = timeout;
  }
}

/** CommitError: the layer of a commit could not be made (a rootless commit's layer process failed); `reason` says why. */
export class CommitError extends ContainerError {
  readonly reason: string;
  constructor(reason: string, options?: { cause?: unknown }) {
    super('COMMIT_FAILED', `commit failed: ${reason}`, options);
    this.reason = reason;
  }
}
