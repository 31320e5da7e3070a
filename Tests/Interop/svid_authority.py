"""A test certificate authority for SPIFFE identities, written as files."""
import datetime
import os


class Authority:
    """A CA issuing X.509-SVIDs (or, for refusals, certificates without a SPIFFE ID) into files named as
    spiffe-helper writes them — with PyPI's `cryptography`, not the code under test."""

    def __init__(self, name):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.certificate = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(self.key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256()))

    def issue(self, directory, spiffe_id=None, dns=(), ips=()):
        """Writes svid.pem, svid_key.pem and svid_bundle.pem (spiffe-helper's names) into `directory`."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID
        key = ec.generate_private_key(ec.SECP256R1())
        import ipaddress
        names = ([x509.UniformResourceIdentifier(spiffe_id)] if spiffe_id else []) + [x509.DNSName(name) for name in dns] \
            + [x509.IPAddress(ipaddress.ip_address(address)) for address in ips]
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (
            x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(self.certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256()))
        os.makedirs(directory, exist_ok=True)
        files = {
            "svid.pem": certificate.public_bytes(serialization.Encoding.PEM),
            "svid_key.pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
            "svid_bundle.pem": self.certificate.public_bytes(serialization.Encoding.PEM),
        }
        for name, data in files.items():
            with open(os.path.join(directory, name), "wb") as file:
                file.write(data)
        return directory
