import { UserInputError } from '../config/errors';
import { DeepHasher, type DeepHashingOptions } from './deep-hashing';
import { HASHER_KINDS, type Hasher, type HasherKind, type SavedHasher } from './hasher';
import { ItqHasher, LshHasher, PcahHasher, SblshHasher, type ItqOptions, type RandomProjectionOptions } from './projection-hashers';
import { SpectralHasher, type SpectralHashingOptions } from './spectral-hashing';

/** Options createHasher accepts for each kind. */
export interface HasherOptionsByKind {
  dh: DeepHashingOptions;
  'supervised-dh': DeepHashingOptions;
  lsh: RandomProjectionOptions;
  sblsh: RandomProjectionOptions;
  pcah: { codeLengthBits: number };
  itq: ItqOptions;
  sh: SpectralHashingOptions;
}

/** Builds an untrained hasher of the given kind. */
export function createHasher<K extends HasherKind>(kind: K, options: HasherOptionsByKind[K]): Hasher {
  return createConcreteHasher(kind, options);
}

function createConcreteHasher(kind: HasherKind, options: HasherOptionsByKind[HasherKind]): DeepHasher | LshHasher | SblshHasher | PcahHasher | ItqHasher | SpectralHasher {
  switch (kind) {
    case 'dh':
      return new DeepHasher({ ...options, supervised: false });
    case 'supervised-dh':
      return new DeepHasher({ ...options, supervised: true });
    case 'lsh':
      return new LshHasher(options);
    case 'sblsh':
      return new SblshHasher(options);
    case 'pcah':
      return new PcahHasher(options);
    case 'itq':
      return new ItqHasher(options);
    case 'sh':
      return new SpectralHasher(options);
    default:
      throw new UserInputError(`unknown hasher kind "${String(kind)}": expected one of ${HASHER_KINDS.join(', ')}`);
  }
}

/** Rebuilds a trained hasher from `save()` output. Its codes equal the original's bit for bit. */
export function loadHasher(saved: SavedHasher): Hasher {
  if (saved.format !== 'whorl-hasher' || saved.formatVersion !== 1) {
    throw new UserInputError(`cannot load hasher with format "${String(saved.format)}" version ${String(saved.formatVersion)}: expected whorl-hasher version 1`);
  }
  if (!(HASHER_KINDS as readonly string[]).includes(saved.kind)) {
    throw new UserInputError(`cannot load hasher of unknown kind "${String(saved.kind)}": expected one of ${HASHER_KINDS.join(', ')}`);
  }
  const hasher = createConcreteHasher(saved.kind, { codeLengthBits: saved.codeLengthBits });
  hasher.restore(saved);
  return hasher;
}

/** Serializes a trained hasher as UTF-8 JSON bytes. */
export function serializeHasher(hasher: Hasher): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(hasher.save()));
}

/** Parses bytes written by serializeHasher and rebuilds the hasher. */
export function deserializeHasher(bytes: Uint8Array): Hasher {
  let saved: SavedHasher;
  try {
    saved = JSON.parse(new TextDecoder().decode(bytes)) as SavedHasher;
  } catch (error) {
    throw new UserInputError(`saved hasher is not valid JSON (${(error as Error).message}). Pass bytes written by serializeHasher`);
  }
  if (typeof saved !== 'object' || saved === null) {
    throw new UserInputError('saved hasher JSON is not an object. Pass bytes written by serializeHasher');
  }
  return loadHasher(saved);
}
