import { describe, expect, it } from 'vitest';
import { InvalidToken } from './invalid-token.js';

describe('InvalidToken', () => {
  it('names a wrong encryption context among its causes, in its one message', () => {
    const error = new InvalidToken();
    expect(error.message).toBe(
      'Invalid token: it is malformed, was tampered with, has expired, or was made with another key or another encryption context',
    );
    expect(new InvalidToken().message).toBe(error.message);
    expect(error.code).toBe('InvalidToken');
    expect(error.cause).toBeUndefined();
  });
});
