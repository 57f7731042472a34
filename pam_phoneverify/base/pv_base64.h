/* pv_base64.h - standard base64 (RFC 4648 section 4), the one copy.
 *
 * Encoding serves HTTP Basic credentials and etcd's keys and values.
 * Decoding is used for the values etcd's JSON gateway returns: padding is required, no whitespace, and a
 * final group whose unused bits are not zero is refused, so every byte
 * string has exactly one accepted encoding. */
#ifndef PV_BASE64_H
#define PV_BASE64_H

#include <stddef.h>

/* Standard base64 of len bytes into out (NUL-terminated); -1 if too small. */
int pv_base64(const unsigned char *in, size_t len, char *out, size_t outsize);

/* Bytes needed to decode len characters (an upper bound). */
#define PV_BASE64_DECODED_MAX(len) (((len) / 4) * 3)

/* Decode in[0..len) into out (size bytes); *outlen gets the byte count.
 * 0 ok, -1 malformed or out too small (out then holds nothing useful). */
int pv_base64_decode(const char *in, size_t len, unsigned char *out,
                     size_t size, size_t *outlen);

#endif
