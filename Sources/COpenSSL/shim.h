#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <openssl/sha.h>
#include <openssl/evp.h>

// OpenSSL spells these as macros over SSL_CTX_ctrl / SSL_ctrl, which Swift does not import.
static inline int storegate_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return (int)SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

static inline int storegate_ssl_set_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline long storegate_ssl_ctx_set_options(SSL_CTX *context, unsigned long long options) {
    return (long)SSL_CTX_set_options(context, options);
}

static inline unsigned long long storegate_ssl_op_no_renegotiation(void) {
    return SSL_OP_NO_RENEGOTIATION;
}

static inline long storegate_ssl_ctx_set_mode(SSL_CTX *context, long mode) {
    return SSL_CTX_set_mode(context, mode);
}
