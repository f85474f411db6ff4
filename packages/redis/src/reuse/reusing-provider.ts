import type { KeyProvider } from '@keystore/core/provider';
import type { EventLoopTurns } from '../cache/event-loop-turns.js';
import type { DataKeyReuse } from './data-key-reuse.js';

/**
 * `provider` with `generateDataKey` answered through `reuse`; everything
 * else as it is. A provider without `generateDataKey` (the guard then wraps
 * a random key per message) is returned unchanged: nothing to reuse.
 *
 * A Proxy, as for the caching provider: a copy would lose the material-store
 * symbol and a class provider's private fields.
 */
export function reusingDataKeys<P extends KeyProvider>(
  provider: P,
  reuse: DataKeyReuse,
  turns?: EventLoopTurns,
): P {
  const generate = provider.generateDataKey?.bind(provider);
  if (generate === undefined) return provider;
  const generateDataKey: KeyProvider['generateDataKey'] = async (input) => {
    // A reused key is handed out without I/O: in a long run of them, let a rotation's message in first.
    if (turns?.needsTurn()) await turns.turn();
    return reuse.generateDataKey(input, () => generate(input));
  };
  return new Proxy(provider, {
    get(target, property) {
      if (property === 'generateDataKey') return generateDataKey;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
