// The default device new tensors are created on, and runtime facts about the engine.
import { native } from './native.js';
import type { Device } from './tensor.js';

let defaultDevice: Device = process.env.RDL_DEVICE ?? 'cpu';

/** The device creation functions use when none is given ('cpu' unless RDL_DEVICE says otherwise). */
export function getDefaultDevice(): Device {
  return defaultDevice;
}
export function setDefaultDevice(device: Device): void {
  defaultDevice = device;
}

export function cudaAvailable(): boolean {
  return native().buildInfo().cudaAvailable;
}

export function engineInfo(): ReturnType<ReturnType<typeof native>['buildInfo']> & { threads: number } {
  return { ...native().buildInfo(), threads: native().getNumThreads() };
}

/** Intra-op CPU threads (libtorch); defaults to the machine's cores, or RDL_THREADS. */
export function setNumThreads(n: number): void {
  native().setNumThreads(n);
}
export function getNumThreads(): number {
  return native().getNumThreads();
}

/**
 * Runs fn with n intra-op threads for the parallel work it starts on this thread, then restores
 * the count (also when fn throws). For work that keeps a core busy itself, e.g. with background
 * jobs (async.ts): libtorch's idle pool threads spin for milliseconds after each parallel op and
 * would compete with it. Cheap (with OpenMP only this thread's team size changes), so it can wrap
 * a single fit; setNumThreads is the process-wide setting.
 */
export function withNumThreads<T>(n: number, fn: () => T): T {
  const before = getNumThreads();
  if (n === before) return fn();
  native().setThreadsHere(n);
  try {
    return fn();
  } finally {
    native().setThreadsHere(before);
  }
}

/**
 * Live native tensors and their storage bytes (views count again), tensors freed by the garbage
 * collector instead of dispose(), and the bytes the CPU allocator keeps for reuse.
 */
export function memory(): { liveTensors: number; liveBytes: number; finalizedLeaks: number; cachedCpuBytes: number } {
  return native().memory();
}

/**
 * Returns the CPU blocks (≥ 128 KiB) kept for reuse to the operating system; the bytes released.
 * rdl keeps freed large blocks so that loops reuse the same memory (native/allocator.cc); the
 * cache is bounded by RDL_CPU_CACHE_MB (default a quarter of RAM, at most 8 GiB; 0 turns it off).
 */
export function emptyCache(): number {
  return native().emptyCache?.() ?? 0;
}
