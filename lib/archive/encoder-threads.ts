// How many frame encoder threads the process's shared encoder starts: set by the step from its configuration.
import { usableCpus } from '../cpus.ts';

let configured: number | undefined;

/**
 * Sets the thread count (0 = encode on the main thread; undefined = the default) for encoders started after this
 * call. The step runner passes `encoderThreads` from the configuration (flag, STRATA_ENCODER_THREADS, file).
 */
export function configureEncoderThreads(threads: number | undefined): void {
  configured = threads;
}

/**
 * The configured count, else one per usable CPU (the container's CPU quota counts) but the main thread's, up to 4.
 * On 2 cores a second encoder thread was no faster (2.74-3.01 s vs 2.52-2.70 s for 200 MB) and took ~25 MiB more.
 */
export function encoderThreads(): number {
  return configured ?? Math.min(Math.max(usableCpus() - 1, 0), 4);
}
