// TLS handshakes, by the frames each TLS library (and the runtimes over them)
// shakes hands in. A full handshake's CPU is its key exchange and its
// signature (an RSA-2048 signature is ~1 ms of a CPU), spread over the crypto
// library's many functions, most of them unnamed in a stripped libcrypto: its
// share of a process's CPU is the number that says "a new handshake for every
// connection". Which side shook hands: a server signs with its key, a client
// verifies; accept and connect say so where they are named.

/** A frame of a handshake: OpenSSL's (and BoringSSL's, LibreSSL's), GnuTLS's, NSS's, Go's, rustls's, Python's ssl, Java's JSSE, node's TLS wrap. */
const HANDSHAKE =
  /^(SSL_do_handshake|SSL_connect|SSL_accept|ossl_statem_(connect|accept)|tls_process_\w+|tls_construct_\w+|ssl3_(connect|accept)|gnutls_handshake\w*|_gnutls_handshake\w*|SSL_ForceHandshake\w*|ssl_Do1stHandshake|crypto\/tls\.\(\*Conn\)\.(Handshake\w*|serverHandshake|clientHandshake)|crypto\/tls\.\(\*(server|client)HandshakeState\w*\)\.\w+|rustls::(client|server)::hs::.+|(SSLSocket|SSLObject)\.do_handshake|sun\.security\.ssl\.\w*Handshake\w*.*|node::crypto::TLSWrap::Start)$/;
/** Frames only a server's handshake has: accepting, or signing with its key (a client signs only with a client certificate). */
const SERVER_SIDE =
  /^(SSL_accept|ossl_statem_accept|ssl3_accept|tls_process_client_hello|tls_construct_server_\w+|crypto\/tls\.\(\*Conn\)\.serverHandshake|crypto\/tls\.\(\*serverHandshakeState\w*\)\.\w+|rustls::server::hs::.+|EVP_DigestSign\w*|EVP_PKEY_sign\w*|RSA_sign\w*|RSA_private_\w+|ECDSA_do_sign\w*|ECDSA_sign\w*)$/;
/** Frames only a client's handshake has: connecting, or verifying the server's signature. */
const CLIENT_SIDE =
  /^(SSL_connect|ossl_statem_connect|ssl3_connect|tls_process_server_hello|tls_construct_client_\w+|crypto\/tls\.\(\*Conn\)\.clientHandshake|crypto\/tls\.\(\*clientHandshakeState\w*\)\.\w+|rustls::client::hs::.+|EVP_DigestVerify\w*|EVP_PKEY_verify\w*|RSA_verify\w*|RSA_public_\w+|ECDSA_do_verify\w*|ECDSA_verify\w*|X509_verify_cert)$/;

export type HandshakeSide = 'server' | 'client' | 'unknown';

/** For one profile: whether a stack is in a TLS handshake, and on which side; each frame name is tested once. */
export function handshakeClassifier(): (frameNames: readonly string[]) => HandshakeSide | undefined {
  const kinds = new Map<string, 'handshake' | 'server' | 'client' | null>();
  const kindOf = (name: string) => {
    let kind = kinds.get(name);
    if (kind === undefined)
      kinds.set(name, (kind = SERVER_SIDE.test(name) ? 'server' : CLIENT_SIDE.test(name) ? 'client' : HANDSHAKE.test(name) ? 'handshake' : null));
    return kind;
  };
  return (frameNames) => {
    let [inHandshake, side] = [false, 'unknown' as HandshakeSide];
    for (const name of frameNames) {
      const kind = kindOf(name);
      if (kind === 'handshake') inHandshake = true;
      else if (kind) side = kind;
    }
    return inHandshake ? side : undefined;
  };
}

/** What to do about handshakes this side makes, in the finding's "next". */
export function handshakeNext(side: HandshakeSide): string {
  const server =
    "as a server: its clients open a connection (and a full handshake) per request: have them keep connections alive and pool them, and resume sessions (session tickets or a session cache, so a returning client skips the key exchange); an ECDSA certificate signs for a fraction of an RSA one's CPU";
  const client =
    'as a client: it opens a connection (and a full handshake) per request: keep connections alive and pool them (an HTTP client reused across requests), and resume sessions (its TLS session cache)';
  return side === 'server' ? server : side === 'client' ? client : `${client}; ${server}`;
}
