-- X.509 CA certificates uploaded to the hub (IoT Hub "Certificates" resource, the verified-CA flow):
-- https://learn.microsoft.com/rest/api/iothub/iot-hub-resource/certificates
-- Devices with authentication type certificateAuthority connect with a certificate that chains up to a *verified* one
-- and whose CN is their device id. A certificate becomes verified by proof of possession: the hub hands out a random
-- verification code, the owner signs a certificate with CN = that code using the CA's private key and uploads it.

CREATE TABLE ca_certificates (
  -- IoT Hub certificate names: letters, digits, '-', '.', '_' (1–64), case-sensitive.
  name               text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
  -- The certificate as PEM (normalised on upload, one certificate).
  certificate        text NOT NULL,
  -- Shown as properties.subject / thumbprint / expiry; kept in columns so listings do not re-parse certificates.
  subject            text NOT NULL,
  -- Upper-case hex SHA-1 of the DER, as IoT Hub shows it.
  thumbprint         text NOT NULL,
  thumbprint_sha256  text NOT NULL,
  expiry             timestamptz NOT NULL,
  is_verified        boolean NOT NULL DEFAULT false,
  -- The outstanding proof-of-possession code (NULL when none was requested or once the certificate is verified).
  verification_code  text,
  -- Opaque; changes on every change (If-Match on verify, generate code, replace and delete).
  etag               text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Device chain validation reads the verified certificates on every X.509 connect.
CREATE INDEX ca_certificates_verified ON ca_certificates (is_verified) WHERE is_verified;
