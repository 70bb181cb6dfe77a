// The pipeline's public surface: selection (assess), batching, watermark and finalize rules.
export * from './workflow-state.ts';
export * from './watermark.ts';
export * from './batches.ts';
export * from './assess.ts';
export * from './finalize.ts';
