// `rdl models [--json]`: the networks rdl knows, at the reference's configuration, with their
// trainable parameter counts (equal to the Keras originals').
import type { Command } from 'commander';
import { createModel, REFERENCE_MODELS } from '../../models/registry.js';
import { applyGlobalOptions } from '../options.js';

export interface ModelListing {
  name: string;
  parameters: number;
  architecture: string;
  description: string;
  config: object;
}

export function listModels(): ModelListing[] {
  return REFERENCE_MODELS.map((r) => {
    const m = createModel(r.architecture, r.config, { seed: 0 });
    const parameters = m.parameterCount();
    m.dispose();
    return { name: r.name, parameters, architecture: r.architecture, description: r.description, config: r.config };
  });
}

export function registerModels(program: Command): void {
  program
    .command('models')
    .description('list the networks (reference configurations) with their trainable parameter counts')
    .option('--json', 'print a JSON array of {name, parameters, architecture, description, config}')
    .action((opts: { json?: boolean }) => {
      applyGlobalOptions(program);
      const list = listModels();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      for (const m of list) {
        process.stdout.write(
          `${m.name.padEnd(18)} ${m.parameters.toLocaleString('en-US').padStart(10)}  ${m.description}\n`,
        );
      }
    });
}
