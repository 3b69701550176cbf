// The reference's 1D hill climb (CalModamp_2DSIM.fitk0andmodamps), written as generators so a
// driver can interleave the candidates of several orientations. A generator yields
// the next candidate coordinate and receives |modamp| there. The step sequence is the
// reference's exactly (same comparisons, same accumulation x ← x ± step), so the same values give
// the same three points and the same parabola.

/** Outcome of one walk: the parabola peak, and whether it had to fall back (see below). */
export interface WalkResult {
  peak: number;
  /** Evaluations made. */
  evaluations: number;
  /** Set when the three points gave no parabola (reference: returns 0) or the start was a tie. */
  degenerate: string | null;
}

/**
 * Walks from x0 in steps of `step` while |modamp| increases: first compares x0 with x0 + step; if
 * that is not an increase, walks downward from x0. Fits a parabola through the last three points.
 */
export function* walk(x0: number, step: number): Generator<number, WalkResult, number> {
  let evaluations = 0;
  const at = function* (x: number): Generator<number, number, number> {
    evaluations++;
    return yield x;
  };
  let x2 = x0;
  let a2 = yield* at(x0);
  let x = x0 + step;
  let x3 = x;
  let a3 = yield* at(x3);
  let x1 = Number.NaN;
  let a1 = Number.NaN;
  let dir = step;
  if (!(a3 > a2)) {
    // Walk down from x0: the roles of the two first points swap.
    x = x0;
    [a2, a3] = [a3, a2];
    [x2, x3] = [x3, x2];
    dir = -step;
  }
  while (a3 > a2) {
    a1 = a2;
    x1 = x2;
    a2 = a3;
    x2 = x3;
    x = x + dir;
    x3 = x;
    a3 = yield* at(x3);
  }
  if (Number.isNaN(x1)) {
    // An exact tie between the first two values: the reference would reuse stale points. Keep
    // the start, and say so.
    return { peak: x0, evaluations, degenerate: 'flat start (|modamp| equal at the first two candidates)' };
  }
  const fit = parabolaPeak(x1, a1, x2, a2, x3, a3);
  return fit === null
    ? { peak: x2, evaluations, degenerate: 'no parabola through the last three points; kept the best sample' }
    : { peak: fit, evaluations, degenerate: null };
}

/**
 * Abscissa of the vertex of the parabola through three points (reference fitxyparabola), or null
 * where the reference prints a failure and returns 0 (two equal abscissae, or no curvature).
 */
export function parabolaPeak(x1: number, y1: number, x2: number, y2: number, x3: number, y3: number): number | null {
  if (x1 === x2 || x2 === x3 || x3 === x1) return null;
  const xbar1 = 0.5 * (x1 + x2);
  const xbar2 = 0.5 * (x2 + x3);
  const slope1 = (y2 - y1) / (x2 - x1);
  const slope2 = (y3 - y2) / (x3 - x2);
  const curve = (slope2 - slope1) / (xbar2 - xbar1);
  if (curve === 0 || !Number.isFinite(curve)) return null;
  return xbar2 - slope2 / curve;
}

/** A candidate pattern vector in polar form: angle atan2(ky, kx) (rad), magnitude (cycles/µm). */
export interface Candidate {
  angleRad: number;
  magnitudePerUm: number;
}

/** What an orientation's search reports. */
export interface SearchResult {
  angleRad: number;
  magnitudePerUm: number;
  /** modamp at the final (angle, magnitude). */
  modamp: [number, number];
  evaluations: number;
  /** Non-null when a walk was degenerate (see WalkResult). */
  degenerate: string | null;
}

/** A complex modamp as the driver returns it. */
export type Modamp = [number, number];

/**
 * The full search of one orientation: angle walk at the start magnitude, magnitude walk at the
 * fitted angle (restarting from the start magnitude), then one final evaluation.
 */
export function* searchOrientation(
  start: Candidate,
  angleStepRad: number,
  magnitudeStepPerUm: number,
): Generator<Candidate, SearchResult, Modamp> {
  let last: Modamp = [0, 0];
  const abs = function* (c: Candidate): Generator<Candidate, number, Modamp> {
    last = yield c;
    return Math.hypot(last[0], last[1]);
  };
  const angleWalk = walk(start.angleRad, angleStepRad);
  let step = angleWalk.next();
  while (!step.done) step = angleWalk.next(yield* abs({ angleRad: step.value, magnitudePerUm: start.magnitudePerUm }));
  const angle = step.value;
  const magWalk = walk(start.magnitudePerUm, magnitudeStepPerUm);
  let m = magWalk.next();
  while (!m.done) m = magWalk.next(yield* abs({ angleRad: angle.peak, magnitudePerUm: m.value }));
  const mag = m.value;
  yield* abs({ angleRad: angle.peak, magnitudePerUm: mag.peak });
  return {
    angleRad: angle.peak,
    magnitudePerUm: mag.peak,
    modamp: last,
    evaluations: angle.evaluations + mag.evaluations + 1,
    degenerate: angle.degenerate ?? mag.degenerate,
  };
}

/** A candidate's modamp being computed (overlap-spectral.ts); wait() takes it, once. */
export interface PendingModamp {
  wait(): Modamp;
}

/**
 * Runs several searches side by side: every search's first candidate is started, then, in the
 * order they were started, each result is taken and handed to its search, whose next candidate
 * is started at once. So while one candidate's products run in the background (overlap-spectral.ts)
 * the host prepares another search's; each search sees exactly the values it would alone.
 */
export function runSearches<T>(
  searches: Generator<Candidate, T, Modamp>[],
  start: (index: number, candidate: Candidate) => PendingModamp,
): T[] {
  const results: (T | undefined)[] = new Array(searches.length);
  const queue: { index: number; pending: PendingModamp }[] = [];
  const advance = (index: number, r: IteratorResult<Candidate, T>) => {
    if (r.done) results[index] = r.value;
    else queue.push({ index, pending: start(index, r.value) });
  };
  searches.forEach((g, i) => {
    advance(i, g.next());
  });
  for (let job = queue.shift(); job; job = queue.shift()) {
    const value = job.pending.wait();
    advance(job.index, (searches[job.index] as Generator<Candidate, T, Modamp>).next(value));
  }
  return results as T[];
}
