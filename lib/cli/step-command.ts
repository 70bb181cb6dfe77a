// A step's yargs command whose handler is typed by the flags its builder declares: no casts between the two.
import type { Argv, CommandModule } from 'yargs';
import { runStep, type GlobalArgs, type StepHandler } from './run-step.ts';

export interface StepCommandSpec<A extends GlobalArgs> {
  command: string | readonly string[];
  describe: string;
  /** Declares the step's flags; their types (kebab-case and camelCase) are what the handler receives. */
  builder: (y: Argv<GlobalArgs>) => Argv<A>;
  handler: StepHandler<A>;
}

export function stepCommand<A extends GlobalArgs>(spec: StepCommandSpec<A>): CommandModule<GlobalArgs, A> {
  return {
    command: spec.command,
    describe: spec.describe,
    builder: spec.builder,
    handler: runStep<A>(spec.handler),
  };
}
