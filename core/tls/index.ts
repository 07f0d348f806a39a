export {
  createCertificateAuthority,
  createSelfSignedCertificate,
  issueCertificate,
  subjectAltNames,
  type CertificateAndKey,
  type CertificateUsage,
} from './certificates.ts';
export { ensureHubTlsIdentity, bareHost, certificateCoversHosts, type EnsureHubTlsIdentityOptions, type TlsIdentity } from './hub-identity.ts';
