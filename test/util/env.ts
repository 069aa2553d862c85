/**
 * Environment variables set for a while in this test process: drbdadm and drbdmeta run
 * in-process in many tests, and read their run and lib directories from the environment.
 *
 * @module
 */

/** Sets `vars`; the returned function puts back what each held before (or unsets it). */
export function setEnv(vars: Record<string, string>): () => void {
  const saved = Object.keys(vars).map((name) => [name, Deno.env.get(name)] as const);
  for (const [name, value] of Object.entries(vars)) Deno.env.set(name, value);
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  };
}
