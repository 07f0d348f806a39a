/**
 * The one entry point to @peculiar/x509 in the code base: import it from here, never directly.
 *
 * @peculiar/x509 depends on tsyringe, which refuses to load unless the Reflect metadata API is present; the
 * `reflect-metadata` polyfill is imported first (ES modules evaluate their imports in order).
 */
import 'reflect-metadata';

export * from '@peculiar/x509';
