/**
 * Authentication primitives shared by the service API, the ingest gateway and provisioning: SAS tokens, connection
 * strings, service-request authentication, X.509 helpers and CA certificates (iothub-wire.md §1, DESIGN §7).
 */
export { PERMISSIONS, DEFAULT_POLICIES, hasPermission, type Permission, type SharedAccessPolicy } from './policies.ts';
export {
  strictUriEncode,
  createSasToken,
  parseSasToken,
  verifySasToken,
  resourceCovers,
  deviceResourceUri,
  type CreateSasTokenOptions,
  type ParsedSasToken,
} from './sas.ts';
export {
  parseConnectionString,
  parseServiceConnectionString,
  serviceConnectionString,
  deviceConnectionString,
  generateSymmetricKey,
  type ServiceConnectionString,
} from './connection-string.ts';
export { authenticateServiceRequest, type AuthenticateServiceRequestOptions } from './service-auth.ts';
export {
  certificateThumbprint,
  certificateCommonName,
  certificateSubject,
  certificateExpiry,
  isCaCertificate,
  normalizeCertificatePem,
  splitPemBundle,
  verifyCertificateChain,
} from './x509.ts';
export {
  CaCertificateStore,
  type CertificateDescription,
  type CertificateProperties,
  type CertificateWithNonceDescription,
} from './ca-certificates.ts';
