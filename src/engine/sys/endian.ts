// The host's byte order, for files that hold raw float32 in little-endian order (weights blob, checkpoints, .npy).

import os from 'node:os';

/** True on little-endian hosts (x86, ARM as run today): raw float32 bytes can then be copied, not converted. */
export const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';
