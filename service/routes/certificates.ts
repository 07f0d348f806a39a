import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { TributaryError } from '../../core/errors/index.ts';
import type { CaCertificateStore } from '../../core/auth/index.ts';
import { ifMatchOf, quote } from './devices.ts';

const NameParams = Type.Object({ name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }) });
const PutBody = Type.Object(
  { properties: Type.Object({ certificate: Type.String({ minLength: 1, description: 'PEM or base64 DER of the CA certificate.' }) }, { additionalProperties: true }) },
  { additionalProperties: true },
);
const VerifyBody = Type.Object({ certificate: Type.String({ minLength: 1, description: 'PEM of a certificate with CN = the verification code, signed by the CA key.' }) }, { additionalProperties: true });

/**
 * CA certificates for X.509 CA-signed devices, in IoT Hub's shapes and with its proof-of-possession flow: upload
 * (unverified) → generateVerificationCode → verify with a certificate whose CN is the code, signed by the CA's key.
 * In IoT Hub these live in the management plane; here they share the service API and its policies.
 */
export const certificateRoutes: FastifyPluginAsync<{ certificates: CaCertificateStore }> = async (app, { certificates }) => {
  const requireIfMatch = (header: string | string[] | undefined): string => {
    const value = ifMatchOf(header);
    if (!value) throw new TributaryError('PreconditionFailed', 'this operation needs an If-Match header with the certificate etag (or *)');
    return value;
  };

  app.put<{ Params: { name: string }; Body: { properties: { certificate: string } } }>(
    '/certificates/:name',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['certificates'], summary: 'Upload a CA certificate (unverified)', params: NameParams, body: PutBody } },
    async (request, reply) => {
      const ifMatch = ifMatchOf(request.headers['if-match']);
      const cert = await certificates.add(request.params.name, request.body.properties.certificate, ifMatch ? { ifMatch } : {});
      return reply.header('etag', quote(cert.etag)).send(cert);
    },
  );

  app.get<{ Params: { name: string } }>(
    '/certificates/:name',
    { config: { permission: 'RegistryRead' }, schema: { tags: ['certificates'], summary: 'Get a CA certificate', params: NameParams } },
    async (request) => certificates.get(request.params.name),
  );

  app.get(
    '/certificates',
    { config: { permission: 'RegistryRead' }, schema: { tags: ['certificates'], summary: 'List CA certificates' } },
    async () => ({ value: await certificates.list() }),
  );

  app.delete<{ Params: { name: string } }>(
    '/certificates/:name',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['certificates'], summary: 'Delete a CA certificate', params: NameParams } },
    async (request, reply) => {
      await certificates.delete(request.params.name, requireIfMatch(request.headers['if-match']));
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { name: string } }>(
    '/certificates/:name/generateVerificationCode',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['certificates'], summary: 'Issue a proof-of-possession verification code', params: NameParams } },
    async (request) => certificates.generateVerificationCode(request.params.name, requireIfMatch(request.headers['if-match'])),
  );

  app.post<{ Params: { name: string }; Body: { certificate: string } }>(
    '/certificates/:name/verify',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['certificates'], summary: 'Verify possession of the CA key', params: NameParams, body: VerifyBody } },
    async (request) => certificates.verify(request.params.name, requireIfMatch(request.headers['if-match']), request.body.certificate),
  );
};
