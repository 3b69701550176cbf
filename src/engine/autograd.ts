import { native } from './native.js';

/** Runs fn with gradient recording off (inference, parameter updates), then restores it. */
export function noGrad<T>(fn: () => T): T {
  const previous = native().setGradEnabled(false);
  try {
    return fn();
  } finally {
    native().setGradEnabled(previous);
  }
}

export function isGradEnabled(): boolean {
  return native().isGradEnabled();
}
