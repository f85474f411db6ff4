/**
 * A token given as it is (method `token`). It is looked up once
 * (`auth/token/lookup-self`) to learn its lease: a renewable one is renewed,
 * any other is used as it is; it is never revoked by us (see session.ts).
 */
export interface TokenAuth {
  readonly method: 'token';
  readonly token: string;
}
