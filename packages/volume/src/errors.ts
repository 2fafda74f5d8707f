import { NotFoundError, StratumError } from '@stratum/oci';

/**
 * VolumeError is the base of the errors this package throws on purpose (syscall failures stay
 * `ErrnoError`s of @stratum/native, with their path). Match `code` or `instanceof`.
 */
export class VolumeError extends StratumError {}

/**
 * InvalidVolumeSpecError: a `-v`, `--mount` or `--tmpfs` string, or a spec object, breaks the
 * syntax or the rules of its kind. `input` is what was given (the string, or the spec's target),
 * `field` the part at fault (`mode`, `target`, `source`, `tmpfs-size` …), `reason` a sentence.
 * Nothing has been created when it is thrown (code `INVALID_VOLUME_SPEC`).
 */
export class InvalidVolumeSpecError extends VolumeError {
  readonly input: string;
  readonly field: string;
  readonly reason: string;
  constructor(input: string, field: string, reason: string) {
    super('INVALID_VOLUME_SPEC', `invalid volume specification ${JSON.stringify(input)}: ${reason}`);
    this.input = input;
    this.field = field;
    this.reason = reason;
  }
}

/**
 * InvalidVolumeNameError: a volume name is not `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (Docker's rule for
 * the local driver), so it cannot name a directory of the store (code `INVALID_VOLUME_NAME`).
 */
export class InvalidVolumeNameError extends VolumeError {
  /** The rejected name. */
  readonly volume: string;
  constructor(name: string) {
    super(
      'INVALID_VOLUME_NAME',
      `${JSON.stringify(name)} includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`,
    );
    this.volume = name;
  }
}

/**
 * InvalidVolumeOptionError: a driver or driver option the local driver does not know, or a
 * `type` without `device` (code `INVALID_VOLUME_OPTION`). `option` names the key.
 */
export class InvalidVolumeOptionError extends VolumeError {
  readonly option: string;
  readonly reason: string;
  constructor(option: string, reason: string) {
    super('INVALID_VOLUME_OPTION', `volume option ${JSON.stringify(option)}: ${reason}`);
    this.option = option;
    this.reason = reason;
  }
}

/** VolumeNotFoundError: no volume of that name in the store (code `NOT_FOUND`, an @stratum/oci NotFoundError). */
export class VolumeNotFoundError extends NotFoundError {
  readonly volume: string;
  constructor(volume: string) {
    super(`volume ${volume}`, `no such volume: ${volume}`);
    this.volume = volume;
  }
}

/**
 * VolumeInUseError: `remove` refused a volume that containers still use (`users` are their
 * ids), as `docker volume rm` does (code `VOLUME_IN_USE`). The volume is untouched.
 */
export class VolumeInUseError extends VolumeError {
  readonly volume: string;
  readonly users: readonly string[];
  constructor(volume: string, users: readonly string[]) {
    super('VOLUME_IN_USE', `volume ${volume} is in use by ${users.length === 1 ? 'container' : 'containers'} ${users.join(', ')}`);
    this.volume = volume;
    this.users = users;
  }
}

/**
 * VolumeConflictError: `create` of a name that exists with another driver (code
 * `VOLUME_CONFLICT`). An existing volume of the same driver is returned instead, as Docker does.
 */
export class VolumeConflictError extends VolumeError {
  readonly volume: string;
  readonly existingDriver: string;
  readonly requestedDriver: string;
  constructor(volume: string, existingDriver: string, requestedDriver: string) {
    super('VOLUME_CONFLICT', `volume ${volume} already exists with driver ${existingDriver}, not ${requestedDriver}`);
    this.volume = volume;
    this.existingDriver = existingDriver;
    this.requestedDriver = requestedDriver;
  }
}

/**
 * DuplicateMountPointError: two explicit volume specs of one container name the same container
 * path (`docker run -v a:/d -v b:/d`: "Duplicate mount point"; code `DUPLICATE_MOUNT_POINT`).
 * Specs inherited through volumes-from or declared by the image give way silently instead.
 */
export class DuplicateMountPointError extends VolumeError {
  readonly destination: string;
  constructor(destination: string) {
    super('DUPLICATE_MOUNT_POINT', `duplicate mount point: ${destination}`);
    this.destination = destination;
  }
}

/**
 * BindSourceNotFoundError: the host path of a bind mount does not exist (`--mount type=bind`
 * refuses it; `-v` creates it instead, see `BindSpec.createHostPath`; code `BIND_SOURCE_NOT_FOUND`).
 */
export class BindSourceNotFoundError extends VolumeError {
  readonly source: string;
  constructor(source: string) {
    super('BIND_SOURCE_NOT_FOUND', `bind source path does not exist: ${source}`);
    this.source = source;
  }
}

/**
 * InvalidContainerIdError: the id a volume user is recorded under is not `[a-zA-Z0-9_.-]{1,128}`
 * (code `INVALID_CONTAINER_ID`).
 */
export class InvalidContainerIdError extends VolumeError {
  readonly id: string;
  constructor(id: string) {
    super('INVALID_CONTAINER_ID', `invalid container id ${JSON.stringify(id)}: expected 1 to 128 of [a-zA-Z0-9_.-]`);
    this.id = id;
  }
}

/**
 * SourceChangedError: an entry of the image changed type or inode between the moment copy-up
 * looked at it and the moment it opened it (someone is modifying the rootfs concurrently). The
 * copy was undone; the volume is as it was (code `SOURCE_CHANGED`).
 */
export class SourceChangedError extends VolumeError {
  readonly path: string;
  constructor(path: string) {
    super('SOURCE_CHANGED', `copy-up: ${path} changed while it was being copied`);
    this.path = path;
  }
}
