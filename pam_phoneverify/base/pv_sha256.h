/* pv_sha256.h - SHA-256 (FIPS 180-4), for cache keys in the state store.
 * Not used for anything secret: the module links no crypto library, and
 * this keeps it that way for a 100-line need. */
#ifndef PV_SHA256_H
#define PV_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct pv_sha256 {
    uint32_t h[8];
    uint64_t bits;
    unsigned char block[64];
    size_t fill;
} pv_sha256;

void pv_sha256_init(pv_sha256 *c);
void pv_sha256_update(pv_sha256 *c, const void *data, size_t len);
void pv_sha256_final(pv_sha256 *c, unsigned char out[32]);
/* Add s as a netstring, "<decimal length>:<bytes>,", so that fields hashed
 * one after another cannot run into each other ("ab"+"c" and "a"+"bc"
 * differ).  NULL is added as the empty string.  Keys built this way are
 * stored: the byte form must never change. */
void pv_sha256_netstring(pv_sha256 *c, const char *s);
/* Lower-case hex of the digest into out[65]. */
void pv_sha256_hex(const unsigned char digest[32], char out[65]);

#endif
