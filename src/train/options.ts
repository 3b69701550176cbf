// The options every training command shares, one schema (zod) for the config file (JSON or YAML)
// and the command line alike: the file is validated first, then the flags given on the command
// line override its fields. Errors name the file and the field.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputFileError, ParameterError } from '../errors.js';

export const TRAIN_OPTIONS = z
  .object({
    /** Iterations in total (a resumed run continues up to this count). */
    iterations: z.number().int().min(1),
    /** Stop, saving, after this many minutes of training (null: no limit). */
    timeLimitMinutes: z.number().positive().nullable(),
    batchSize: z.number().int().min(1),
    /** Square patch side cut from each sample, px of the input (null: the whole sample). */
    patch: z.number().int().min(16).nullable(),
    lr: z.number().positive(),
    validateEvery: z.number().int().min(1),
    validateNum: z.number().int().min(1),
    preset: z.enum(['reference', 'small']),
    seed: z.number().int().min(0),
    device: z.string().min(1),
    /** Start from these weights: a model folder or a reference Keras .h5 (null: random init). */
    init: z.string().min(1).nullable(),
    /** Reduce-LR-on-plateau: factor, patience (validations), min delta. */
    lrFactor: z.number().gt(0).lt(1),
    patience: z.number().int().min(1),
    minDelta: z.number().min(0),
    /** The learning rate's floor (null: the module's reference rule, from lr). */
    minLr: z.number().min(0).nullable(),
  })
  .strict();

export type TrainOptions = z.infer<typeof TRAIN_OPTIONS>;

/** Parses a config file: JSON by default, YAML for .yaml/.yml; any subset of the training options. */
export function readConfigFile(path: string, schema: z.ZodObject = TRAIN_OPTIONS): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputFileError(path, `cannot read the config file (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  let raw: unknown;
  try {
    raw = ['.yaml', '.yml'].includes(extname(path).toLowerCase()) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new InputFileError(
      path,
      `not valid ${extname(path).toLowerCase().startsWith('.y') ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputFileError(path, 'expected an object of training options (e.g. {"iterations": 1000})');
  }
  const r = schema.partial().safeParse(raw);
  if (!r.success) throw new InputFileError(path, describeIssue(r.error));
  return r.data as Record<string, unknown>;
}

function describeIssue(e: z.ZodError): string {
  const i = e.issues[0];
  if (i === undefined) return 'invalid';
  const field = i.path.join('.');
  if (i.code === 'unrecognized_keys') return `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
  return `field ${field || '(root)'}: ${i.message}`;
}

/** Defaults < config file < command line; the result validated as a whole (errors name the option). */
export function resolveOptions<T extends z.ZodObject>(
  schema: T,
  defaults: z.infer<T>,
  file: Record<string, unknown>,
  cli: Record<string, unknown>,
): z.infer<T> {
  const merged = { ...defaults, ...file, ...cli };
  const r = schema.safeParse(merged);
  if (!r.success) {
    const i = r.error.issues[0] as z.core.$ZodIssue;
    const field = String(i.path[0] ?? '');
    const from = field in cli ? `--${kebab(field)}` : `config field ${field}`;
    throw new ParameterError(from, i.message, (merged as Record<string, unknown>)[field]);
  }
  return r.data;
}

export function kebab(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
