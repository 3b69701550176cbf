// The vocabulary of image stacks shared by the readers (stack.ts, stack-reader.ts) and the
// writers (stack-writer.ts), in a file of its own so that neither imports the other for it.
import type { MrcData } from './mrc.js';
import type { TiffData } from './tiff.js';

export type StackFormat = 'mrc' | 'tiff';
export type StackDtype = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'complex64';
export type StackData = MrcData | TiffData;
