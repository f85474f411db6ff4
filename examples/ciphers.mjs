// The ciphers on their own (the README's first command runs it after the keystore flow): Fernet, rotation, RSA-OAEP.
import { Fernet, MultiFernet, RsaOaep } from '@keystore/core';

const text = (bytes) => new TextDecoder().decode(bytes);

// 1. A Fernet key, an encrypted record, and back.
const key = Fernet.generateKey();
const fernet = new Fernet(key);
const token = fernet.encrypt('patient 4711: blood type AB+');
console.log('fernet token      ', `${token.slice(0, 32)}... (${token.length} chars)`);
console.log('decrypted         ', text(fernet.decrypt(token, { ttl: 60 })));

// 2. Rotation: a new key first, the old one kept for reading; rotate() moves tokens forward.
const newFernet = new Fernet(Fernet.generateKey());
const keyring = new MultiFernet([newFernet, fernet]);
const rotated = keyring.rotate(token);
console.log('rotated, readable with the new key alone:', text(newFernet.decrypt(rotated)));
console.log('timestamp kept    ', fernet.extractTimestamp(token) === newFernet.extractTimestamp(rotated));

// 3. RSA-OAEP (SHA-256): the front end holds the public key, the server the private one.
const pair = RsaOaep.generateKeyPair({ modulusLength: 2048 });
const server = new RsaOaep(pair);
const browser = new RsaOaep({ publicKey: server.exportPublicKey('pem') });
const sealed = browser.encrypt('card 4111-1111-1111-1111');
console.log('rsa-oaep          ', `${sealed.length} bytes ->`, text(server.decrypt(sealed)));

// Larger than one OAEP block: the hybrid mode (RSA-OAEP wraps a fresh AES-256-GCM key).
const large = new Uint8Array(100_000).fill(42);
const hybrid = browser.encrypt(large);
console.log(
  'rsa-oaep hybrid   ',
  `${large.length} bytes -> ${hybrid.length} bytes, round trip ok:`,
  server.decrypt(hybrid).length === large.length,
);
