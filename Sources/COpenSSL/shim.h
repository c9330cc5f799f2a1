// The system OpenSSL 3 headers that MeshCrypto uses.
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/rand.h>

// MARK: wrappers for OpenSSL macros that Swift cannot call (added for MeshCrypto's TLS engine and PKI)
static inline STACK_OF(X509) *cmesh_sk_x509_new(void) { return sk_X509_new_null(); }
static inline int cmesh_sk_x509_push(STACK_OF(X509) *s, X509 *x) { return sk_X509_push(s, x); }
static inline int cmesh_sk_x509_num(const STACK_OF(X509) *s) { return s ? sk_X509_num(s) : 0; }
static inline X509 *cmesh_sk_x509_value(const STACK_OF(X509) *s, int i) { return sk_X509_value(s, i); }
static inline void cmesh_sk_x509_free(STACK_OF(X509) *s) { sk_X509_free(s); }
static inline long cmesh_bio_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline long cmesh_bio_set_mem_eof_return(BIO *b, long v) { return BIO_set_mem_eof_return(b, v); }
static inline size_t cmesh_bio_pending(BIO *b) { return BIO_ctrl_pending(b); }
static inline int cmesh_ssl_ctx_tls13_only(SSL_CTX *c) {
    return SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) && SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
}
static inline long cmesh_ssl_ctx_no_session_cache(SSL_CTX *c) { return SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF); }
static inline int cmesh_ssl_ctx_add1_chain_cert(SSL_CTX *c, X509 *x) { return (int)SSL_CTX_add1_chain_cert(c, x); }
static inline uint64_t cmesh_ssl_op_no_ticket(void) { return SSL_OP_NO_TICKET; }
static inline uint64_t cmesh_ssl_op_no_renegotiation(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline X509 *cmesh_ssl_peer_certificate(SSL *s) { return SSL_get1_peer_certificate(s); }
// For MeshCrypto's ciphertext BIO (TLSEngine): the retry flags are macros.
static inline void cmesh_bio_set_retry_read(BIO *b) { BIO_set_retry_read(b); }
static inline void cmesh_bio_clear_retry_flags(BIO *b) { BIO_clear_retry_flags(b); }
#endif
