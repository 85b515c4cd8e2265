"""Makes a Notation signature (JWS envelope) the way notation-go lays it out,
with the Python `cryptography` package: an independent implementation of the
JWS, the ECDSA signature and the X.509 chain that gate verifies.

usage: notation_sign.py OUT_DIR DIGEST MEDIA_TYPE SIZE [--cert-days N] [--cert-start-days N]
                        [--subject CN] [--expiry-seconds N]
Writes OUT_DIR/ca.pem (the root to put in the trust store) and OUT_DIR/envelope.json.
"""
import argparse, base64, datetime, json, os
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID

p = argparse.ArgumentParser()
p.add_argument("out"); p.add_argument("digest"); p.add_argument("media_type"); p.add_argument("size", type=int)
p.add_argument("--cert-days", type=int, default=30)
p.add_argument("--cert-start-days", type=int, default=-1)
p.add_argument("--subject", default="gate test signer")
p.add_argument("--expiry-seconds", type=int, default=None)
a = p.parse_args()

now = datetime.datetime.now(datetime.timezone.utc)
def name(cn): return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gate Test"),
                                x509.NameAttribute(NameOID.COMMON_NAME, cn)])
ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (x509.CertificateBuilder().subject_name(name("gate test root")).issuer_name(name("gate test root"))
      .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
      .not_valid_before(now - datetime.timedelta(days=400)).not_valid_after(now + datetime.timedelta(days=400))
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
      .sign(ca_key, hashes.SHA256()))
leaf_key = ec.generate_private_key(ec.SECP256R1())
start = now + datetime.timedelta(days=a.cert_start_days)
leaf = (x509.CertificateBuilder().subject_name(name(a.subject)).issuer_name(ca.subject)
        .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=a.cert_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(ca_key, hashes.SHA256()))

def b64url(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
signing_time = start + datetime.timedelta(hours=1)
protected = {
    "alg": "ES256",
    "crit": ["io.cncf.notary.signingScheme"],
    "cty": "application/vnd.cncf.notary.payload.v1+json",
    "io.cncf.notary.signingScheme": "notary.x509",
    "io.cncf.notary.signingTime": signing_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
}
if a.expiry_seconds is not None:
    protected["crit"].append("io.cncf.notary.expiry")
    protected["io.cncf.notary.expiry"] = (now + datetime.timedelta(seconds=a.expiry_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
payload = {"targetArtifact": {"mediaType": a.media_type, "digest": a.digest, "size": a.size}}
p64 = b64url(json.dumps(protected).encode()); pl64 = b64url(json.dumps(payload).encode())
der = leaf_key.sign(f"{p64}.{pl64}".encode(), ec.ECDSA(hashes.SHA256()))
r, s = decode_dss_signature(der)
sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
envelope = {"payload": pl64, "protected": p64, "signature": b64url(sig),
            "header": {"x5c": [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in (leaf, ca)],
                       "io.cncf.notary.signingAgent": "gate-tests-python-cryptography"}}
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "envelope.json"), "w").write(json.dumps(envelope))
open(os.path.join(a.out, "ca.pem"), "wb").write(ca.public_bytes(serialization.Encoding.PEM))
