/* pv_base64.h - strict standard base64 decoding (RFC 4648 section 4).
 *
 * Encoding is pv_base64 in pv_util.h.  Decoding is used for the values
 * etcd's JSON gateway returns: padding is required, no whitespace, and a
 * final group whose unused bits are not zero is refused, so every byte
 * string has exactly one accepted encoding. */
#ifndef PV_BASE64_H
#define PV_BASE64_H

#include <stddef.h>

/* Bytes needed to decode len characters (an upper bound). */
#define PV_BASE64_DECODED_MAX(len) (((len) / 4) * 3)

/* Decode in[0..len) into out (size bytes); *outlen gets the byte count.
 * 0 ok, -1 malformed or out too small (out then holds nothing useful). */
int pv_base64_decode(const char *in, size_t len, unsigned char *out,
                     size_t size, size_t *outlen);

#endif
