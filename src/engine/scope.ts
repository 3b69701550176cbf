// Scoped memory, as in tfjs' engine: tensors created inside tidy(fn) are disposed when fn
// returns, except those it returns (anywhere inside arrays or plain objects) and those passed
// to keep(). Explicit dispose() (or `using`) stays the primary way to free memory; the
// garbage-collector finalizer in the addon is only a backstop.

/** What a scope needs of a tensor; the Tensor class implements it. */
export interface Scoped {
  dispose(): void;
  readonly isDisposed: boolean;
}

const scopes: Set<Scoped>[] = [];
const kept = new WeakSet<Scoped>();

/** Called by every new tensor: the innermost open scope owns it. */
export function track(t: Scoped): void {
  const scope = scopes[scopes.length - 1];
  if (scope !== undefined) scope.add(t);
}

/** Takes a tensor out of every scope: it lives until disposed explicitly. */
export function keep<T extends Scoped>(t: T): T {
  kept.add(t);
  for (const s of scopes) s.delete(t);
  return t;
}

function collect(value: unknown, into: Set<Scoped>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isScoped(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, into, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, into, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into, seen);
  }
}

function isScoped(v: object): v is Scoped {
  return typeof (v as Scoped).dispose === 'function' && 'isDisposed' in v;
}

/**
 * Runs fn and disposes every tensor it created, except what it returns. fn must be
 * synchronous: an async fn's tensors would outlive the scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Scoped>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    throw new Error('tidy() takes a synchronous function; dispose tensors of async work explicitly');
  }
  const returned = new Set<Scoped>();
  collect(result, returned, new Set());
  const outer = scopes[scopes.length - 1];
  for (const t of scope) {
    if (returned.has(t)) {
      if (outer !== undefined && !kept.has(t)) outer.add(t);
    } else if (!kept.has(t)) {
      t.dispose();
    }
  }
  return result;
}

/** Disposes every tensor found in value (a tensor, or arrays/objects holding tensors). */
export function dispose(value: unknown): void {
  const found = new Set<Scoped>();
  collect(value, found, new Set());
  for (const t of found) t.dispose();
}
