// A promise a test opens when it chooses: holds a job, a runner or a request at a known point.
export function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}
