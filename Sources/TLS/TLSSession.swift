internal import COpenSSL

/// One TLS client session driven through two memory BIOs, with no socket of its own:
/// ciphertext the socket read goes in (`receive`), plaintext comes out, and whatever
/// the session has to send (handshake messages, alerts, sealed records) is appended
/// to an output buffer its owner writes to the socket.
///
/// ```
///  socket read ─▶ receive ─▶ [in BIO] ─▶ SSL ─▶ plaintext (RESP decoder)
///  commands ─▶ seal ─▶ SSL ─▶ [out BIO] ─▶ output ─▶ socket write
/// ```
/// Nothing here calls back: every method returns what happened. Loop thread only.
package final class TLSSession {
    private let ssl: OpaquePointer
    private let incoming: OpaquePointer
    private let outgoing: OpaquePointer
    private let context: TLSContext
    /// The handshake has completed; application data flows.
    package private(set) var isEstablished = false
    /// The name the certificate was checked against, for messages.
    package let serverName: String

    /// `host` is the store's host; the configured server name overrides it. An IP
    /// address is checked against the certificate's IP entries, a name against its DNS
    /// names (and sent as SNI).
    package init(context: TLSContext, host: String) throws(TLSError) {
        ERR_clear_error()
        self.context = context
        serverName = context.configuration.serverName ?? host
        guard let ssl = SSL_new(context.raw), let incoming = BIO_new(BIO_s_mem()),
            let outgoing = BIO_new(BIO_s_mem())
        else {
            throw TLSError(.configuration, "cannot create a TLS session: \(takeOpenSSLError())")
        }
        self.ssl = ssl
        self.incoming = incoming
        self.outgoing = outgoing
        SSL_set_bio(ssl, incoming, outgoing)
        SSL_set_connect_state(ssl)
        let isAddress = Self.isIPAddress(serverName)
        if !isAddress { _ = storegate_ssl_set_host_name(ssl, serverName) }
        guard !context.configuration.insecure else { return }
        let checked =
            isAddress
            ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName) == 1
            : SSL_set1_host(ssl, serverName) == 1
        guard checked else { throw TLSError(.configuration, "cannot check the server name '\(serverName)'") }
    }

    deinit { SSL_free(ssl) }  // frees both BIOs

    /// Starts the handshake: the ClientHello is appended to `output`.
    package func start(output: inout [UInt8]) throws(TLSError) {
        _ = try handshake(output: &output)
    }

    /// Bytes read from the socket. Application data is appended to `plaintext`, bytes
    /// for the peer to `output`. Returns true when this call completed the handshake.
    /// Throws on a verification failure, bad records or the peer's close_notify.
    package func receive(
        _ ciphertext: UnsafeRawBufferPointer, plaintext: inout [UInt8], output: inout [UInt8]
    ) throws(TLSError) -> Bool {
        var offset = 0
        var completedHandshake = false
        // The in-BIO grows as needed; feed it everything, then drain.
        while offset < ciphertext.count {
            let written = BIO_write(
                incoming, ciphertext.baseAddress! + offset, Int32(clamping: ciphertext.count - offset))
            guard written > 0 else { throw TLSError(.protocolFailure, "TLS buffer refused the input") }
            offset += Int(written)
        }
        if !isEstablished {
            completedHandshake = try handshake(output: &output)
            guard isEstablished else { return false }
        }
        try readPlaintext(into: &plaintext)
        drain(into: &output)
        return completedHandshake
    }

    /// Encrypts `plaintext` into records appended to `output`.
    package func seal(_ plaintext: UnsafeRawBufferPointer, output: inout [UInt8]) throws(TLSError) {
        guard isEstablished else { throw TLSError(.protocolFailure, "TLS data before the handshake completed") }
        var offset = 0
        ERR_clear_error()
        while offset < plaintext.count {
            let written = SSL_write(ssl, plaintext.baseAddress! + offset, Int32(clamping: plaintext.count - offset))
            guard written > 0 else { throw failure(code: written) }
            offset += Int(written)
        }
        drain(into: &output)
    }

    /// The close_notify alert, appended to `output`, for an orderly close.
    package func shutdown(output: inout [UInt8]) {
        guard isEstablished else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
        drain(into: &output)
    }

    // MARK: internals

    private func handshake(output: inout [UInt8]) throws(TLSError) -> Bool {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        drain(into: &output)
        if result == 1 {
            isEstablished = true
            return true
        }
        let error = SSL_get_error(ssl, result)
        if error == SSL_ERROR_WANT_READ { return false }
        throw failure(code: result)
    }

    private func readPlaintext(into plaintext: inout [UInt8]) throws(TLSError) {
        ERR_clear_error()
        let scratch = context.scratch
        while true {
            let read = SSL_read(ssl, scratch.baseAddress!, Int32(scratch.count))
            if read > 0 {
                plaintext.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<Int(read)]))
                continue
            }
            let error = SSL_get_error(ssl, read)
            if error == SSL_ERROR_WANT_READ { return }
            throw failure(code: read)
        }
    }

    private func drain(into output: inout [UInt8]) {
        let scratch = context.scratch
        while BIO_ctrl_pending(outgoing) > 0 {
            let read = BIO_read(outgoing, scratch.baseAddress!, Int32(scratch.count))
            guard read > 0 else { return }
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<Int(read)]))
        }
    }

    private func failure(code: Int32) -> TLSError {
        let error = SSL_get_error(ssl, code)
        if error == SSL_ERROR_ZERO_RETURN {
            ERR_clear_error()
            return TLSError(.closed, "the TLS peer closed the session")
        }
        let verification = SSL_get_verify_result(ssl)
        if !isEstablished, verification != Int(X509_V_OK) {
            ERR_clear_error()
            let reason = String(cString: X509_verify_cert_error_string(verification))
            return TLSError(
                .certificateRejected,
                "the certificate of '\(serverName)' failed verification: \(Self.summary(of: verification)) (\(reason))")
        }
        let phase = isEstablished ? "TLS record" : "TLS handshake"
        if error == SSL_ERROR_SYSCALL || error == SSL_ERROR_SSL {
            return TLSError(.protocolFailure, "\(phase) failed: \(takeOpenSSLError())")
        }
        ERR_clear_error()
        return TLSError(.protocolFailure, "\(phase) failed (SSL error \(error))")
    }

    /// The reason in an operator's words.
    private static func summary(of verification: Int) -> String {
        switch Int32(verification) {
        case X509_V_ERR_CERT_HAS_EXPIRED: "expired"
        case X509_V_ERR_CERT_NOT_YET_VALID: "not yet valid"
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH: "wrong host"
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
            X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
            X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            "unknown CA"
        case X509_V_ERR_CERT_REVOKED: "revoked"
        default: "rejected"
        }
    }

    private static func isIPAddress(_ host: String) -> Bool {
        if host.contains(":") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}
