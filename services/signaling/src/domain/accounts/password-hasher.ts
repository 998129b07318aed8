/** Hashes and checks passwords; the implementation picks the algorithm (argon2id). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a stored hash it cannot read. */
  verify(hash: string, password: string): Promise<boolean>;
  /** True when `hash` is not in the current algorithm and parameters: rehash it at the next successful sign-in. */
  needsRehash(hash: string): boolean;
}
