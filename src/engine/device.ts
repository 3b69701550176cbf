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

/** Live native tensors and their storage bytes (views count again), for leak checks. */
export function memory(): { liveTensors: number; liveBytes: number; finalizedLeaks: number } {
  return native().memory();
}
