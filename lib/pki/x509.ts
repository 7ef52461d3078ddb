/** @peculiar/x509, ready to use: its Reflect metadata needs met and Node's WebCrypto as its crypto provider. */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
