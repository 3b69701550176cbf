// Progress of long jobs on stderr: a bar (cli-progress) on a terminal, plain lines otherwise (a
// log file or CI), at most one every few seconds plus one per validation.
import { SingleBar } from 'cli-progress';
import type { TrainEvent } from '../train/trainer.js';

/** Seconds between plain progress lines when stderr is not a terminal. */
const PLAIN_EVERY_S = 10;

function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`;
}

export class TrainProgress {
  readonly #tty = process.stderr.isTTY === true;
  #bar: SingleBar | null = null;
  #lastPlain = 0;
  #lastVal = '–';

  handle(e: TrainEvent): void {
    if (e.kind === 'message') {
      this.#line(e.text);
      return;
    }
    if (e.kind === 'validation') {
      const r = e.record;
      this.#lastVal = `PSNR ${r.psnr.toFixed(2)} dB, SSIM ${r.ssim.toFixed(3)}, NRMSE ${r.nrmse.toFixed(4)}${e.best ? ' (best)' : ''}`;
      this.#line(`validation at iteration ${r.iteration}: ${this.#lastVal}`);
      return;
    }
    const fields = {
      loss: e.loss.toPrecision(4),
      rate: e.itPerSec.toFixed(2),
      eta: duration(e.etaS),
      val: this.#lastVal,
    };
    if (this.#tty) {
      if (this.#bar === null) {
        this.#bar = new SingleBar({
          format: 'iteration {value}/{total} |{bar}| loss {loss} · {rate} it/s · ETA {eta} · last validation: {val}',
          hideCursor: true,
          clearOnComplete: false,
        });
        this.#bar.start(e.total, e.iteration, fields);
      } else this.#bar.update(e.iteration, fields);
      return;
    }
    const now = performance.now() / 1000;
    if (now - this.#lastPlain >= PLAIN_EVERY_S || e.iteration === e.total) {
      this.#lastPlain = now;
      process.stderr.write(
        `iteration ${e.iteration}/${e.total}  loss ${fields.loss}  ${fields.rate} it/s  ETA ${fields.eta}  last validation: ${fields.val}\n`,
      );
    }
  }

  #line(text: string): void {
    if (this.#bar !== null) {
      // Above the bar: cli-progress redraws it on the next update.
      process.stderr.write(`\r\x1b[K${text}\n`);
    } else process.stderr.write(`${text}\n`);
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = null;
  }
}

/** Progress through the items of a job (cycles of a time-lapse): a bar on a terminal, plain lines otherwise. */
export class ItemProgress {
  readonly #tty = process.stderr.isTTY === true;
  readonly #t0 = performance.now();
  #bar: SingleBar | null = null;
  #lastPlain = 0;

  constructor(readonly unit: string) {}

  update(done: number, total: number): void {
    const s = (performance.now() - this.#t0) / 1000;
    const rate = done / s;
    const fields = { rate: rate.toFixed(2), eta: duration((total - done) / rate) };
    if (this.#tty) {
      if (this.#bar === null) {
        this.#bar = new SingleBar({
          format: `${this.unit} {value}/{total} |{bar}| {rate} ${this.unit}s/s · ETA {eta}`,
          hideCursor: true,
          clearOnComplete: false,
        });
        this.#bar.start(total, done, fields);
      } else this.#bar.update(done, fields);
      return;
    }
    const now = performance.now() / 1000;
    if (now - this.#lastPlain >= PLAIN_EVERY_S || done === total) {
      this.#lastPlain = now;
      process.stderr.write(`${this.unit} ${done}/${total}  ${fields.rate} ${this.unit}s/s  ETA ${fields.eta}\n`);
    }
  }

  /** A line above the bar. */
  line(text: string): void {
    if (this.#bar !== null) process.stderr.write(`\r\x1b[K${text}\n`);
    else process.stderr.write(`${text}\n`);
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = null;
  }
}
