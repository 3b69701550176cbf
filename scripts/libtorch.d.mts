// Types of scripts/libtorch.mjs (plain JavaScript so that setup runs before any TypeScript build).
export interface FoundLibtorch {
  source: string;
  includeDirs: string[];
  libDir: string;
  cxx11abi: number;
  cuda: boolean;
  version: string | null;
}
export const SYSTEM_PACKAGE: string;
export const HOW_TO_FIX: string;
export function findSystemLibtorch(): FoundLibtorch | null;
export function findLibtorch(env?: Record<string, string | undefined>): FoundLibtorch | null;
