/**
 * A process-wide slot for the one implementation the registry plugs into an exchange seam at start-up
 * (src/sharing/install.ts). `register` returns a function that removes it again.
 */
export function seam<T>(what: string) {
  let current: T | undefined;
  return {
    register(impl: T): () => void {
      if (current) throw new Error(`${what} is already registered`);
      current = impl;
      return () => {
        if (current === impl) current = undefined;
      };
    },
    get: (): T | undefined => current,
  };
}
