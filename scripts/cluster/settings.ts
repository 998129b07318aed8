/** The variables of `env` named in `names`, less `except`, with a value. */
export function settingsFrom(
  env: NodeJS.ProcessEnv,
  names: readonly string[],
  except: ReadonlySet<string>,
): Record<string, string> {
  return Object.fromEntries(
    names.flatMap((name) => {
      const value = env[name];
      return value && !except.has(name) ? [[name, value]] : [];
    }),
  );
}
