internal import COpenSSL

/// What a TLS client trusts and presents: the CA file (else the system store), the
/// client certificate and key, the name checked in the server's certificate, and the
/// insecure switch that turns verification off. Paths only: key material is read by
/// OpenSSL and never held, logged or put in an error.
package struct TLSConfiguration: Sendable, Equatable {
    package var caFile: String?
    package var certificateFile: String?
    package var keyFile: String?
    /// Checked instead of the host the store URL names (e.g. when connecting by IP).
    package var serverName: String?
    /// Accept any certificate. For experiments only; storegate logs a warning.
    package var insecure = false

    package init(
        caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil,
        insecure: Bool = false
    ) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.insecure = insecure
    }
}

/// Why TLS failed. `certificateRejected` is a verification failure whose message names
/// the reason (expired, host name mismatch, unknown CA); the others are setup or
/// protocol failures.
package struct TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    package enum Kind: Equatable, Sendable {
        /// A CA, certificate or key file could not be loaded.
        case configuration
        /// The peer's certificate failed verification.
        case certificateRejected
        /// The handshake or a record failed (bad bytes, protocol version, alert).
        case protocolFailure
        /// The peer sent close_notify.
        case closed
    }

    package let kind: Kind
    package let message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}

/// One `SSL_CTX`: TLS 1.2 or newer, no renegotiation, peer verification on unless
/// insecure, and the client certificate when configured. Built once at start-up and
/// shared by every connection to the store; used on the loop thread only.
package final class TLSContext {
    let raw: OpaquePointer
    package let configuration: TLSConfiguration
    /// One TLS record's worth of bytes, shared by the sessions (loop thread only): what
    /// is decrypted or drained passes through here on its way into a caller's buffer.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 16)

    package init(_ configuration: TLSConfiguration) throws(TLSError) {
        ERR_clear_error()
        guard let raw = SSL_CTX_new(TLS_client_method()) else {
            throw TLSError(.configuration, "cannot create a TLS context: \(takeOpenSSLError())")
        }
        self.raw = raw
        self.configuration = configuration
        guard storegate_ssl_ctx_set_min_tls12(raw) == 1 else {
            throw TLSError(.configuration, "cannot require TLS 1.2: \(takeOpenSSLError())")
        }
        _ = storegate_ssl_ctx_set_options(raw, storegate_ssl_op_no_renegotiation())
        if let caFile = configuration.caFile {
            guard SSL_CTX_load_verify_locations(raw, caFile, nil) == 1 else {
                throw TLSError(.configuration, "cannot load CA certificates from \(caFile): \(takeOpenSSLError())")
            }
        } else if SSL_CTX_set_default_verify_paths(raw) != 1 {
            throw TLSError(.configuration, "cannot load the system CA store: \(takeOpenSSLError())")
        }
        SSL_CTX_set_verify(raw, configuration.insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nil)
        switch (configuration.certificateFile, configuration.keyFile) {
        case (nil, nil):
            break
        case (let certificate?, let key?):
            guard SSL_CTX_use_certificate_chain_file(raw, certificate) == 1 else {
                throw TLSError(
                    .configuration, "cannot load the client certificate from \(certificate): \(takeOpenSSLError())")
            }
            // The reason names the failing step only (OpenSSL's error strings hold no key bytes).
            guard SSL_CTX_use_PrivateKey_file(raw, key, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError(.configuration, "cannot load the client key from \(key): \(takeOpenSSLError())")
            }
            guard SSL_CTX_check_private_key(raw) == 1 else {
                throw TLSError(.configuration, "the client key in \(key) does not match the certificate \(certificate)")
            }
        default:
            throw TLSError(.configuration, "a client certificate needs both the certificate file and the key file")
        }
    }

    deinit {
        SSL_CTX_free(raw)
        scratch.deallocate()
    }
}

/// The oldest queued OpenSSL error as text (the queue is then cleared).
func takeOpenSSLError() -> String {
    let code = ERR_get_error()
    ERR_clear_error()
    guard code != 0 else { return "unknown error" }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // "error:0A000086:SSL routines::certificate verify failed" → the last part.
    return text.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? text
}
